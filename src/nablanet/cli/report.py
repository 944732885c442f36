"""``nablanet plot`` and ``nablanet report``: look at a saved model or checkpoint.

    nablanet plot model.npz --what curves -o curves.png
    nablanet plot model.npz --what confusion --data digits -o confusion.svg
    nablanet report model.npz -o run.html

Both read the history stored in the file. Plots of the network on data
(activations, confusion, misclassified, boundary) and the report's test
sections use the test split of ``--data``, or of the dataset the model was
trained on when the file names one that is on this machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import datasets
from ..io import model as files
from ..training.checkpoint import load_run, read_checkpoint
from ..viz import plots
from ..viz.report import history_from_dict, write_report
from ._args import check_output, has, install_hint, integers, need, positive_int
from ._data import load_dataset
from .evaluate import data_settings

# What ``--what`` accepts, and whether it needs test data.
PLOTS = {
    "curves": False,
    "layers": False,
    "saturation": False,
    "weights": False,
    "activations": True,
    "confusion": True,
    "misclassified": True,
    "boundary": True,
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plot",
        help="plot a saved model's history, weights or predictions",
        description="Draw one plot of a model or checkpoint file as PNG or SVG.",
    )
    p.add_argument("source", metavar="RUN_OR_MODEL", help="a model (nablanet train -o) or checkpoint file")
    p.add_argument("--what", required=True, choices=list(PLOTS), help="which plot")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the image to write: .png or .svg")
    p.add_argument("--layer", type=positive_int, metavar="L", help="weights/activations: only layer L")
    _data_options(p)
    p.set_defaults(func=cmd_plot)

    p = subparsers.add_parser(
        "report",
        help="write the HTML report of a saved model",
        description="Write one self-contained HTML report of a model or checkpoint file.",
    )
    p.add_argument("source", metavar="MODEL", help="a model (nablanet train -o) or checkpoint file")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the .html file to write")
    _data_options(p)
    p.set_defaults(func=cmd_report)


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        help="test data: digits, fashion-mnist, mnist, or a .csv/.npz file "
        "(default: the dataset the model was trained on, if it is on this machine)",
    )
    p.add_argument("--data-dir", help="folder with MNIST-style IDX files")
    p.add_argument("--target", help="CSV label column, by name or index (default: the last)")
    p.add_argument("--standardize", action="store_true", default=None, help="standardise the inputs")
    p.add_argument("--image-shape", type=_shape, metavar="HxW", help="show inputs as images of this shape")


def _shape(text: str) -> tuple[int, ...]:
    return tuple(integers(text.lower(), "a shape like 28x28", sep="x"))


# -- reading a model or checkpoint -----------------------------------------------------------


def load_source(path: str) -> tuple[Any, Any, dict]:
    """The network, its History and its hyperparameters, from a model or checkpoint file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    kind = files.read_header(path).get("kind")
    if kind == "checkpoint":
        header = read_checkpoint(path)[0]
        net, history = load_run(path).net, history_from_dict(header.get("history") or {})
    elif kind == "model":
        net, header = files.load_model(path)
        stored = header.get("history")
        history = history_from_dict(stored or {})
    else:
        raise ValueError(f"{path}: a {kind!r} file; expected a model or a checkpoint")
    return net, history, dict(header.get("hyperparameters") or {})


def load_test_data(args, net, hyper: dict, required: bool):
    """The Dataset to test on, or None (with a note on stderr) when it cannot be had."""
    explicit = args.data is not None
    if not explicit and hyper.get("data") is None:
        if required:
            raise ValueError(
                "this needs test data: pass --data (digits, fashion-mnist, mnist or a .csv/.npz)"
            )
        return None
    settings = data_settings(args, hyper)
    if not explicit:
        settings["data_dir"] = args.data_dir or hyper.get("data_dir")
    try:
        data, _ = load_dataset(settings, download=explicit)  # never fetch behind the user's back
    except datasets.DatasetError as e:
        if explicit or required:
            raise
        print(f"nablanet: note: no test data ({e}); pass --data to add it", file=sys.stderr)
        return None
    if data.n_features != net.sizes[0]:
        raise ValueError(
            f"the model expects {net.sizes[0]} inputs; {data.name} has {data.n_features} features"
        )
    return data


# -- the commands ----------------------------------------------------------------------------


def cmd_plot(args) -> int:
    out = check_output(args.output, "-o", tuple(f".{f}" for f in plots.FORMATS))
    need("matplotlib", "nablanet plot")
    net, history, hyper = load_source(args.source)
    data = load_test_data(args, net, hyper, required=True) if PLOTS[args.what] else None
    plots.save(_draw(args, net, history, data), out)
    print(out)
    return 0


def _draw(args, net, history, data):
    what = args.what
    if what in ("curves", "layers", "saturation"):
        return getattr(plots, what)(history)
    if what == "weights":
        return plots.weights(net, args.layer)
    X, y = data.X_test, data.y_test
    if what == "activations":
        return plots.activations(net, X, args.layer)
    if what == "confusion":
        return plots.confusion(y, net.predict(X), max(net.sizes[-1], 2), classes=net.classes)
    if what == "misclassified":
        shape = args.image_shape or data.image_shape
        if not shape:
            raise ValueError(
                f"{data.name} holds no images; pass --image-shape HxW to show its inputs as images"
            )
        return plots.misclassified(X, y, net.predict(X), shape, classes=net.classes)
    return plots.boundary(net, X, y, shift=data.input_shift, scale=data.input_scale)


def cmd_report(args) -> int:
    out = check_output(args.output, "-o", (".html", ".htm"))
    if not has("matplotlib"):
        print(
            f"nablanet: warning: the report will have no plots: they need matplotlib "
            f"({install_hint('matplotlib')})",
            file=sys.stderr,
        )
    net, history, hyper = load_source(args.source)
    data = load_test_data(args, net, hyper, required=False)
    config = {k: v for k, v in hyper.items() if k != "dataset"}
    write_report(
        out,
        net=net,
        history=history,
        config=config,
        dataset=data if data is not None else hyper.get("dataset"),
        image_shape=args.image_shape,
    )
    print(out)
    return 0
