"""Cost functions C, each with the output error δ^L it implies.

A cost is the mean over the n examples of a per-example cost C_x, as the seeds
require for backpropagation to apply (C = (1/n) Σ_x C_x). Each cost has

- ``fn(a, y, weight=None, *, z=None, act=None)``: the mean cost of a batch,
  (1/m) Σ_x w_x C_x with sample weights;
- ``each(a, y, *, z=None, act=None)``: the C_x themselves, one per column;
- ``grad_a(a, y)``: ∇_a C_x, one column per example;
- ``delta(z, a, y, act)``: the output error δ^L = ∇_a C ⊙ σ'(z^L) (BP1).

Exact in the tails. An output that has saturated in floating point, a^L = 1
exactly or below the smallest float, has lost what C and δ^L depend on: 1 − a
and ln a. So ``delta`` works from z^L, through the output activation's exact
forms (``Activation.difference``, ``backward_exact``, ``log``, ``log1m``,
``backward_log``), for every output and cost; ``fn`` and ``each`` do too when
given ``z=`` and ``act=``. From a alone, ``fn`` clips a at the smallest normal
number, which keeps C finite but not exact there.

Arrays are in the book's orientation: one column per example.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .activations import Activation, Sigmoid, Softmax
from .blas import vdot
from .registry import Registry

__all__ = ["Cost", "Quadratic", "BinaryCrossEntropy", "CategoricalCrossEntropy", "get", "names"]


def _total(terms: np.ndarray, weight: np.ndarray | None) -> float:
    """Σ_x w_x (Σ_j terms_jx): the batch's summed cost, each column weighted."""
    return float(np.sum(terms)) if weight is None else float(terms.sum(axis=0) @ weight)


def _clip(a: np.ndarray) -> np.ndarray:
    # Keep log(a), log(1 − a) and 1/a finite when an output has saturated to 0 or 1:
    # a goes to [smallest normal, largest float below 1].
    info = np.finfo(a.dtype)
    return np.minimum(np.maximum(a, info.tiny), 1 - info.epsneg)  # half of np.clip's time on a batch


def _exact(z, act) -> bool:
    """Compute from z^L? Only with both z and the activation that made a from it."""
    if (z is None) != (act is None):
        raise TypeError("pass z= and act= together: the cost computes from z through the output activation")
    return z is not None


class Cost:
    """Base class: C = (1/n) Σ_x C_x with its gradient ∇_a C_x."""

    name: str = ""
    needs_probabilities: bool = False  # must a^L lie in (0, 1)?

    def fn(
        self, a: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, *, z=None, act=None
    ) -> float:
        raise NotImplementedError

    def each(self, a: np.ndarray, y: np.ndarray, *, z=None, act=None) -> np.ndarray:
        """C_x for each column, as float64; here by ``fn`` on one column at a time."""
        y = np.broadcast_to(y, a.shape)
        cols = [np.s_[:, i : i + 1] for i in range(a.shape[1])]
        if z is None:
            return np.array([self.fn(a[c], y[c]) for c in cols])
        return np.array([self.fn(a[c], y[c], z=z[c], act=act) for c in cols])

    def grad_a(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def delta(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation) -> np.ndarray:
        """δ^L = ∇_a C ⊙ σ'(z^L): BP1 in its textbook form, exact wherever a is."""
        return act.backward(z, a, self.grad_a(a, y))

    def __init_subclass__(cls, **kwargs):
        # A cost written elsewhere with fn(a, y, weight=None) still takes the z= and
        # act= the training step passes (and computes from a, as it always has).
        super().__init_subclass__(**kwargs)
        f = cls.__dict__.get("fn")
        if f is not None and "z" not in inspect.signature(f).parameters:
            cls.fn = _from_a(f)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))


def _from_a(f):
    @functools.wraps(f)
    def fn(self, a, y, weight=None, *, z=None, act=None):
        return f(self, a, y) if weight is None else f(self, a, y, weight)

    return fn


class Quadratic(Cost):
    """C_x = ½‖y − a^L‖², or ‖y − a^L‖² with ``half=False`` (seed 003's form).

    ∇_a C_x = (a − y), or 2(a − y) without the ½.
    """

    name = "quadratic"

    def __init__(self, half: bool = True):
        self.half = bool(half)

    def _scale(self) -> float:
        return 0.5 if self.half else 1.0

    def fn(self, a, y, weight=None, *, z=None, act=None):
        d = act.difference(z, a, y) if _exact(z, act) else a - y
        if weight is not None or d.shape != a.shape:
            return self._scale() * _total(d * d, weight) / a.shape[1]
        return self._scale() * float(vdot(d, d)) / a.shape[1]  # Σ(a−y)², 3× faster than np.sum((a - y) ** 2)

    def each(self, a, y, *, z=None, act=None):
        d = act.difference(z, a, y) if _exact(z, act) else a - y
        return self._scale() * np.sum(d * d, axis=0, dtype=np.float64)

    def grad_a(self, a, y):
        return a - y if self.half else 2 * (a - y)

    def delta(self, z, a, y, act):
        return self.delta_exact(z, a, y, act)

    def delta_exact(self, z, a, y, act):
        """δ^L = Jᵀ(a − y), both factors exact from z (for a sigmoid, (a − y)σ(z)σ(−z))."""
        delta = act.backward_difference(z, a, y)
        return delta if self.half else 2 * delta

    def __repr__(self):
        return "Quadratic()" if self.half else "Quadratic(half=False)"


class BinaryCrossEntropy(Cost):
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], for independent 0/1 outputs."""

    name = "binary_cross_entropy"
    needs_probabilities = True

    def _terms(self, a, y, z, act):
        if _exact(z, act):
            return -(y * act.log(z, a) + (1 - y) * act.log1m(z, a))
        a = _clip(a)
        return -(y * np.log(a) + (1 - y) * np.log1p(-a))

    def fn(self, a, y, weight=None, *, z=None, act=None):
        return _total(self._terms(a, y, z, act), weight) / a.shape[1]

    def each(self, a, y, *, z=None, act=None):
        return np.sum(self._terms(a, y, z, act), axis=0, dtype=np.float64)

    def grad_a(self, a, y):
        a = _clip(a)
        return (a - y) / (a * (1 - a))

    def delta(self, z, a, y, act):
        if isinstance(act, Sigmoid):
            # The canonical pair: ∇_a C_x = (a − y) / (a(1 − a)) and σ' = a(1 − a)
            # cancel, so δ^L = a − y. The σ' that makes saturated outputs learn
            # slowly is gone, which is why this cost is paired with a sigmoid
            # output. (difference gives a − y exactly where σ(z) has rounded to 1.)
            return act.difference(z, a, y)
        return self.delta_exact(z, a, y, act)

    def delta_exact(self, z, a, y, act):
        """δ^L = −∂/∂z Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], in log form from z."""
        return -act.backward_log(z, a, y, 1 - y)


class CategoricalCrossEntropy(Cost):
    """C_x = −Σ_j y_j ln a_j, for one-of-n targets and a softmax output."""

    name = "cross_entropy"
    needs_probabilities = True

    def _log_a(self, a, z, act):
        if _exact(z, act):
            return act.log(z, a)  # softmax: z − ln Σ e^z, exact however small a is
        return np.log(np.maximum(a, np.finfo(a.dtype).tiny))  # only ln 0 needs guarding (a ≤ 1)

    def fn(self, a, y, weight=None, *, z=None, act=None):
        # Σ y ln a is one dot product: a third of the time of the summed form on a batch of 128.
        log_a = self._log_a(a, z, act)
        if weight is None and y.shape == log_a.shape:  # (vdot would pair any two arrays of one size)
            return (0.0 - float(vdot(y, log_a))) / a.shape[1]  # 0 − s: no −0.0 for a perfect fit
        return -_total(y * log_a, weight) / a.shape[1]

    def each(self, a, y, *, z=None, act=None):
        return 0.0 - np.sum(y * self._log_a(a, z, act), axis=0, dtype=np.float64)

    def grad_a(self, a, y):
        return -y / _clip(a)

    def delta(self, z, a, y, act):
        if isinstance(act, Softmax):
            # The canonical pair: the softmax Jacobian a_k(δ_jk − a_j) applied to
            # −y/a gives a_k Σ_j y_j − y_k = a_k − y_k, because each target column
            # sums to 1. So δ^L = a − y, with no division by a: stable even when
            # a_k ≈ 0. It is the training step's, so it stays one subtraction, exact
            # but for the entry of a column whose largest a_j is near 1: a_j − 1 is
            # off by an ε or so there (0 for −Σ_{k≠j} a_k = −10⁻¹⁷ once a_j has
            # rounded to 1). ``delta_exact`` has that entry exactly too.
            return a - y
        return self.delta_exact(z, a, y, act)

    def delta_exact(self, z, a, y, act):
        """δ^L = −∂/∂z Σ_j y_j ln a_j, in log form from z (for a sigmoid, −y σ(−z))."""
        return -act.backward_log(z, a, y)


_REGISTRY = Registry(
    "cost",
    {cls.name: cls for cls in (Quadratic, BinaryCrossEntropy, CategoricalCrossEntropy)},
    {
        "mse": "quadratic",
        "bce": "binary_cross_entropy",
        "binary_crossentropy": "binary_cross_entropy",
        "ce": "cross_entropy",
        "categorical_cross_entropy": "cross_entropy",
        "categorical_crossentropy": "cross_entropy",
        "crossentropy": "cross_entropy",
    },
    Cost,
)
names, get = _REGISTRY.names, _REGISTRY.get
