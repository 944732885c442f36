"""``nablanet info``: what a model or checkpoint file holds, read from its header alone."""

from __future__ import annotations

import json

from ..io.model import n_params, read_header


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="what a model or checkpoint file holds")
    p.add_argument("model", metavar="MODEL", help="a model or checkpoint file")
    p.add_argument("--json", action="store_true", help="print the whole header as JSON")
    p.set_defaults(func=cmd_info)


def brief(value, limit: int = 8):
    """A setting for display: long lists (per-feature scaling) shortened to their length."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {brief(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and len(value) > limit:
        return f"[{len(value)} values]"
    return value


def cmd_info(args) -> int:
    header = read_header(args.model)
    if args.json:
        print(json.dumps(header, indent=1))
        return 0
    net = header["network"]
    sizes = net["sizes"]
    acts = ", ".join(
        a["name"] + "".join(f"({k}={v})" for k, v in a.items() if k != "name") for a in net["activations"]
    )
    history = header.get("history") or {}
    hyper = header.get("hyperparameters") or {}
    lines = [
        f"{args.model}: nablanet {header['kind']} (format {header['format_version']}, "
        f"library {header.get('library_version')})",
        f"  network      {' → '.join(map(str, sizes))} ({n_params(sizes):,} parameters, {net['dtype']})",
        f"  activations  {acts}",
        f"  cost         {net['cost']['name']}" + ("" if net["cost"].get("half", True) else " (no ½)"),
        f"  init         {net.get('init')}",
    ]
    if net.get("classes") is not None:
        lines.append(f"  classes      {', '.join(map(str, net['classes']))}")
    elif "target_scaling" in hyper:
        lines.append("  predicts     a number (regression)")
    lines.append(f"  sha256       {header['sha256']}")
    if history.get("cost"):
        last_val = (history.get("val_accuracy") or [None])[-1]
        val = "" if last_val is None else f", validation accuracy {last_val:.2%}"
        lines.append(
            f"  trained      {len(history['cost'])} epochs, final cost {history['cost'][-1]:.4f}{val}"
        )
    if header.get("run"):
        r = header["run"]
        where = (
            f"in epoch {r['epoch'] + 1}, after mini-batch {r['batch']}"
            if r["batch"]
            else f"after epoch {r['epoch']}"
        )
        lines.append(f"  position     {where} of {r['epochs']}")
    for k, v in hyper.items():
        lines.append(f"  {k:<12} {brief(v)}")
    print("\n".join(lines))
    return 0
