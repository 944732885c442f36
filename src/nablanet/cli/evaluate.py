"""``nablanet evaluate``: accuracy and cost (or RMSE and R²) of a saved model on a dataset."""

from __future__ import annotations

import argparse
import json

from ..io.model import load_model
from . import _settings
from ._data import load_dataset, regression_metrics, unscale
from ._display import pct


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="accuracy and cost of a saved model on a dataset's test set")
    p.add_argument("model", metavar="MODEL", help="a model file written by nablanet train -o")
    p.add_argument("--data", help="digits, fashion-mnist, mnist, or a .csv/.npz file (default: as trained)")
    p.add_argument("--data-dir", help="folder with MNIST-style IDX files")
    p.add_argument("--target", help="CSV label column, by name or index (default: as trained)")
    p.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        help="standardise the inputs (default: as the model was trained)",
    )
    p.add_argument("--split", choices=["test", "train"], default="test", help="which part to evaluate")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_evaluate)


def data_settings(args, trained: dict) -> dict:
    """Where the data comes from: the options given now, else the run's own, else the defaults."""
    settings = _settings.base("default")
    for key in ("data", "data_dir", "target", "standardize", "task"):
        given = getattr(args, key, None)
        settings[key] = given if given is not None else trained.get(key, settings[key])
    if "target_scaling" in trained and getattr(args, "task", None) is None:
        settings["task"] = "regression"
    return settings


def cmd_evaluate(args) -> int:
    net, header = load_model(args.model)
    trained = header.get("hyperparameters") or {}
    if args.data is None and "data" not in trained:
        raise ValueError(f"{args.model} does not record its training data; pass --data")
    data, _ = load_dataset(data_settings(args, trained))
    X, y = (data.X_test, data.y_test) if args.split == "test" else (data.X_train, data.y_train)
    if X.shape[1] != net.sizes[0]:
        raise ValueError(f"{args.model} expects {net.sizes[0]} inputs; {data.name} has {X.shape[1]} features")
    result = {"model": str(args.model), "data": data.name, "split": args.split, "n": int(X.shape[0])}
    target_scaling = trained.get("target_scaling")
    if target_scaling:
        scaled = (y - target_scaling["shift"]) / target_scaling["scale"]
        result["cost"] = net.evaluate(X, scaled).cost
        result.update(regression_metrics(unscale(net.feedforward(X), target_scaling), y))
    else:
        ev = net.evaluate(X, y)
        result.update(accuracy=ev.accuracy, cost=ev.cost)
    if args.json:
        print(json.dumps(result))
    elif target_scaling:
        r2 = "-" if result["r2"] is None else f"{result['r2']:.4f}"
        print(
            f"{data.name} {args.split} ({X.shape[0]} examples): RMSE {result['rmse']:.4g}, R² {r2}, "
            f"cost {result['cost']:.4f}"
        )
    else:
        print(
            f"{data.name} {args.split} ({X.shape[0]} examples): accuracy {pct(result['accuracy'])}, "
            f"cost {result['cost']:.4f}"
        )
    return 0
