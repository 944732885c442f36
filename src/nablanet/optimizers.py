"""Optimizers, in order of increasing complexity: SGD, momentum, Adam.

Each one applies a gradient to the parameters in place::

    optimizer.step(params, grads)

where ``params`` and ``grads`` are lists of arrays of matching shapes. Computing
the gradient and applying it are separate steps on purpose: in data-parallel
training the gradients are summed across processes between the two.

An optimizer only says what its rule is, as ``updates(grads)``: the change Δw of
each parameter. ``step`` checks that every Δw is finite before it adds them, so
an update that overflows never reaches the weights (``NonFiniteUpdate``).

Any state (velocities, moments, the step count) lives in the optimizer, never in
the network, and ``state_dict``/``load_state_dict`` expose it for checkpoints.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "NonFiniteUpdate", "get", "names"]


class NonFiniteUpdate(FloatingPointError):
    """An update Δw was NaN or inf; the parameters were left unchanged."""


class Optimizer:
    """The interface: ``step`` updates params in place; the state is saved and restored."""

    name: str = ""
    _slots: tuple[str, ...] = ()  # names of the per-parameter state lists

    def __init__(self, eta: float):
        if not np.isfinite(eta) or eta <= 0:
            raise ValueError(f"the learning rate eta must be a positive number, got {eta}")
        self.eta = float(eta)
        self.t = 0  # number of steps taken

    def updates(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """The change Δw of each parameter under this rule (it may advance the state)."""
        raise NotImplementedError

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """w → w + Δw for every parameter, unless some Δw is not finite."""
        self.t += 1
        deltas = self.updates(grads)
        # ‖Δw‖² is NaN or inf if any entry is; a BLAS dot is 3× faster than a sum. It
        # also overflows for a huge but finite update, so confirm entry by entry then.
        if not np.isfinite(sum(float(np.vdot(d, d)) for d in deltas)) and not all(
            np.isfinite(d).all() for d in deltas
        ):
            raise NonFiniteUpdate(f"{type(self).__name__} produced a NaN or inf update at step {self.t}")
        for p, d in zip(params, deltas):
            p += d

    def _state(self, slot: str, grads: list[np.ndarray]) -> list[np.ndarray]:
        if not hasattr(self, slot):
            setattr(self, slot, [np.zeros_like(g) for g in grads])
        return getattr(self, slot)

    def state_dict(self) -> dict:
        """Hyperparameters, step count and per-parameter arrays, for a checkpoint."""
        state = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {k: (list(v) if k in self._slots else v) for k, v in state.items()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        for k, v in state.items():
            setattr(self, k, [np.array(x) for x in v] if k in self._slots else v)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if isinstance(v, float))
        return f"{type(self).__name__}({hyper})"


class SGD(Optimizer):
    """Plain gradient descent.  w → w − η ∇C."""

    name = "sgd"

    def updates(self, grads):
        return [-self.eta * g for g in grads]


class Momentum(Optimizer):
    """Gradient descent with a velocity.  v → μv − η ∇C,  w → w + v."""

    name = "momentum"
    _slots = ("v",)

    def __init__(self, eta: float, mu: float = 0.9):
        super().__init__(eta)
        if not 0 <= mu < 1:
            raise ValueError(f"momentum mu must be in [0, 1), got {mu}")
        self.mu = float(mu)

    def updates(self, grads):
        velocities = self._state("v", grads)
        for g, v in zip(grads, velocities):
            v *= self.mu
            v -= self.eta * g
        return velocities


class Adam(Optimizer):
    """Adaptive moments (Kingma & Ba, 2015).

    m → β₁m + (1 − β₁)∇C,  s → β₂s + (1 − β₂)∇C²,
    w → w − η m̂ / (√ŝ + ε),  with m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ).
    """

    name = "adam"
    _slots = ("m", "s")

    def __init__(self, eta: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(eta)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"Adam {label} must be in [0, 1), got {beta}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def updates(self, grads):
        # Fold both bias corrections into one step size instead of forming m̂ and ŝ.
        eta_t = self.eta * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        eps_t = self.eps * np.sqrt(1 - self.beta2**self.t)
        deltas = []
        for g, m, s in zip(grads, self._state("m", grads), self._state("s", grads)):
            m *= self.beta1
            m += (1 - self.beta1) * g
            s *= self.beta2
            s += (1 - self.beta2) * g * g
            deltas.append(-eta_t * m / (np.sqrt(s) + eps_t))
        return deltas


_REGISTRY: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Momentum, Adam)}


def names() -> list[str]:
    """The names ``get`` accepts."""
    return sorted(_REGISTRY)


def get(spec: str | Optimizer, **hyper: float) -> Optimizer:
    """An optimizer from its name and hyperparameters (or the object itself)."""
    if isinstance(spec, Optimizer):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"an optimizer must be a name or an Optimizer, got {type(spec).__name__}")
    if spec.lower() not in _REGISTRY:
        raise ValueError(f"unknown optimizer {spec!r}; choose one of {', '.join(names())}")
    return _REGISTRY[spec.lower()](**hyper)
