"""Optimizers, in order of increasing complexity: SGD, momentum, Adam.

Each one applies a gradient to the parameters in place::

    optimizer.step(params, grads)

where ``params`` and ``grads`` are lists of arrays of matching shapes (the
training loop passes one of each: the network's flat buffer and its gradient).
Computing the gradient and applying it are separate steps on purpose: in
data-parallel training the gradients are summed across processes between the two.

An optimizer only says what its rule is, as ``updates(grads, t)``: a step size
κ and arrays u with Δw = κ·u for each parameter at step t, and its state after that
step. ``step`` checks that every Δw, and every w + Δw, is finite before it keeps
the state and adds κ·u to w in place, so an update that
overflows never reaches the weights or the state (``NonFiniteUpdate``), and
plain SGD's update w − η∇C reads the gradient once.

Any state (velocities, moments, the step count) lives in the optimizer, never in
the network, and ``state_dict``/``load_state_dict`` expose it for checkpoints.
"""

from __future__ import annotations

import math

import numpy as np

from .blas import axpy, vdot
from .errors import NonFiniteUpdate
from .registry import Registry

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "NonFiniteUpdate", "get", "names"]


class Optimizer:
    """The interface: ``step`` updates params in place; the state is saved and restored."""

    name: str = ""
    _slots: tuple[str, ...] = ()  # names of the per-parameter state lists
    _renamed: dict[str, str] = {}  # slot names of earlier versions, for old checkpoints

    def __init__(self, eta: float):
        self.eta = _positive(eta, "the learning rate eta")
        self.t = 0  # number of steps taken

    def updates(self, grads: list[np.ndarray], t: int) -> tuple[float, list[np.ndarray], dict]:
        """(kappa, u, state): the update at step t is Δw = κ·u; state is {slot: arrays} after it."""
        raise NotImplementedError

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """w → w + Δw for every parameter, unless some Δw or w + Δw is not finite.

        The new state is kept, and t advanced, only once every Δw and every new
        weight is known to be finite: after a NonFiniteUpdate the parameters and
        the optimizer are as they were, ready for a smaller η.
        """
        kappa, u, state = self.updates(grads, self.t + 1)
        # ‖Δw‖² is NaN or inf if any entry is: one BLAS pass, no boolean array.
        norm2 = 0.0
        for u_ in u:
            norm2 += float(vdot(u_, u_))
        # A finite weight w can overflow in w + Δw only if |Δw| is at least half
        # the gap between the two largest floats, far above √max. So while ‖Δw‖
        # stays below √max no sum can overflow, and w += κu is done in place;
        # beyond it every sum is computed, checked, and that checked sum written.
        if math.isfinite(norm2) and abs(kappa) * math.sqrt(norm2) < _SAFE.get(params[0].dtype, 0.0):
            sums = None
        else:
            sums = self._checked_sums(params, kappa, u)
        self.t += 1
        for slot, arrays in state.items():
            setattr(self, slot, arrays)
        if sums is None:
            for p, u_, scratch in zip(params, u, self._scratch(u)):
                axpy(kappa, u_, p, scratch)
        else:
            for p, new in zip(params, sums):
                p[...] = new

    def _scratch(self, u: list[np.ndarray]) -> list[np.ndarray]:
        """Arrays for κu, made once: an update allocates nothing."""
        kept = getattr(self, "_scratch_arrays", None)
        if kept is None or [k.shape for k in kept] != [a.shape for a in u] or kept[0].dtype != u[0].dtype:
            kept = self._scratch_arrays = [np.empty_like(a) for a in u]
        return kept

    def _checked_sums(self, params: list[np.ndarray], kappa: float, u: list[np.ndarray]) -> list[np.ndarray]:
        sums = []
        with np.errstate(over="ignore", invalid="ignore"):
            for p, u_ in zip(params, u):
                d = kappa * u_
                if not np.isfinite(d).all():
                    raise NonFiniteUpdate(
                        f"{type(self).__name__} produced a NaN or inf update at step {self.t + 1}"
                    )
                sums.append(p + d)
                if not np.isfinite(sums[-1]).all():
                    raise NonFiniteUpdate(
                        f"{type(self).__name__}'s update at step {self.t + 1} would make a weight overflow"
                    )
        return sums

    def _state(self, slot: str, grads: list[np.ndarray]) -> list[np.ndarray]:
        """The slot's arrays, zeros before the first step."""
        arrays = getattr(self, slot, None)
        if arrays is None:
            return [np.zeros_like(g) for g in grads]
        if [a.shape for a in arrays] != [g.shape for g in grads]:
            raise ValueError(
                f"this {type(self).__name__} was used with parameters of shapes "
                f"{[a.shape for a in arrays]}, not {[g.shape for g in grads]}: "
                "use a new optimizer for another network"
            )
        return arrays

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "_scratch_arrays"}  # rebuilt on use

    def state_dict(self) -> dict:
        """Hyperparameters, step count and per-parameter arrays, for a checkpoint."""
        state = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {k: (list(v) if k in self._slots else v) for k, v in state.items()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (slots saved under older names too)."""
        for k, v in state.items():
            k = self._renamed.get(k, k)
            setattr(self, k, [np.array(x) for x in v] if k in self._slots else v)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if isinstance(v, float) and k[0] != "_")
        return f"{type(self).__name__}({hyper})"


class SGD(Optimizer):
    """Plain gradient descent.  w → w − η ∇C."""

    name = "sgd"

    def updates(self, grads, t):
        return -self.eta, grads, {}  # Δw = −η ∇C: the gradient itself, κ = −η


class Momentum(Optimizer):
    """Gradient descent with a velocity.  v → μv − η ∇C,  w → w + v."""

    name = "momentum"
    _slots = ("v",)

    def __init__(self, eta: float, mu: float = 0.9):
        super().__init__(eta)
        self.mu = _fraction(mu, "momentum mu")

    def updates(self, grads, t):
        v = [self.mu * v - self.eta * g for g, v in zip(grads, self._state("v", grads))]
        return 1.0, v, {"v": v}


class Adam(Optimizer):
    """Adaptive moments (Kingma & Ba, 2015).

    μ → β₁μ + (1 − β₁)∇C,  ν → β₂ν + (1 − β₂)∇C²   (``mean``, ``mean_sq``),
    w → w − η μ̂ / (√ν̂ + ε),  with μ̂ = μ/(1 − β₁ᵗ), ν̂ = ν/(1 − β₂ᵗ).
    """

    name = "adam"
    _slots = ("mean", "mean_sq")  # the moving averages of ∇C and ∇C², the paper's m and v
    _renamed = {"m": "mean", "s": "mean_sq"}

    def __init__(self, eta: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(eta)
        self.beta1, self.beta2 = _fraction(beta1, "Adam beta1"), _fraction(beta2, "Adam beta2")
        self.eps = _positive(eps, "Adam eps")
        if not self.eps < 1:
            raise ValueError(f"Adam eps must be in (0, 1), got {eps!r}")

    def updates(self, grads, t):
        b1, b2 = self.beta1, self.beta2
        mean = [b1 * m_ + (1 - b1) * g for g, m_ in zip(grads, self._state("mean", grads))]
        mean_sq = [b2 * s_ + (1 - b2) * g * g for g, s_ in zip(grads, self._state("mean_sq", grads))]
        # Fold both bias corrections into one step size instead of forming m̂ and ŝ.
        eta_t = self.eta * math.sqrt(1 - b2**t) / (1 - b1**t)
        eps_t = self.eps * math.sqrt(1 - b2**t)
        u = [m_ / (np.sqrt(s_) + eps_t) for m_, s_ in zip(mean, mean_sq)]
        return -eta_t, u, {"mean": mean, "mean_sq": mean_sq}


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _positive(value, what: str) -> float:
    """A finite number > 0, or a clear error."""
    x = _number(value, what)
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return x


def _fraction(value, what: str) -> float:
    """A number in [0, 1), or a clear error."""
    x = _number(value, what)
    if not 0 <= x < 1:
        raise ValueError(f"{what} must be in [0, 1), got {value!r}")
    return x


_SAFE = {np.dtype(t): float(np.sqrt(np.finfo(t).max)) for t in (np.float32, np.float64)}

_REGISTRY = Registry("optimizer", {cls.name: cls for cls in (SGD, Momentum, Adam)}, base=Optimizer)
names, get = _REGISTRY.names, _REGISTRY.get
