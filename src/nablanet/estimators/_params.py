"""The estimators' parameters: checked in ``fit``, and mapped onto nablanet's objects.

scikit-learn stores parameters unchanged in ``__init__`` and checks them when
fitting, so a bad one fails in ``fit`` with an error that names it. Where a
parameter means what a shared default means, it comes from
``nablanet.defaults.DEFAULTS`` (docs/estimators.md tabulates the mapping).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.utils import check_scalar

from .. import activations, initializers, optimizers
from ..defaults import DEFAULTS

__all__ = ["check_params", "check_choice", "hidden_sizes", "make_optimizer", "init_for", "batch_size_for"]

# Adam's own η (and MLPClassifier's learning_rate_init): the shared η = 0.05 is momentum's.
ADAM_ETA = 1e-3
# MLPClassifier's batch_size="auto", min(200, n), suits Adam, the estimators' default solver.
AUTO_BATCH = 200
_RELU_FAMILY = ("relu", "leaky_relu")


def check_choice(value: Any, name: str, choices: list) -> None:
    if not any(value is c or (isinstance(c, str) and value == c) for c in choices):
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")


def check_params(est) -> None:
    """Raise a clear error for the first bad parameter of ``est``; changes nothing."""
    sizes = est.hidden_layer_sizes
    sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be an int or a sequence of ints, got {est.hidden_layer_sizes!r}"
        ) from None
    for i, n in enumerate(sizes):
        check_scalar(n, f"hidden_layer_sizes[{i}]", numbers.Integral, min_val=1)
    if not activations.get(est.activation).hidden_ok:  # get() names the choices for an unknown one
        raise ValueError(f"activation {est.activation!r} is for output layers only; see the output parameter")
    check_choice(est.solver, "solver", optimizers.names())
    if est.init is not None and not callable(est.init):
        check_choice(est.init, "init", initializers.names())
    if est.learning_rate is not None:
        check_scalar(
            est.learning_rate, "learning_rate", numbers.Real, min_val=0, include_boundaries="neither"
        )
    check_scalar(est.alpha, "alpha", numbers.Real, min_val=0)
    check_scalar(est.l1, "l1", numbers.Real, min_val=0)  # dropout: the core's checks, per layer
    for name in ("momentum", "beta_1", "beta_2"):
        check_scalar(getattr(est, name), name, numbers.Real, min_val=0, max_val=1, include_boundaries="left")
    check_scalar(est.epsilon, "epsilon", numbers.Real, min_val=0, include_boundaries="neither")
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        check_scalar(est.batch_size, "batch_size", numbers.Integral, min_val=1)
    check_scalar(est.max_iter, "max_iter", numbers.Integral, min_val=1)
    check_scalar(est.tol, "tol", numbers.Real, min_val=0)
    check_scalar(est.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
    check_scalar(
        est.validation_fraction, "validation_fraction", numbers.Real, min_val=0, max_val=1,
        include_boundaries="neither",
    )  # fmt: skip
    for name in ("early_stopping", "warm_start", "monitor"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {getattr(est, name)!r}")
    check_scalar(est.verbose, "verbose", numbers.Integral, min_val=0)
    if est.dtype is not None:
        try:
            dtype = np.dtype(est.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be None, 'float32' or 'float64', got {est.dtype!r}")


def hidden_sizes(est) -> list[int]:
    sizes = est.hidden_layer_sizes
    return [int(sizes)] if isinstance(sizes, numbers.Integral) else [int(n) for n in sizes]


def init_for(est) -> str | initializers.Initializer:
    """``init``, or when None the scheme that suits the activation: He for ReLU, else Glorot."""
    if est.init is not None:
        return est.init
    return DEFAULTS["init"] if activations.get(est.activation).name in _RELU_FAMILY else "glorot"


def make_optimizer(est) -> optimizers.Optimizer:
    """The solver, with the shared defaults' η for momentum and SGD and Adam's own η for Adam."""
    eta = est.learning_rate
    if eta is None:
        eta = ADAM_ETA if est.solver == "adam" else DEFAULTS["eta"]
    if est.solver == "adam":
        return optimizers.Adam(float(eta), est.beta_1, est.beta_2, est.epsilon)
    if est.solver == "momentum":
        return optimizers.Momentum(float(eta), mu=est.momentum)
    return optimizers.get(est.solver, eta=float(eta))


def batch_size_for(est, n: int) -> int:
    """The mini-batch size m for n examples: "auto" is MLPClassifier's min(200, n)."""
    if isinstance(est.batch_size, str):
        return min(AUTO_BATCH, n)
    return min(int(est.batch_size), n)
