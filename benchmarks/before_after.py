"""Before and after a change: the peer benchmark on two checkouts, one repetition at a time, alternating.

Run, from the repository root (by default the checkout "after"; ``--after DIR`` names another):

    git worktree add /tmp/base <revision before the change>
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.before_after /tmp/base --rounds 3

Each round runs ``python -m benchmarks.run --repeats 1`` in the other checkout (with
its ``src/`` first on ``PYTHONPATH``, so its own harness times its own nablanet),
then the same here: before, after, before, after, ... so that a slow spell of the
shared machine hits both sides alike. Each side's repetitions are then pooled into
one report (the harness's medians and per-repetition ratios over all rounds),
written as ``before.md``/``after.md`` with their JSON, and a comparison of the
targets is printed: nablanet's ratio to each peer, before and after. Options after
``--`` go to both harness runs (for example ``-- --configs A,B``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.peers import bench

ROOT = bench.ROOT


def run_side(tree: Path, out: Path, extra: list[str]) -> Path:
    """One repetition of the harness in ``tree``; the path of its JSON report."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(tree / "src"), str(tree)) if p)}
    cmd = [sys.executable, "-m", "benchmarks.run", "--repeats", "1", "--out", str(out), *extra]
    # Its progress lines (stderr) pass through; its markdown (stdout) is in the report.
    done = subprocess.run(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"the benchmark in {tree} failed with exit status {done.returncode}")
    (json_path,) = sorted(out.glob("bench-*.json"))[-1:]
    return json_path


def pool(paths: list[Path]) -> dict:
    """One report from several: every job's repetitions together, the summary made again over them."""
    reports = [json.loads(p.read_text()) for p in paths]
    first = reports[0]
    raw: dict[str, list] = {}
    for r in reports:
        for label, results in r["raw"].items():
            raw.setdefault(label, []).extend(results)
    pooled = {
        **first,
        "wall_seconds": sum(r["wall_seconds"] for r in reports),
        "load_average_1min": [x for r in reports for x in r["load_average_1min"]],
        "settings": {**first["settings"], "repeats": len(reports)},
        "raw": raw,
        "pooled_from": [str(p) for p in paths],
    }
    pooled["summary"] = bench.summarize(pooled, [])
    return pooled


def compare(before: dict, after: dict) -> str:
    """A markdown table of the ratio targets, before and after."""
    lines = [
        "| config | nablanet against | before | after | after / before | before, per repetition "
        "| after, per repetition |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    b_targets = {(t["config"], t["what"]): t for t in before["summary"]["targets"]}
    for t in after["summary"]["targets"]:
        old = b_targets.get((t["config"], t["what"]))
        if t["kind"] not in ("ratio", "fraction", "at_most") or old is None:
            continue
        scale, spec = (100, ".1f") if t["kind"] == "fraction" else (1, ".2f")

        def each(target, scale=scale):
            return ", ".join("–" if v is None else format(scale * v, ".2f" if scale == 1 else ".0f")
                             for v in target["per_repetition"])  # fmt: skip

        name = bench._NAMES.get(t["what"], t["what"].replace("_", " "))
        was, now = format(scale * old["value"], spec), format(scale * t["value"], spec)
        change = t["value"] / old["value"]
        lines.append(f"| {t['config']} | {name} | {was} | {now} | {change:.3f} | {each(old)} | {each(t)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.before_after",
        description=__doc__.splitlines()[0],
        epilog="Options after -- go to both harness runs (default: -- --configs A,B,C).",
    )
    p.add_argument("before", type=Path, help="the checkout of the code before the change")
    p.add_argument(
        "--after", type=Path, default=ROOT, help="the checkout after it (default: this one, as it is)"
    )
    p.add_argument("--rounds", type=bench._positive, default=3, help="repetitions of each side (default 3)")
    p.add_argument("--out", type=Path, default=None, help="directory (default benchmarks/results/ab-<time>)")
    args = p.parse_args(own)
    for tree in (args.before, args.after):
        if not (tree / "benchmarks" / "run.py").is_file():
            p.error(f"{tree} has no benchmarks/run.py: not a nablanet checkout")
    extra = extra or ["--configs", "A,B,C"]
    out = args.out or ROOT / "benchmarks" / "results" / time.strftime("ab-%Y%m%d-%H%M%S", time.gmtime())
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    paths: dict[str, list[Path]] = {"before": [], "after": []}
    for k in range(args.rounds):
        for side, tree in sides.items():
            load = os.getloadavg()[0]
            paths[side].append(run_side(tree, out / f"{side}-{k + 1}", extra))
            print(f"round {k + 1}/{args.rounds} {side}: {paths[side][-1]} (load {load:.2f} → "
                  f"{os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)  # fmt: skip
    pooled = {side: pool(ps) for side, ps in paths.items()}
    for side, report in pooled.items():
        bench.write_atomic(out / f"{side}.json", json.dumps(report, indent=1, default=float) + "\n")
        bench.write_atomic(out / f"{side}.md", bench.markdown(report))
    table = compare(pooled["before"], pooled["after"])
    bench.write_atomic(out / "compare.md", table + "\n")
    print(table)
    print(f"written: {out}/before.md, after.md, compare.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
