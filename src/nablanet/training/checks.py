"""The checks of a training run's settings, shared by ``fit`` and by a checkpoint's run state.

A setting read back from a file gets exactly the checks that ``fit`` gives its
arguments, so a crafted checkpoint cannot resume what ``fit`` would refuse.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_count", "check_lmbda", "check_dropout", "check_sample_weight"]


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (not a bool, not a float), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def check_lmbda(lmbda: Any, name: str = "lmbda") -> float:
    """A regularisation strength as a finite float ≥ 0, or a clear error."""
    if isinstance(lmbda, bool) or not isinstance(lmbda, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(lmbda).__name__} {lmbda!r}")
    if not (math.isfinite(lmbda) and lmbda >= 0):
        raise ValueError(f"{name} must be a finite number ≥ 0, got {lmbda!r}")
    return float(lmbda)


def check_dropout(dropout: Any, n_hidden: int) -> list[float] | None:
    """Drop rates, one per hidden layer, each in [0, 1); None when there is no dropout."""
    if isinstance(dropout, (str, bytes)) or np.ndim(dropout) not in (0, 1):
        raise TypeError(f"dropout must be a rate or one rate per hidden layer, got {dropout!r}")
    one = np.ndim(dropout) == 0
    if one and n_hidden == 0 and dropout:
        raise ValueError("dropout applies to hidden layers, and this network has none")
    rates = [dropout.item() if hasattr(dropout, "item") else dropout] * n_hidden if one else list(dropout)
    if len(rates) != n_hidden:
        raise ValueError(f"dropout has {len(rates)} rates for {n_hidden} hidden layers")
    for l, p in enumerate(rates, start=1):
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"dropout of hidden layer {l} must be a number, got {p!r}")
        if not 0 <= p < 1:
            raise ValueError(f"dropout of hidden layer {l} must be in [0, 1), got {p!r}")
    return [float(p) for p in rates] if any(rates) else None


def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Weights scaled so that they average 1: the mean-cost gradient stays unbiased.

    They are divided by their maximum first, so that weights near the float64
    limit do not overflow the sum, and weights near its smallest do not vanish.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if not (np.issubdtype(w.dtype, np.number) or w.dtype == bool) or np.iscomplexobj(w):
        raise TypeError(f"sample_weight must be real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}; expected ({n},), one weight per example")
    if not np.isfinite(w).all():
        i = int(np.flatnonzero(~np.isfinite(w))[0])
        raise ValueError(f"sample_weight[{i}] is {w[i]}: weights must be finite")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"sample_weight[{i}] is {w[i]}: weights must be non-negative")
    top = w.max()
    if top == 0:
        raise ValueError("every sample_weight is 0: no example would count")
    w = w / top
    return w * (n / w.sum())
