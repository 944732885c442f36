"""``nablanet train``, ``evaluate``, ``predict`` and ``info``.

``nablanet train`` with no arguments trains a small network on scikit-learn's
bundled 8×8 digits in a few seconds. Progress goes to stderr (a rich progress
bar per epoch); results go to stdout: a summary table, or with ``--json`` one
JSON object per epoch and a final summary object, for scripts.

Ctrl-C finishes the current mini-batch, writes a checkpoint, prints the command
that resumes the run, and exits with status 130.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.io.atomic import atomic_write
from nablanet.io.model import save
from nablanet.train import Callback

from ._args import fraction, hidden_sizes, nonnegative_float, positive_float, positive_int

# The settings of a training run. None here means "let the network choose".
DEFAULTS: dict[str, Any] = {
    "data": "digits",
    "data_dir": None,
    "target": "-1",
    "standardize": False,
    "layers": [64],
    "activation": "relu",
    "output": None,
    "cost": "cross_entropy",
    "init": "he",
    "epochs": 20,
    "batch_size": 10,
    "eta": 0.1,
    "eta_decay": 0.0,
    "lmbda": 0.0,
    "momentum": None,
    "optimizer": None,
    "seed": 0,
    "dtype": "float32",
    "validation_split": 0.1,
}
INTERRUPT_CHECKPOINT = "nablanet-interrupted.npz"


def register(subparsers) -> None:
    _register_train(subparsers)
    _register_evaluate(subparsers)
    _register_predict(subparsers)
    _register_info(subparsers)


def _register_train(subparsers) -> None:
    from nablanet import activations, costs, initializers, optimizers

    p = subparsers.add_parser(
        "train",
        help="train a network (no arguments: the bundled digits, in seconds)",
        description="Train a feed-forward network by backpropagation. "
        "With no arguments: a [64, 64, 10] ReLU network on the bundled 8×8 digits.",
    )
    d = DEFAULTS
    add = p.add_argument
    add(
        "--data", help=f"digits, fashion-mnist, mnist, or a .csv/.npz/mnist.pkl.gz file (default {d['data']})"
    )
    add("--data-dir", help="folder with MNIST-style IDX files (default $NABLANET_DATA, then the cache)")
    add("--target", help="CSV label column, by name or index (default: the last)")
    add("--standardize", action="store_true", default=None, help="zero mean, unit variance inputs")
    add("--layers", type=hidden_sizes, help="hidden layer sizes, e.g. 100 or 128,64 (default 64)")
    add("--activation", choices=activations.names(), help=f"hidden activation (default {d['activation']})")
    add(
        "--output", choices=activations.names(), help="output activation (default: softmax for cross_entropy)"
    )
    add("--cost", choices=costs.names(), help=f"cost function (default {d['cost']})")
    add("--init", choices=initializers.names(), help=f"weight initialisation (default {d['init']})")
    add("--epochs", type=positive_int, help=f"epochs (default {d['epochs']})")
    add("--batch-size", type=positive_int, help=f"mini-batch size (default {d['batch_size']})")
    add("--eta", type=positive_float, help=f"learning rate η (default {d['eta']})")
    add("--eta-decay", type=nonnegative_float, help="η_t = η / (1 + decay·t) after t epochs (default 0)")
    add("--lmbda", type=nonnegative_float, help="L2 regularisation λ (default 0)")
    add("--momentum", type=fraction, help="momentum μ (0.9 with --optimizer momentum); > 0 selects it")
    add("--optimizer", choices=optimizers.names(), help="sgd, momentum or adam (default sgd)")
    add("--seed", type=int, help=f"seed for the weights, the shuffles and the split (default {d['seed']})")
    add("--dtype", choices=["float32", "float64"], help="float precision (default float32)")
    add("--validation-split", type=fraction, help="fraction held out for validation (default 0.1)")
    add("-o", "--output-model", metavar="PATH", help="save the trained model here (.npz)")
    add("--checkpoint", metavar="PATH", help="write a checkpoint here each epoch (and on Ctrl-C)")
    add("--checkpoint-every", type=positive_int, metavar="N", help="also checkpoint every N mini-batches")
    add("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    add("--monitor", action="store_true", help="record per-layer health and warn about it")
    add("--report", metavar="PATH", help="write an HTML report of the run here")
    add("--json", action="store_true", help="one JSON object per epoch on stdout")
    add("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_train)


# -- nablanet train -----------------------------------------------------------------------


def _settings(args) -> tuple[dict, Any]:
    """The run's settings: defaults, then a resumed run's own, then what was given now."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    settings, resume_header = dict(DEFAULTS), None
    if args.resume:
        from nablanet.training.checkpoint import read_checkpoint

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resume_header, _, source = read_checkpoint(args.resume)
        for w in caught:
            _warn(args, str(w.message))
        stored = resume_header.get("hyperparameters") or {}
        settings.update({k: v for k, v in stored.items() if k in DEFAULTS})
        free = ("epochs", "data_dir")  # where the data lives may change; what it is may not
        changed = sorted(k for k in given if k not in free and given[k] != settings[k])
        if changed:
            raise ValueError(
                "--resume continues the saved run exactly; only --epochs may change "
                f"(not {', '.join(changed)})"
            )
        args.resume_source = source
    settings.update(given)
    if resume_header is not None and resume_header["run"].get("epoch", 0) >= settings["epochs"]:
        done = resume_header["run"]["epoch"]
        _warn(args, f"the run has already completed {done} epochs; pass --epochs N > {done} to train on")
    return settings, resume_header


def _warn(args, message: str) -> None:
    if not args.quiet:
        print(f"nablanet: warning: {message}", file=sys.stderr)


def _check_paths(args) -> None:
    """Fail before training, not after, if a result could not be written."""
    for option in ("output_model", "checkpoint", "report"):
        path = getattr(args, option)
        if path and not Path(path).resolve().parent.is_dir():
            flag = "--" + option.replace("_", "-")
            raise FileNotFoundError(f"{flag} {path}: the folder {Path(path).parent} does not exist")
    if args.report:
        from nablanet.viz.report import check_report_path

        check_report_path(args.report)


def load_data(settings: dict, quiet: bool = True):
    """The dataset and its validation split, as the settings describe them."""
    from nablanet import datasets

    target = settings["target"]
    data = datasets.load(
        settings["data"],
        settings["data_dir"],
        settings["standardize"],
        target=int(target) if str(target).lstrip("-").isdigit() else target,
        progress=not quiet and sys.stderr.isatty(),
    )
    validation = None
    X_train, y_train = data.X_train, data.y_train
    if settings["validation_split"]:
        X_train, y_train, X_val, y_val = datasets.train_validation_split(
            X_train, y_train, settings["validation_split"], seed=settings["seed"]
        )
        validation = (X_val, y_val)
    return data, X_train, y_train, validation


def build_network(settings: dict, n_features: int, n_classes: int):
    from nablanet import Network

    sizes = [n_features, *settings["layers"], n_classes]
    return Network(
        sizes,
        settings["activation"],
        settings["output"],
        settings["cost"],
        settings["init"],
        settings["dtype"],
        seed=settings["seed"],
    )


def build_optimizer(settings: dict):
    from nablanet import optimizers

    mu = settings["momentum"]
    name = settings["optimizer"] or ("momentum" if mu else "sgd")
    if settings["eta"] <= 0:
        raise ValueError(f"--eta must be positive, got {settings['eta']}")
    if name == "momentum":
        return optimizers.Momentum(settings["eta"], 0.9 if mu is None else mu)
    if mu:
        raise ValueError(f"--momentum {mu} applies to the momentum optimizer, not --optimizer {name}")
    return optimizers.get(name, eta=settings["eta"])


def cmd_train(args) -> int:
    from nablanet import fit

    _check_paths(args)
    settings, resume_header = _settings(args)
    data, X_train, y_train, validation = load_data(settings, args.quiet or args.json)
    net = _network(settings, resume_header, data, args.resume)
    checkpoint = _checkpoint(args, settings)
    show = _display(args, X_train, settings["batch_size"])
    callbacks = [_TrainAccuracy(X_train, y_train), *([show] if show else [])]
    if settings["eta_decay"]:
        from nablanet.training.callbacks import InverseScaling

        callbacks.append(InverseScaling(decay=settings["eta_decay"], eta0=settings["eta"]))
    start = time.perf_counter()
    try:
        history = fit(
            net,
            X_train,
            y_train,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            optimizer=None if args.resume else build_optimizer(settings),
            lmbda=settings["lmbda"],
            validation_data=validation,
            seed=settings["seed"],
            callbacks=[*callbacks, checkpoint],  # the checkpoint last: it may raise on Ctrl-C
            monitor=args.monitor,
            resume=getattr(args, "resume_source", None),
        )
    except KeyboardInterrupt:
        return _interrupted(show, checkpoint)
    _finish(args, settings, net, history, data, time.perf_counter() - start)
    return 0


def _network(settings: dict, resume_header: dict | None, data, source):
    """A new network for the data, or the resumed run's (weights filled in by fit)."""
    from nablanet.io.model import network_from_spec

    if resume_header is not None:
        net = network_from_spec(resume_header["network"], source)
    else:
        net = build_network(settings, data.n_features, data.n_classes)
    if net.sizes[0] != data.n_features or net.sizes[-1] < data.n_classes:
        raise ValueError(
            f"the network {net.sizes} does not fit the data "
            f"({data.n_features} features, {data.n_classes} classes)"
        )
    return net


def _checkpoint(args, settings: dict):
    """Periodic checkpoints with --checkpoint (or --resume); otherwise only on Ctrl-C."""
    from nablanet.training.checkpoint import Checkpoint

    path = args.checkpoint or args.resume
    return Checkpoint(path or INTERRUPT_CHECKPOINT, args.checkpoint_every, path is not None, settings)


def _display(args, X_train, batch_size: int):
    if args.json:
        return _JsonLines(X_train)
    return None if args.quiet else _RichProgress(X_train, batch_size)


def _interrupted(show, checkpoint) -> int:
    if isinstance(show, _RichProgress):
        show.close()
    if checkpoint.interrupted and checkpoint.path.exists():
        print(
            f"\nnablanet: interrupted; checkpoint written to {checkpoint.path}\n"
            f"resume with: nablanet train --resume {checkpoint.path}",
            file=sys.stderr,
        )
    else:
        print("\nnablanet: interrupted", file=sys.stderr)
    return 130


def _finish(args, settings: dict, net, history, data, seconds: float) -> None:
    """Test, save, report, and tell: a table, or one JSON object."""
    test = net.evaluate(data.X_test, data.y_test)
    if args.output_model:
        scaling = {"shift": _plain(data.input_shift), "scale": _plain(data.input_scale)}
        hyper = {**settings, "dataset": data.summary(), "input_scaling": scaling}
        save(net, args.output_model, history=history, hyperparameters=hyper)
    if args.report:
        from nablanet.viz.report import write_report

        write_report(
            args.report,
            net=net,
            history=history,
            config=settings,
            dataset=data.summary(),
            X_test=data.X_test,
            y_test=data.y_test,
            image_shape=data.image_shape,
        )
    summary = {
        "event": "summary",
        "dataset": data.summary(),
        "sizes": net.sizes,
        "epochs": len(history),
        "cost": history.cost[-1] if len(history) else None,
        "val_accuracy": history.val_accuracy[-1] if len(history) else None,
        "test_accuracy": test.accuracy,
        "test_cost": test.cost,
        "seconds": seconds,
        "model": args.output_model,
        "report": args.report,
        "checkpoint": args.checkpoint or args.resume,
    }
    if args.json:
        print(json.dumps(summary), flush=True)
    elif not args.quiet:
        _summary_table(summary)


class _TrainAccuracy(Callback):
    """Training-set accuracy each epoch, kept in ``history.accuracy`` (plots draw it)."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def on_epoch_end(self, run):
        run.history.accuracy[-1] = run.net.evaluate(self.X, self.y).accuracy


def _last_accuracy(run) -> float | None:
    return (run.history.accuracy or [None])[-1]


class _JsonLines(Callback):
    """One JSON object per epoch on stdout."""

    def __init__(self, X):
        self.X = X

    def on_train_begin(self, run):
        self.warned = len(run.history.warnings)

    def on_epoch_end(self, run):
        h = run.history
        record = {
            "event": "epoch",
            "epoch": run.epoch,
            "cost": h.cost[-1],
            "accuracy": _last_accuracy(run),
            "val_cost": h.val_cost[-1],
            "val_accuracy": h.val_accuracy[-1],
            "seconds": h.seconds[-1],
            "examples_per_second": self.X.shape[0] / h.seconds[-1] if h.seconds[-1] else None,
            "warnings": h.warnings[self.warned :],
        }
        self.warned = len(h.warnings)
        print(json.dumps(record), flush=True)


class _RichProgress(Callback):
    """A live bar per epoch on stderr: cost so far, examples/s; a line per finished epoch."""

    def __init__(self, X, batch_size: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.X, self.m = X, batch_size
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cost {task.fields[cost]}"),
            TextColumn("{task.fields[speed]} ex/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task = None

    def on_train_begin(self, run):
        self.warned = len(run.history.warnings)
        self.n_batches = -(-self.X.shape[0] // self.m)
        self.progress.start()

    def on_epoch_begin(self, run):
        self.started = time.perf_counter()
        self.task = self.progress.add_task(
            "", total=self.n_batches, epoch=f"{run.epoch + 1}/{run.epochs}", cost="-", speed="-"
        )

    def on_batch_end(self, run, cost):
        if self.task is None:  # resumed mid-epoch
            self.on_epoch_begin(run)
        if run.batch % 10 and run.batch != self.n_batches:
            return
        seen = min(run.batch * self.m, self.X.shape[0])
        elapsed = time.perf_counter() - self.started
        self.progress.update(
            self.task,
            completed=run.batch,
            cost=f"{run.cost_sum / seen:.4f}",
            speed=f"{seen / elapsed:,.0f}" if elapsed > 0 else "-",
        )

    def on_epoch_end(self, run):
        h = run.history
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        acc = _last_accuracy(run)
        line = f"epoch {run.epoch:>3}/{run.epochs}  cost {h.cost[-1]:.4f}"
        if acc is not None:
            line += f"  accuracy {acc:.2%}"
        if h.val_accuracy[-1] is not None:
            line += f"  val cost {h.val_cost[-1]:.4f}  val accuracy {h.val_accuracy[-1]:.2%}"
        if h.seconds[-1]:
            line += f"  {self.X.shape[0] / h.seconds[-1]:,.0f} ex/s"
        self.progress.console.print(line, highlight=False, soft_wrap=True)
        for message in h.warnings[self.warned :]:
            self.progress.console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)
        self.warned = len(h.warnings)

    def on_train_end(self, run):
        self.close()

    def close(self):
        self.progress.stop()


def _summary_table(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="nablanet train", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    d = s["dataset"]
    rows = [
        ("data", f"{d['name']}: {d['n_train']} train / {d['n_test']} test, {d['n_features']} features"),
        ("network", " → ".join(str(n) for n in s["sizes"])),
        ("epochs", str(s["epochs"])),
        ("final cost", f"{s['cost']:.4f}" if s["cost"] is not None else "-"),
        ("validation accuracy", _pct(s["val_accuracy"])),
        ("test accuracy", _pct(s["test_accuracy"])),
        ("test cost", f"{s['test_cost']:.4f}"),
        ("time", f"{s['seconds']:.1f} s"),
    ]
    rows += [(k, s[k]) for k in ("model", "checkpoint", "report") if s[k]]
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _brief(value, limit: int = 8):
    """A setting for display: long lists (per-feature scaling) shortened to their length."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_brief(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and len(value) > limit:
        return f"[{len(value)} values]"
    return value


def _plain(x):
    return x.tolist() if isinstance(x, np.ndarray) else float(x)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


# -- nablanet evaluate ----------------------------------------------------------------------


def _register_evaluate(subparsers) -> None:
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


def cmd_evaluate(args) -> int:
    from nablanet.io.model import load_model

    net, header = load_model(args.model)
    trained = header.get("hyperparameters") or {}
    settings = {**DEFAULTS, "validation_split": 0.0}
    for key in ("data", "data_dir", "target", "standardize"):
        given = getattr(args, key)
        settings[key] = given if given is not None else trained.get(key, DEFAULTS[key])
    if args.data is None and "data" not in trained:
        raise ValueError(f"{args.model} does not record its training data; pass --data")
    data = load_data(settings)[0]
    X, y = (data.X_test, data.y_test) if args.split == "test" else (data.X_train, data.y_train)
    if X.shape[1] != net.sizes[0]:
        raise ValueError(f"{args.model} expects {net.sizes[0]} inputs; {data.name} has {X.shape[1]} features")
    ev = net.evaluate(X, y)
    result = {"model": args.model, "data": data.name, "split": args.split, "n": int(X.shape[0])}
    result.update(accuracy=ev.accuracy, cost=ev.cost)
    if args.json:
        print(json.dumps(result))
    else:
        acc = "-" if ev.accuracy is None else f"{ev.accuracy:.2%}"
        print(f"{data.name} {args.split} ({X.shape[0]} examples): accuracy {acc}, cost {ev.cost:.4f}")
    return 0


# -- nablanet predict -----------------------------------------------------------------------


def _register_predict(subparsers) -> None:
    p = subparsers.add_parser("predict", help="labels or probabilities for new inputs")
    p.add_argument("model", metavar="MODEL", help="a model file written by nablanet train -o")
    p.add_argument(
        "input",
        metavar="INPUT",
        help=".npy or .csv, one row per example, in the training file's units (pixels 0–255 for MNIST)",
    )
    p.add_argument("--scaled", action="store_true", help="INPUT is already scaled as the network's inputs")
    p.add_argument("--proba", action="store_true", help="class probabilities instead of labels")
    p.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default csv)")
    p.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    p.set_defaults(func=cmd_predict)


def read_inputs(path: str) -> np.ndarray:
    """Rows of numbers from a .npy (no pickles) or a .csv (an optional header row)."""
    from nablanet.datasets import DatasetError
    from nablanet.datasets.tables import read_numeric_csv

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if p.suffix.lower() == ".npy":
        try:
            X = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise DatasetError(f"{path}: not a readable .npy array of numbers ({e})") from None
    elif p.suffix.lower() == ".csv":
        X = read_numeric_csv(p)
    else:
        raise ValueError(f"{path}: INPUT must be a .npy or .csv file")
    if X.ndim == 1:
        X = X.reshape(1, -1)
    return X


def cmd_predict(args) -> int:
    from nablanet.datasets.base import apply_scaling
    from nablanet.io.model import load_model

    net, header = load_model(args.model)
    X = read_inputs(args.input)
    scaling = (header.get("hyperparameters") or {}).get("input_scaling")
    if scaling and not args.scaled:  # the same (X − shift) / scale that training applied
        X = apply_scaling(X, np.asarray(scaling["shift"]), np.asarray(scaling["scale"]))
    if args.proba:
        P = net.predict_proba(X)
        payload = {"probabilities": P.tolist()}
        lines = [",".join(f"p{k}" for k in range(P.shape[1]))] + [
            ",".join(f"{p:.6g}" for p in row) for row in P
        ]
    else:
        labels = net.predict(X)
        payload = {"labels": labels.tolist()}
        lines = ["label"] + [str(int(k)) for k in labels]
    text = json.dumps(payload) + "\n" if args.format == "json" else "\n".join(lines) + "\n"
    if args.output:
        atomic_write(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


# -- nablanet info --------------------------------------------------------------------------


def _register_info(subparsers) -> None:
    p = subparsers.add_parser("info", help="what a model or checkpoint file holds")
    p.add_argument("model", metavar="MODEL", help="a model or checkpoint file")
    p.add_argument("--json", action="store_true", help="print the whole header as JSON")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from nablanet.io.model import read_header

    header = read_header(args.model)
    if args.json:
        print(json.dumps(header, indent=1))
        return 0
    net = header["network"]
    sizes = net["sizes"]
    n_params = sum(a * b + a for a, b in zip(sizes[1:], sizes[:-1]))
    acts = ", ".join(
        a["name"] + "".join(f"({k}={v})" for k, v in a.items() if k != "name") for a in net["activations"]
    )
    history = header.get("history") or {}
    lines = [
        f"{args.model}: nablanet {header['kind']} (format {header['format_version']}, "
        f"library {header.get('library_version')})",
        f"  network      {' → '.join(map(str, sizes))} ({n_params:,} parameters, {net['dtype']})",
        f"  activations  {acts}",
        f"  cost         {net['cost']['name']}" + ("" if net["cost"].get("half", True) else " (no ½)"),
        f"  init         {net['init']}",
        f"  sha256       {header['sha256']}",
    ]
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
    for k, v in (header.get("hyperparameters") or {}).items():
        lines.append(f"  {k:<12} {_brief(v)}")
    print("\n".join(lines))
    return 0
