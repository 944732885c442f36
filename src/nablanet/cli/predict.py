"""``nablanet predict``: class names, probabilities or values for new inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..datasets.base import apply_scaling
from ..io.atomic import atomic_write
from ..io.model import load_model
from ._args import check_output
from ._data import read_inputs, unscale


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="class names, probabilities or values for new inputs")
    p.add_argument("model", metavar="MODEL", help="a model file written by nablanet train -o")
    p.add_argument(
        "input",
        metavar="INPUT",
        help=".npy or .csv, one row per example, in the training file's units (pixels 0–255 for MNIST)",
    )
    p.add_argument("--scaled", action="store_true", help="INPUT is already scaled as the network's inputs")
    p.add_argument("--proba", action="store_true", help="class probabilities, one column per class")
    p.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default csv)")
    p.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    p.set_defaults(func=cmd_predict)


def classes(net) -> list:
    """The name of each output class: the model's own, or its index."""
    return list(net.classes) if net.classes is not None else list(range(max(net.sizes[-1], 2)))


def cmd_predict(args) -> int:
    if args.output:
        check_output(args.output, "-o")
    net, header = load_model(args.model)
    hyper = header.get("hyperparameters") or {}
    X = read_inputs(args.input)
    scaling = hyper.get("input_scaling")
    if scaling and not args.scaled:  # the same (X − shift) / scale that training applied
        X = apply_scaling(X, np.asarray(scaling["shift"]), np.asarray(scaling["scale"]))
    target_scaling = hyper.get("target_scaling")
    if target_scaling:  # a regression model: its values, in the target's units
        if args.proba:
            raise ValueError(f"{args.model} predicts a number, not classes: --proba does not apply")
        values = unscale(net.feedforward(X)[:, 0].astype(np.float64), target_scaling)
        payload = {"values": values.tolist()}
        lines = ["value"] + [f"{v:.8g}" for v in values]
    elif args.proba:
        names = classes(net)
        P = net.predict_proba(X)
        if P.shape[1] == 1:  # one sigmoid output: p of class 1, and of class 0
            P = np.hstack([1 - P, P])
        payload = {"classes": names, "probabilities": P.tolist()}
        lines = [",".join(_cell(str(n)) for n in names)] + [",".join(f"{p:.6g}" for p in row) for row in P]
    else:
        names = classes(net)
        labels = [names[k] for k in net.predict(X)]
        payload = {"labels": labels}
        lines = ["label"] + [_cell(str(n)) for n in labels]
    text = json.dumps(payload) + "\n" if args.format == "json" else "\n".join(lines) + "\n"
    if args.output:
        atomic_write(Path(args.output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def _cell(text: str) -> str:
    """A CSV cell: quoted when it holds a comma, a quote or a line break."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
