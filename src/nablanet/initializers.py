"""Weight initialisation schemes: W^l of shape (n_l, n_{l−1}), b^l of shape (n_l,).

Each scheme is a function ``(n_out, n_in, rng) -> (W, b)`` in float64; the
network casts to its dtype. All randomness comes from the ``rng`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .registry import Registry

__all__ = ["zeros", "standard", "scaled", "he", "glorot", "get", "names"]

Initializer = Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def zeros(n_out: int, n_in: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W = 0, b = 0: no random draw, for a network whose parameters are about to be loaded."""
    return np.zeros((n_out, n_in)), np.zeros(n_out)


def standard(n_out: int, n_in: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W, b ~ N(0, 1): the seeds' network. Large z saturates sigmoids early."""
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def scaled(n_out: int, n_in: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W ~ N(0, 1/n_in), b ~ N(0, 1): the improved scheme, z stays O(1)."""
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.standard_normal(n_out)


def he(n_out: int, n_in: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W ~ N(0, 2/n_in), b = 0: keeps the variance of ReLU activations constant."""
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2 / n_in), np.zeros(n_out)


def glorot(n_out: int, n_in: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W ~ U(−r, r) with r = √(6 / (n_in + n_out)), b = 0 (Glorot & Bengio, 2010)."""
    r = np.sqrt(6 / (n_in + n_out))
    return rng.uniform(-r, r, (n_out, n_in)), np.zeros(n_out)


_REGISTRY = Registry(
    "init",
    {"zeros": zeros, "standard": standard, "scaled": scaled, "he": he, "glorot": glorot},
    {"normal": "standard", "lecun": "scaled", "xavier": "glorot", "kaiming": "he"},
    callable,  # a function of one's own with the same signature is used as it is
    lambda f: f,
)
names, get = _REGISTRY.names, _REGISTRY.get
