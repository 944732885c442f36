"""``nablanet experiment``, ``gradcheck`` and ``trace``: the teaching instruments.

    nablanet experiment speed|saturation|vanishing|paths|costs [--plot out.png] [--json] ...
    nablanet gradcheck --sizes 784,30,10 [--activation ...] [--cost ...] [--dtype ...]
    nablanet trace [--sizes 2,3,2] [--explain]

As everywhere in the command line, ``--layers`` gives hidden sizes only and
``--sizes`` every layer's, input first: gradcheck, trace and ``experiment paths``
take ``--sizes``, and refuse ``--layers`` with a message saying so.

Results go to stdout as text, or with ``--json`` as one JSON object. ``gradcheck``
exits with status 1 when a layer fails the check.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from .. import activations, costs
from ..initializers import names as initializer_names
from ..network import Network
from ..teaching import experiments
from ..teaching.experiments._common import jsonable
from ..teaching.gradcheck import format_table, gradcheck
from ..teaching.trace import explain, render, trace
from ._args import (
    check_output,
    count,
    hidden_sizes,
    integers,
    need,
    no_layers,
    numbers,
    positive_float,
    positive_int,
    seed,
    sizes,
)


def some_hidden(text: str) -> list[int]:
    """Hidden sizes, at least one layer: ``30`` or ``30,30``."""
    values = hidden_sizes(text)
    if not values:
        raise argparse.ArgumentTypeError(f"expected hidden sizes such as 30 or 30,30, got {text!r}")
    return values


def indices(text: str) -> list[int]:
    """Three 1-based indices l,j,k."""
    values = integers(text, "three numbers l,j,k (1-based)")
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"--weight takes three numbers l,j,k (1-based), got {text!r}")
    return values


# Per experiment: (help, [(flag, argparse keywords, run() keyword)]).
_COMMON_DATA = [
    (
        "--dataset",
        {
            "default": "auto",
            "choices": ("auto", "fashion-mnist", "digits", "mnist"),
            "help": "auto: Fashion-MNIST if installed, else digits",
        },
        "dataset",
    ),
    ("--seed", {"type": seed, "default": 0}, "seed"),
]


# Options of the experiments that train networks and measure them on a fixed subset.
_TRAINING_RUN = [
    (
        "--n-train",
        {"type": positive_int, "default": 10_000, "help": "training examples (default 10000)"},
        "n_train",
    ),
    (
        "--n-probe",
        {
            "type": positive_int,
            "default": 1_000,
            "help": "fixed subset the statistics are measured on (default 1000)",
        },
        "n_probe",
    ),
    ("--epochs", {"type": count, "default": 5, "help": "epochs of SGD (default 5)"}, "epochs"),
]

EXPERIMENTS: dict[str, tuple[str, list]] = {
    "speed": (
        "time a forward pass, backprop and the numerical gradient (46)",
        [
            (
                ("--layers", "--hidden"),
                {
                    "type": some_hidden,
                    "default": [30],
                    "help": "hidden layer sizes (default 30: the seeds' [784, 30, 10])",
                },
                "hidden",
            ),
            (
                "--batch-size",
                {"type": positive_int, "default": 10, "help": "examples in the batch (default 10)"},
                "batch_size",
            ),
            (
                "--method",
                {
                    "choices": ("forward", "central"),
                    "default": "forward",
                    "help": "forward: the seeds' (46); central: two evaluations per parameter",
                },
                "method",
            ),
            (
                "--n-samples",
                {
                    "type": positive_int,
                    "default": None,
                    "help": "time only N entries per W^l, b^l and extrapolate (default: all)",
                },
                "n_samples",
            ),
            ("--dtype", {"choices": ("float32", "float64"), "default": "float32"}, "dtype"),
            *_COMMON_DATA,
        ],
    ),
    "saturation": (
        "saturated sigmoids, dead ReLUs and ∂C/∂w against a_in during training",
        [
            *_TRAINING_RUN,
            (
                ("--layers", "--hidden"),
                {"type": some_hidden, "default": [30, 30], "help": "hidden layer sizes (default 30,30)"},
                "hidden",
            ),
            (
                "--threshold",
                {
                    "type": positive_float,
                    "default": 0.01,
                    "help": "a sigmoid is saturated where σ'(z) is below this (default 0.01)",
                },
                "threshold",
            ),
            *_COMMON_DATA,
        ],
    ),
    "vanishing": (
        "‖∂C/∂b^l‖ per hidden layer: vanishing (sigmoid), even (ReLU + He), exploding",
        [
            *_TRAINING_RUN,
            (
                "--eta",
                {"type": positive_float, "default": 0.1, "help": "SGD learning rate (default 0.1)"},
                "eta",
            ),
            *_COMMON_DATA,
        ],
    ),
    "paths": (
        "∂C/∂w as a sum over every path to the cost, against backprop",
        [
            (
                "--sizes",
                {
                    "type": sizes,
                    "default": [2, 3, 3, 2],
                    "help": "every layer's size: a tiny network (default 2,3,3,2)",
                },
                "sizes",
            ),
            (
                "--layers",
                {"type": no_layers("experiment paths", "2,3,3,2"), "help": argparse.SUPPRESS},
                "_layers",
            ),
            (
                "--weight",
                {"type": indices, "default": [1, 1, 1], "help": "l,j,k of w^l_jk (1-based)"},
                "weight",
            ),
            ("--activation", {"default": "sigmoid", "choices": activations.names()}, "activation"),
            ("--cost", {"default": "quadratic", "choices": costs.names()}, "cost"),
            ("--seed", {"type": seed, "default": 0}, "seed"),
        ],
    ),
    "costs": (
        "a saturated sigmoid neuron under the quadratic and cross-entropy costs",
        [
            ("--epochs", {"type": positive_int, "default": 300, "help": "epochs (default 300)"}, "epochs"),
            (
                "--eta",
                {"type": positive_float, "default": 0.15, "help": "SGD learning rate (default 0.15)"},
                "eta",
            ),
            (
                "--w0",
                {"type": float, "default": 2.0, "help": "starting weight (default 2: z = 4, saturated)"},
                "w0",
            ),
            ("--b0", {"type": float, "default": 2.0, "help": "starting bias (default 2)"}, "b0"),
            (
                "--seed",
                {
                    "type": seed,
                    "default": 0,
                    "help": "accepted for uniformity: one example and a fixed start leave nothing random",
                },
                "seed",
            ),
        ],
    ),
}


def register(subparsers) -> None:
    _register_experiment(subparsers)
    _register_gradcheck(subparsers)
    _register_trace(subparsers)


# -- nablanet experiment --------------------------------------------------------------------


def _register_experiment(subparsers) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="run one of the seeds' claims as an experiment",
        description="Run one of the seeds' claims about backpropagation and print (or plot) its data.",
    )
    names = p.add_subparsers(dest="experiment", metavar="NAME", required=True)
    for name, (help_text, options) in EXPERIMENTS.items():
        q = names.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--plot", metavar="PATH", help="also write the figure to this .png (or .svg) file")
        q.add_argument("--json", action="store_true", help="print the data as one JSON object")
        for flags, kwargs, dest in options:
            q.add_argument(*((flags,) if isinstance(flags, str) else flags), dest=dest, **kwargs)
        keep = [dest for _, _, dest in options if not dest.startswith("_")]
        q.set_defaults(func=_run_experiment, options=keep)


def _run_experiment(args) -> int:
    module = experiments.get(args.experiment)
    if args.plot:  # fail now, not after the run
        check_output(args.plot, "--plot", (".png", ".svg"))
        need("matplotlib", "--plot")
    kwargs = {dest: getattr(args, dest) for dest in args.options}
    for key in ("hidden", "sizes", "weight"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    result = module.run(**kwargs)
    if args.plot:
        module.plot(result, args.plot)
    if args.json:
        print(json.dumps(jsonable(result)))
    else:
        print(module.summary(result))
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0


# -- nablanet gradcheck -----------------------------------------------------------------------


def _register_gradcheck(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck",
        help="check backprop's gradient against finite differences, layer by layer",
        description="Compare backprop's gradient with the numerical gradient (central differences, "
        "or the seeds' forward difference (46)) on a seeded random network and batch.",
    )
    p.add_argument(
        "--sizes", type=sizes, default=[784, 30, 10], help="every layer's size, input first (784,30,10)"
    )
    p.add_argument("--layers", type=no_layers("gradcheck", "784,30,10"), help=argparse.SUPPRESS)
    p.add_argument("--activation", default="sigmoid", choices=activations.names())
    p.add_argument("--output", default=None, choices=activations.names(), help="output activation")
    p.add_argument("--cost", default="quadratic", choices=costs.names())
    p.add_argument("--init", default="standard", choices=initializer_names())
    p.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    p.add_argument("--method", default="central", choices=("central", "forward"))
    p.add_argument(
        "--eps", type=positive_float, default=None, help="step ε (default: chosen per dtype/method)"
    )
    p.add_argument(
        "--n-samples", type=positive_int, default=None, help="check at most N entries per W^l, b^l"
    )
    p.add_argument("--batch-size", type=positive_int, default=10)
    p.add_argument(
        "--numerical-dtype",
        default="float64",
        choices=("float64", "float32", "same"),
        help="dtype the differences are taken in (same: the network's)",
    )
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=_run_gradcheck)


def _run_gradcheck(args) -> int:
    net = Network(
        args.sizes,
        activation=args.activation,
        output=args.output,
        cost=args.cost,
        init=args.init,
        dtype=args.dtype,
        seed=args.seed,
    )
    rng = np.random.default_rng(args.seed)
    X = rng.uniform(0, 1, (args.batch_size, args.sizes[0]))
    n_out = args.sizes[-1]
    y = rng.integers(0, max(n_out, 2), args.batch_size)  # class labels; 0/1 targets for one output
    numerical_dtype = None if args.numerical_dtype == "same" else args.numerical_dtype
    result = gradcheck(
        net, X, y, eps=args.eps, method=args.method, n_samples=args.n_samples, seed=args.seed,
        numerical_dtype=numerical_dtype,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{net!r}; a random batch of {args.batch_size} (inputs U(0, 1), seed {args.seed})")
        _print_table(result)
    return 0 if result.passed else 1


def _print_table(result) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(format_table(result))
        return
    table = Table(
        title=f"{result.method} differences, ε = {result.eps:.3g}, network {result.dtype}, "
        f"differences in {result.numerical_dtype}"
    )
    for col in ("param", "shape", "checked", "‖∇C‖", "norm rel err", "max rel err", "ok"):
        table.add_column(col, justify="left" if col == "param" else "right")
    for r in result.rows:
        table.add_row(
            r.name,
            "×".join(str(s) for s in r.shape),
            str(r.n_checked),
            f"{r.norm_backprop:.3e}",
            f"{r.norm_rel_error:.2e}",
            f"{r.max_rel_error:.2e}",
            "[green]yes[/]" if r.passed else "[bold red]NO[/]",
        )
    console = Console(soft_wrap=True)
    console.print(table)
    verdict = "[green]PASSED[/]" if result.passed else "[bold red]FAILED[/]"
    console.print(
        f"tolerances: normwise {result.tol_norm:.0e}, elementwise {result.tol_max:.0e}; "
        f"{result.n_cost_evals} cost evaluations in {result.seconds:.2f} s; {verdict}"
    )
    for note in result.notes:
        console.print(note, markup=False)


# -- nablanet trace ---------------------------------------------------------------------------


def _register_trace(subparsers) -> None:
    p = subparsers.add_parser(
        "trace",
        help="every quantity backprop computes for one example, labelled with its equation",
        description="Backprop on one example through a tiny network whose weights are seeded "
        "and rounded to one decimal, so every number can be checked by hand.",
    )
    p.add_argument(
        "--sizes", type=sizes, default=[2, 3, 2], help="every layer's size, input first (default 2,3,2)"
    )
    p.add_argument("--layers", type=no_layers("trace", "2,3,2"), help=argparse.SUPPRESS)
    p.add_argument("--x", type=numbers, default=None, help="the input, e.g. 0.5,1.0 (default: seeded)")
    p.add_argument("--y", type=numbers, default=None, help="a class label, or a target vector (default: 1)")
    p.add_argument("--activation", default="sigmoid", choices=activations.names())
    p.add_argument("--output", default=None, choices=activations.names())
    p.add_argument("--cost", default="quadratic", choices=costs.names())
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--digits", type=positive_int, default=4, help="decimals shown (default 4)")
    p.add_argument("--explain", action="store_true", help="show each equation with its numbers substituted")
    p.add_argument("--json", action="store_true", help="print the trace as one JSON object")
    p.set_defaults(func=_run_trace)


def tiny_network(sizes, activation="sigmoid", output=None, cost="quadratic", seed=0):
    """A float64 network whose weights and biases are seeded multiples of 0.1 in [−0.9, 0.9]."""
    net = Network(sizes, activation=activation, output=output, cost=cost, dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    net.W = [rng.integers(-9, 10, W.shape) / 10 for W in net.W]
    net.b = [rng.integers(-9, 10, b.shape) / 10 for b in net.b]
    return net


def _run_trace(args) -> int:
    if max(args.sizes) > 16:
        shown = ",".join(map(str, args.sizes))
        raise ValueError(
            f"trace is for tiny networks a person can follow; --sizes {shown} has a layer over 16"
        )
    net = tiny_network(args.sizes, args.activation, args.output, args.cost, args.seed)
    n_in, n_out = args.sizes[0], args.sizes[-1]
    x = (
        args.x
        if args.x is not None
        else list(np.random.default_rng(args.seed + 1).integers(0, 11, n_in) / 10)
    )
    if len(x) != n_in:
        raise ValueError(f"--x has {len(x)} values; the network has {n_in} inputs")
    y = _target(args.y, n_out)
    tr = trace(net, np.array(x), y)
    if args.json:
        print(json.dumps(tr.to_dict()))
    else:
        print(explain(tr, args.digits) if args.explain else render(tr, args.digits))
    return 0


def _target(values: list[float] | None, n_out: int) -> Any:
    if values is None:
        return 1 if n_out > 1 else 1.0
    if len(values) == 1 and n_out > 1:
        label = values[0]
        if label != int(label) or not 0 <= label < n_out:
            raise ValueError(f"--y {label:g} is not a class label 0..{n_out - 1}; give {n_out} target values")
        return int(label)
    if len(values) != n_out:
        raise ValueError(f"--y has {len(values)} values; the network has {n_out} outputs")
    return np.array(values)
