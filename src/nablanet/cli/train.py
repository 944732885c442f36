"""``nablanet train``: train a network, then test, save and report it.

With no arguments it trains [64, 64, 10] on scikit-learn's bundled 8×8 digits
with the library's defaults (ReLU, cross-entropy, He, SGD with momentum), in a
few seconds. ``--preset nielsen`` is the seeds' setup instead. Progress goes
to stderr; results go to stdout: a summary table, or with ``--json`` one JSON
object per event (docs/cli.md lists them).

Ctrl-C finishes the current mini-batch, writes a checkpoint, prints the command
that resumes the run, and exits with status 130.
"""

from __future__ import annotations

import sys
import time
import warnings

from .. import activations, costs, defaults, initializers, optimizers
from ..io.container import plain
from ..io.model import network_from_spec
from ..network import Network
from ..parallel import DataParallel, world
from ..parallel import evaluate as evaluate_across
from ..train import Callback
from ..training.checkpoint import Checkpoint
from ..training.fit import fit
from ..training.health import Health, TrainingWarning
from ..training.monitor import Monitor
from ..viz.report import write_report
from ..web.live import attach_live
from . import _settings
from ._args import (
    check_output,
    fraction,
    has,
    hidden_sizes,
    install_hint,
    need,
    nonnegative_float,
    open_fraction,
    positive_float,
    positive_int,
    rates,
    seed,
    sizes,
)
from ._data import TASKS, Loaded, load_data, regression_metrics, unscale
from ._display import JsonLines, RichProgress, Warnings, emit, summary_table
from ._save import save_model

INTERRUPT_CHECKPOINT = "nablanet-interrupted.npz"


def register(subparsers) -> None:
    c, d = _settings.CLI_DEFAULTS, defaults.DEFAULTS
    p = subparsers.add_parser(
        "train",
        help="train a network (no arguments: the bundled digits, in seconds)",
        description="Train a feed-forward network by backpropagation. With no arguments: "
        "a [64, 64, 10] ReLU network on the bundled 8×8 digits, with nablanet's defaults.",
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--data", help="digits, fashion-mnist, mnist, or a .csv/.npz/mnist.pkl.gz file (default digits)"
    )
    g.add_argument(
        "--data-dir", help="folder with MNIST-style IDX files (default $NABLANET_DATA, then the cache)"
    )
    g.add_argument("--target", help="CSV label column, by name or index (default: the last)")
    g.add_argument(
        "--task",
        choices=TASKS,
        help="auto (default): regression when a CSV's target holds numbers that are not class labels",
    )
    g.add_argument("--standardize", action="store_true", default=None, help="zero mean, unit variance inputs")
    g.add_argument(
        "--validation-split", type=fraction, help="fraction of the training set held out (default 0.1)"
    )
    g.add_argument(
        "--validate-on",
        choices=_settings.VALIDATE_ON,
        help="the validation curve's data: split, test, none; auto (default): the split, "
        "or the test set with --validation-split 0",
    )

    g = p.add_argument_group("network")
    g.add_argument(
        "--preset",
        choices=list(defaults.PRESETS),
        help="where the defaults come from: default, or nielsen (sigmoid, quadratic, N(0, 1), "
        "SGD η = 3, batch 10, 30 hidden units: the seeds' setup)",
    )
    g.add_argument(
        "--layers",
        type=hidden_sizes,
        help="hidden layer sizes, e.g. 100 or 128,64, or none (default 64; 30 with --preset nielsen)",
    )
    g.add_argument(
        "--sizes", type=sizes, help="every layer's size, input first, e.g. 64,30,10 (instead of --layers)"
    )
    g.add_argument(
        "--activation", choices=activations.names(), help=f"hidden activation (default {d['activation']})"
    )
    g.add_argument(
        "--output",
        choices=activations.names(),
        help="output activation (default: softmax for cross_entropy, identity for regression)",
    )
    g.add_argument(
        "--cost", choices=costs.names(), help=f"cost function (default {d['cost']}; quadratic for regression)"
    )
    g.add_argument(
        "--init", choices=initializers.names(), help=f"weight initialisation (default {d['init']})"
    )
    g.add_argument("--dtype", choices=["float32", "float64"], help=f"float precision (default {c['dtype']})")
    g.add_argument(
        "--seed", type=seed, help=f"seed for the weights, the shuffles and the split (default {c['seed']})"
    )

    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, help=f"epochs (default {d['epochs']})")
    g.add_argument("--batch-size", type=positive_int, help=f"mini-batch size (default {d['batch_size']})")
    g.add_argument(
        "--optimizer", choices=optimizers.names(), help=f"sgd, momentum or adam (default {d['optimizer']})"
    )
    g.add_argument("--eta", type=positive_float, help=f"learning rate η (default {d['eta']})")
    g.add_argument("--momentum", type=fraction, help=f"momentum μ (default {d['mu']}); > 0 selects momentum")
    g.add_argument("--lmbda", type=nonnegative_float, help="L2 regularisation λ (default 0)")
    g.add_argument("--l1", type=nonnegative_float, help="L1 regularisation λ₁: (λ₁/n) Σ|w| (default 0)")
    g.add_argument(
        "--dropout",
        type=rates,
        help="inverted dropout rate p of the hidden layers: one for all, or one per layer, e.g. 0.5,0.2 "
        "(default 0; training only)",
    )
    g.add_argument(
        "--schedule",
        choices=_settings.SCHEDULES,
        help="η schedule: constant (default), halve (halve η after --patience epochs without "
        "improvement), step (× --step-factor every --step-every epochs), inverse "
        "(η / (1 + decay·t))",
    )
    g.add_argument("--eta-decay", type=nonnegative_float, help="decay of --schedule inverse (default 0.1)")
    g.add_argument(
        "--step-every", type=positive_int, metavar="N", help="--schedule step: epochs per step (default 10)"
    )
    g.add_argument(
        "--step-factor", type=open_fraction, metavar="F", help="--schedule step: η × F per step (default 0.5)"
    )
    g.add_argument(
        "--early-stopping",
        action="store_true",
        default=None,
        help="stop when the validation cost has not improved for --patience epochs, "
        "and keep the best epoch's weights",
    )
    g.add_argument("--patience", type=positive_int, help="epochs without improvement (default 10)")

    g = p.add_argument_group("files and output")
    g.add_argument("-o", "--output-model", metavar="PATH", help="save the trained model here (.npz)")
    g.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint here each epoch (and on Ctrl-C)")
    g.add_argument(
        "--checkpoint-every", type=positive_int, metavar="N", help="also checkpoint every N mini-batches"
    )
    g.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    g.add_argument("--monitor", action="store_true", help="record per-layer health (in --json output too)")
    g.add_argument("--report", metavar="PATH", help="write an HTML report of the run here")
    g.add_argument(
        "--live",
        nargs="?",
        const="",
        metavar="URL",
        help="follow the run in the browser: at the live view of a running 'nablanet playground' "
        "(its URL with the token), or, without a URL, a server started for this run (nablanet[web])",
    )
    g.add_argument(
        "--live-every", type=positive_int, metavar="N", help="update the live view every N mini-batches too"
    )
    g.add_argument("--json", action="store_true", help="JSON events on stdout, one per line")
    g.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")
    p.set_defaults(func=cmd_train)


def warn(message: str) -> None:
    """A warning about the run, on stderr (shown with --quiet too)."""
    print(f"nablanet: warning: {message}", file=sys.stderr, flush=True)


def check_paths(args) -> None:
    """Fail before training, not after, if a result could not be written."""
    if args.output_model:
        check_output(args.output_model, "-o")
    if args.checkpoint:
        check_output(args.checkpoint, "--checkpoint")
    if args.report:
        check_output(args.report, "--report", (".html", ".htm"))


def cmd_train(args) -> int:
    # Under mpiexec every rank runs this command: all train, rank 0 alone speaks and writes.
    comm = world()
    if comm is not None and comm.Get_rank():
        args.quiet, args.json, args.report, args.output_model = True, False, None, None
    try:
        return _train(args, comm)
    except Exception as e:
        if comm is not None:  # one rank's error ends the job, with one line naming the rank
            DataParallel(comm).abort(e)
        raise


def _train(args, comm) -> int:
    check_paths(args)
    if args.layers is not None and args.sizes is not None:
        raise ValueError("give --layers (the hidden sizes) or --sizes (every layer's), not both")
    if args.validate_on in ("test", "none") and args.validation_split:
        raise ValueError(f"--validate-on {args.validate_on} holds nothing out: drop --validation-split")
    settings, header = _settings.resolve(args, warn)
    if args.report and not has("matplotlib"):
        warn(f"the report will have no plots: they need matplotlib ({install_hint('matplotlib')})")
    loaded = load_data(settings, args.quiet or args.json, warn)
    if loaded.regression and header is None:
        _settings.for_regression(settings, args.given)
    net = _network(settings, header, loaded, args.resume, warn)
    if loaded.validation_name == "test" and (settings["early_stopping"] or settings["schedule"] == "halve"):
        warn("training is guided by the test set, so its accuracy is no longer an unbiased estimate")
    checkpoint = _checkpoint(args, settings)
    show = _display(args, loaded, settings["batch_size"])
    callbacks: list[Callback] = [] if loaded.regression else [_TrainAccuracy(loaded.X_train, loaded.y_train)]
    # The health checks and the monitor go before the display, so that an epoch's line
    # (or JSON record) carries that epoch's warnings and layers.
    X = net.check_inputs(loaded.X_train)
    Y = net.check_targets(loaded.y_train, X.shape[0])
    callbacks.append(Health(X, Y))
    if args.monitor:
        callbacks.append(Monitor(X, Y))
    plugins = _settings.plugins(settings, loaded.regression, loaded.validation is not None)
    callbacks += [*plugins, show]
    if args.live is not None:
        if not args.live:
            need("starlette", "nablanet train --live")
        live, view = attach_live(args.live or None, name=loaded.data.name, every_batches=args.live_every)
        print(f"nablanet: live view at {view}", file=sys.stderr, flush=True)
        callbacks.append(live)
    if args.json:
        emit(_start_event(settings, net, loaded))
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrainingWarning)  # shown from History.warnings, once
            history = fit(
                net,
                loaded.X_train,
                loaded.y_train,
                epochs=settings["epochs"],
                batch_size=settings["batch_size"],
                optimizer=None if args.resume else _settings.build_optimizer(settings),
                lmbda=settings["lmbda"],
                l1=settings["l1"],
                dropout=settings["dropout"],
                validation_data=loaded.validation,
                seed=settings["seed"],
                callbacks=[*callbacks, checkpoint],  # the checkpoint last: it may raise on Ctrl-C
                resume=getattr(args, "resume_source", None),
                health=False,  # added above, before the display
                comm=comm,
            )
    except KeyboardInterrupt:
        if comm is not None and comm.Get_rank():
            return 130  # rank 0 tells, and its checkpoint is the run's
        return _interrupted(args, show, checkpoint)
    seconds = time.perf_counter() - start
    stops = [cb.stopped_epoch for cb in plugins if getattr(cb, "stopped_epoch", None)]
    stopped = f"after epoch {stops[0]}" if stops else None
    _finish(args, settings, net, history, loaded, seconds, stopped, warn, comm)
    return 0


def _network(settings: dict, header: dict | None, loaded: Loaded, source, warn) -> Network:
    """A new network for the data, or the resumed run's (weights filled in by fit)."""
    data = loaded.data
    if header is not None:
        net = network_from_spec(header["network"], source)
    else:
        _settings.check_layers(settings, data.n_features, loaded.n_outputs, warn)
        net = _settings.build_network(settings, data.n_features, loaded.n_outputs, data.classes)
    if net.sizes[0] != data.n_features or net.sizes[-1] < loaded.n_outputs:
        raise ValueError(
            f"the network {net.sizes} does not fit the data "
            f"({data.n_features} features, {loaded.n_outputs} outputs)"
        )
    return net


def _checkpoint(args, settings: dict) -> Checkpoint:
    """Periodic checkpoints with --checkpoint (or --resume); otherwise only on Ctrl-C."""
    path = args.checkpoint or args.resume
    return Checkpoint(path or INTERRUPT_CHECKPOINT, args.checkpoint_every, path is not None, settings)


def _display(args, loaded: Loaded, batch_size: int) -> Callback:
    n = loaded.X_train.shape[0]
    if args.json:
        return JsonLines(n, monitor=args.monitor)
    return Warnings() if args.quiet else RichProgress(n, batch_size)


def _start_event(settings: dict, net: Network, loaded: Loaded) -> dict:
    return {
        "event": "start",
        "dataset": loaded.data.summary(),
        "task": "regression" if loaded.regression else "classification",
        "classes": net.classes,
        "sizes": net.sizes,
        "validation": loaded.validation_name,
        "settings": settings,
    }


def _interrupted(args, show, checkpoint: Checkpoint) -> int:
    if isinstance(show, RichProgress):
        show.close()
    saved = checkpoint.interrupted and checkpoint.path.exists()
    if args.json:
        resume = f"nablanet train --resume {checkpoint.path}" if saved else None
        emit(
            {"event": "interrupted", "checkpoint": str(checkpoint.path) if saved else None, "resume": resume}
        )
    if saved:
        print(
            f"\nnablanet: interrupted; checkpoint written to {checkpoint.path}\n"
            f"resume with: nablanet train --resume {checkpoint.path}",
            file=sys.stderr,
        )
    else:
        print("\nnablanet: interrupted", file=sys.stderr)
    return 130


def _finish(
    args, settings: dict, net, history, loaded: Loaded, seconds: float, stopped, warn, comm=None
) -> None:
    """Test, save, report, and tell: a table, or one JSON object (on rank 0 alone, under MPI)."""
    data = loaded.data
    X_test, y_test = loaded.test
    test_cost, test_accuracy = evaluate_across(net, X_test, y_test, comm)  # every rank takes part
    if comm is not None and comm.Get_rank():
        return
    metrics = {"test_accuracy": test_accuracy, "test_cost": test_cost}
    if loaded.regression:
        predicted = unscale(net.feedforward(X_test), loaded.target_scaling)
        metrics.update({f"test_{k}": v for k, v in regression_metrics(predicted, data.y_test).items()})
    model = None
    if args.output_model:
        scaling = {"shift": plain(data.input_shift), "scale": plain(data.input_scale)}
        hyper = {**settings, "dataset": data.summary(), "input_scaling": scaling}
        if loaded.target_scaling is not None:
            hyper["target_scaling"] = loaded.target_scaling
        model = str(save_model(net, args.output_model, warn, history=history, hyperparameters=hyper))
    if args.report:
        write_report(
            args.report,
            net=net,
            history=history,
            config=settings,
            dataset=data.summary(),
            X_test=X_test,
            y_test=y_test,
            image_shape=data.image_shape,
        )
    summary = {
        "event": "summary",
        "dataset": data.summary(),
        "task": "regression" if loaded.regression else "classification",
        "classes": net.classes,
        "sizes": net.sizes,
        "epochs": len(history),
        "stopped": stopped,
        "cost": history.cost[-1] if len(history) else None,
        "validation": loaded.validation_name,
        "val_accuracy": history.val_accuracy[-1] if len(history) else None,
        "val_cost": history.val_cost[-1] if len(history) else None,
        **metrics,
        "seconds": seconds,
        "warnings": list(history.warnings),
        "model": model,
        "report": args.report,
        "checkpoint": args.checkpoint or args.resume,
    }
    if args.json:
        emit(summary)
    elif not args.quiet:
        summary_table(summary)


class _TrainAccuracy(Callback):
    """Training-set accuracy each epoch, kept in ``history.accuracy`` (plots draw it)."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def on_epoch_end(self, run):
        run.history.accuracy[-1] = run.net.evaluate(self.X, self.y).accuracy
