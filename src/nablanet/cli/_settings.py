"""The settings of a ``nablanet train`` run: the library's defaults, then the CLI's own, then the options.

The network and its training take their defaults from ``nablanet.defaults``
(``DEFAULTS``, or ``NIELSEN`` with ``--preset nielsen``), as ``Network`` and
``fit`` do: one set of defaults for the API and the command line. ``CLI_DEFAULTS``
holds only what the command line adds: where the data comes from, the hidden
layers, the seed, the validation set and the training plugins.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import defaults, optimizers
from ..network import Network
from ..training.callbacks import EarlyStopping, HalveOnPlateau, InverseScaling, StepDecay
from ..training.checkpoint import read_checkpoint

# What the command line adds to the library's defaults.
CLI_DEFAULTS: dict[str, Any] = {
    "preset": "default",
    "data": "digits",
    "data_dir": None,
    "target": "-1",
    "task": "auto",
    "standardize": False,
    "layers": [64],
    "sizes": None,
    "output": None,
    "seed": 0,
    "dtype": "float32",
    "validation_split": 0.1,
    "validate_on": "auto",
    "lmbda": 0.0,
    "l1": 0.0,
    "dropout": 0.0,
    "schedule": "constant",
    "eta_decay": None,
    "step_every": 10,
    "step_factor": 0.5,
    "early_stopping": False,
    "patience": 10,
}
# The library's settings, by the command line's name for them.
PRESET_KEYS = {
    "activation": "activation",
    "cost": "cost",
    "init": "init",
    "optimizer": "optimizer",
    "eta": "eta",
    "momentum": "mu",
    "batch_size": "batch_size",
    "epochs": "epochs",
}
KEYS = (*CLI_DEFAULTS, *PRESET_KEYS)
SCHEDULES = ("constant", "halve", "step", "inverse")
VALIDATE_ON = ("auto", "split", "test", "none")
# Where the data lives may change on resume; what it is, and how it is trained, may not.
FREE_ON_RESUME = ("epochs", "data_dir")


def base(preset: str) -> dict[str, Any]:
    """The settings before any option: the preset's network and training, and the CLI's own."""
    chosen = defaults.preset(preset)
    settings = {**CLI_DEFAULTS, "preset": preset, **{k: chosen[v] for k, v in PRESET_KEYS.items()}}
    if preset == "nielsen":  # the seeds' network has one hidden layer of 30: [784, 30, 10]
        settings["layers"] = [30]
    return settings


def resolve(args, warn) -> tuple[dict[str, Any], dict | None]:
    """The run's settings: defaults, then a resumed run's own, then what was given now.

    Returns the settings and, with ``--resume``, the checkpoint's header.
    """
    given = {k: getattr(args, k) for k in KEYS if getattr(args, k, None) is not None}
    args.given = set(given)
    stored, header = {}, None
    if args.resume:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            header, _, source = read_checkpoint(args.resume)
        for w in caught:
            warn(str(w.message))
        stored = {k: v for k, v in (header.get("hyperparameters") or {}).items() if k in KEYS}
        args.resume_source = source
    settings = base(given.get("preset") or stored.get("preset") or "default")
    settings.update(stored)
    if header is not None:
        changed = sorted(k for k in given if k not in FREE_ON_RESUME and given[k] != settings.get(k))
        if changed:
            raise ValueError(
                "--resume continues the saved run exactly; only --epochs may change "
                f"(not {', '.join(changed)})"
            )
    settings.update(given)
    if header is None:
        settings["optimizer"], settings["momentum"] = _optimizer_choice(settings, given)
    _check_schedule(settings, given)
    if header is not None and header["run"].get("epoch", 0) >= settings["epochs"]:
        done = header["run"]["epoch"]
        warn(f"the run has already completed {done} epochs; pass --epochs N > {done} to train on")
    return settings, header


def _optimizer_choice(settings: dict, given: dict) -> tuple[str, float | None]:
    """The optimizer and μ: ``--momentum`` > 0 selects momentum; otherwise the preset's."""
    mu = given.get("momentum")
    name = given.get("optimizer") or ("momentum" if mu else "sgd" if mu == 0 else settings["optimizer"])
    if name == "momentum":
        return name, settings["momentum"] if mu is None else mu
    if mu:
        raise ValueError(f"--momentum {mu} applies to the momentum optimizer, not --optimizer {name}")
    return name, None


def _check_schedule(settings: dict, given: dict) -> None:
    schedule = settings["schedule"]
    if settings.get("eta_decay") is not None and schedule == "constant":
        settings["schedule"] = schedule = "inverse"  # --eta-decay alone: η / (1 + decay·t)
    if "eta_decay" in given and schedule != "inverse":
        raise ValueError(f"--eta-decay sets --schedule inverse, not --schedule {schedule}")
    for flag in ("step_every", "step_factor"):
        if flag in given and schedule != "step":
            raise ValueError(f"--{flag.replace('_', '-')} applies to --schedule step, not {schedule}")
    if not 0 < settings["step_factor"] < 1:
        raise ValueError(f"--step-factor must be in (0, 1), got {settings['step_factor']}")


def for_regression(settings: dict, given) -> None:
    """A number to predict: a^L = z^L and the quadratic cost, unless the options say otherwise."""
    if "output" not in given:
        settings["output"] = "identity"
    if "cost" not in given:
        settings["cost"] = "quadratic"


def build_network(settings: dict, n_features: int, n_outputs: int, classes=None) -> Network:
    """The network the settings describe, for data with ``n_features`` inputs and ``n_outputs`` outputs."""
    sizes = settings["sizes"] or [n_features, *settings["layers"], n_outputs]
    if sizes[0] != n_features or sizes[-1] != n_outputs:
        raise ValueError(
            f"--sizes {','.join(map(str, sizes))} does not fit the data: "
            f"it has {n_features} features and needs {n_outputs} outputs"
        )
    return Network(
        sizes,
        settings["activation"],
        settings["output"],
        settings["cost"],
        settings["init"],
        settings["dtype"],
        seed=settings["seed"],
        classes=classes,
    )


def check_layers(settings: dict, n_features: int, n_outputs: int, warn) -> None:
    """``--layers`` holds hidden sizes only: refuse a full size list, warn at a likely one."""
    hidden = settings["layers"]
    if settings["sizes"] or not hidden:
        return
    shown = ",".join(map(str, hidden))
    if len(hidden) >= 2 and hidden[0] == n_features and hidden[-1] == n_outputs:
        inner = ",".join(map(str, hidden[1:-1])) or "none"
        raise ValueError(
            f"--layers takes the hidden sizes only, and {shown} looks like every layer's "
            f"({n_features} inputs, {n_outputs} outputs): pass --layers {inner}, or --sizes {shown} "
            "to give every layer"
        )
    if hidden[-1] == n_outputs:
        net = " → ".join(map(str, [n_features, *hidden, n_outputs]))
        warn(
            f"--layers takes hidden sizes, so the network is {net}, with a last hidden layer "
            f"as wide as the output; use --sizes to give every layer"
        )


def build_optimizer(settings: dict) -> optimizers.Optimizer:
    name, eta = settings["optimizer"], settings["eta"]
    if name == "momentum":
        mu = settings["momentum"]
        return optimizers.Momentum(eta, 0.9 if mu is None else mu)
    if settings.get("momentum"):
        raise ValueError(f"--momentum {settings['momentum']} applies to the momentum optimizer, not {name}")
    return optimizers.get(name, eta=eta)


def plugins(settings: dict, regression: bool, validation: bool) -> list:
    """The schedule and early stopping the settings ask for, as callbacks."""
    schedule, out = settings["schedule"], []
    monitored = "val_cost" if regression else "val_accuracy"
    needs_validation = [f for f, on in (("--early-stopping", settings["early_stopping"]),
                                        ("--schedule halve", schedule == "halve")) if on]  # fmt: skip
    if needs_validation and not validation:
        raise ValueError(
            f"{' and '.join(needs_validation)} watch the validation set, and this run has none: "
            "set --validation-split, or --validate-on test"
        )
    if schedule == "halve":
        out.append(HalveOnPlateau(monitor=monitored, patience=settings["patience"]))
    elif schedule == "step":
        out.append(
            StepDecay(step=settings["step_every"], factor=settings["step_factor"], eta0=settings["eta"])
        )
    elif schedule == "inverse":
        decay = 0.1 if settings["eta_decay"] is None else settings["eta_decay"]
        if decay > 0:
            out.append(InverseScaling(decay=decay, eta0=settings["eta"]))
    if settings["early_stopping"]:
        out.append(EarlyStopping(monitor="val_cost", patience=settings["patience"], restore_best=True))
    return out
