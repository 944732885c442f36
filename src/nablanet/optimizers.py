"""Optimizers, in order of increasing complexity: SGD, momentum, Adam.

Each one applies a gradient to the parameters in place::

    optimizer.step(params, grads)

where ``params`` and ``grads`` are lists of arrays of matching shapes. Computing
the gradient and applying it are separate steps on purpose: in data-parallel
training the gradients are summed across processes between the two.

An optimizer only says what its rule is, as ``updates(grads, t)``: the change Δw
of each parameter at step t, and its state after that step. ``step`` checks that
every Δw is finite before it keeps the state and adds the Δw, so an update that
overflows never reaches the weights or the state (``NonFiniteUpdate``).

A caller that has no further use for the gradient (the training loop, whose
gradient lives in a buffer it refills every step) passes ``overwrite_grads=True``,
and SGD then writes Δw over the gradient instead of into a new array: one array
less for the update to stream through the caches, 40 % of its time on a network
of 1.9 M parameters. (An optimizer of your own may leave ``out`` out of its
``updates``; it then makes its own arrays.) Plain SGD goes one step further:
its Δw is −η ∇C, so the training loop has backprop compute −η ∇C directly
(``gradient_scale``) and the update is only checked and added.

Any state (velocities, moments, the step count) lives in the optimizer, never in
the network, and ``state_dict``/``load_state_dict`` expose it for checkpoints.
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

from .blas import vdot
from .errors import NonFiniteUpdate

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "NonFiniteUpdate", "prescale", "get", "names"]


class Optimizer:
    """The interface: ``step`` updates params in place; the state is saved and restored."""

    name: str = ""
    _slots: tuple[str, ...] = ()  # names of the per-parameter state lists

    def __init__(self, eta: float):
        if not np.isfinite(eta) or eta <= 0:
            raise ValueError(f"the learning rate eta must be a positive number, got {eta}")
        self.eta = float(eta)
        self.t = 0  # number of steps taken

    def updates(
        self, grads: list[np.ndarray], t: int, out: list[np.ndarray] | None = None
    ) -> tuple[list[np.ndarray], dict]:
        """Δw for each parameter at step t, and the state after it: {slot: arrays}.

        ``out``, if given, are arrays shaped like ``grads`` that the Δw may be
        written into (an optimizer whose state is its Δw, like momentum's v,
        makes its own).
        """
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        f = cls.__dict__.get("updates")
        if f is not None and "out" not in inspect.signature(f).parameters:
            cls.updates = _ignoring_out(f)  # an optimizer written as updates(grads, t)

    def gradient_scale(self) -> float | None:
        """c, if every update is the gradient times one number (Δw = c ∇C); else None.

        Plain SGD's is −η. The training step then has backpropagation compute c ∇C
        in the first place (BP2–BP4 are linear in δ^L, so scaling δ^L scales every
        gradient) and calls ``step(..., prescaled=True)``: the gradient buffer
        already holds Δw, and the update is one pass over the parameters shorter.
        (See ``prescale``: an optimizer that overrides ``step`` is handed ∇C.)
        """
        return None

    def step(
        self,
        params: list[np.ndarray],
        grads: list[np.ndarray],
        *,
        overwrite_grads: bool = False,
        prescaled: bool = False,
    ) -> None:
        """w → w + Δw for every parameter, unless some Δw is not finite.

        The new state is kept, and t advanced, only once every Δw is known to be
        finite: after a NonFiniteUpdate the optimizer is as it was, ready for a
        smaller η. With ``overwrite_grads`` the grads' arrays may be used for Δw,
        so they hold no gradient afterwards. With ``prescaled`` the grads are
        ``gradient_scale()`` × ∇C, which is Δw: they are checked and added as they are.
        """
        if prescaled:
            if self.gradient_scale() is None:
                raise ValueError(
                    f"prescaled=True, but {type(self).__name__}'s update is not a multiple of the gradient"
                )
            deltas, state = grads, {}
        else:
            deltas, state = self.updates(grads, self.t + 1, grads if overwrite_grads else None)
        # ‖Δw‖² is NaN or inf if any entry is; a BLAS dot is 3× faster than a sum. It
        # also overflows for a huge but finite update, so confirm entry by entry then.
        # (A loop, not sum() over a generator: this runs on every training step.)
        norm2 = 0.0
        for d in deltas:
            norm2 += float(vdot(d, d))
        if not math.isfinite(norm2) and not all(np.isfinite(d).all() for d in deltas):
            raise NonFiniteUpdate(f"{type(self).__name__} produced a NaN or inf update at step {self.t + 1}")
        self.t += 1
        for slot, arrays in state.items():
            setattr(self, slot, arrays)
        for p, d in zip(params, deltas):
            p += d

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

    def gradient_scale(self) -> float | None:
        # −η, unless a subclass has a rule of its own.
        return -self.eta if type(self).updates is SGD.updates else None

    def updates(self, grads, t, out=None):
        if out is None:
            return [-self.eta * g for g in grads], {}
        return [np.multiply(g, -self.eta, out=o) for g, o in zip(grads, out)], {}


class Momentum(Optimizer):
    """Gradient descent with a velocity.  v → μv − η ∇C,  w → w + v."""

    name = "momentum"
    _slots = ("v",)

    def __init__(self, eta: float, mu: float = 0.9):
        super().__init__(eta)
        if not 0 <= mu < 1:
            raise ValueError(f"momentum mu must be in [0, 1), got {mu}")
        self.mu = float(mu)

    def updates(self, grads, t, out=None):
        v = [self.mu * v - self.eta * g for g, v in zip(grads, self._state("v", grads))]
        return v, {"v": v}


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
        if not 0 < eps < 1:
            raise ValueError(f"Adam eps must be in (0, 1), got {eps}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def updates(self, grads, t, out=None):
        b1, b2 = self.beta1, self.beta2
        m = [b1 * m + (1 - b1) * g for g, m in zip(grads, self._state("m", grads))]
        s = [b2 * s + (1 - b2) * g * g for g, s in zip(grads, self._state("s", grads))]
        # Fold both bias corrections into one step size instead of forming m̂ and ŝ.
        eta_t = self.eta * np.sqrt(1 - b2**t) / (1 - b1**t)
        eps_t = self.eps * np.sqrt(1 - b2**t)
        return [-eta_t * m_ / (np.sqrt(s_) + eps_t) for m_, s_ in zip(m, s)], {"m": m, "s": s}


def prescale(optimizer: Optimizer) -> float | None:
    """The c a training step may fold into δ^L for ``optimizer``, or None.

    Its ``gradient_scale()``, as long as its ``step`` is ``Optimizer.step``, which
    takes ``prescaled=True``. A step of one's own, on a subclass or on the
    instance, is handed ∇C, as its signature expects.
    """
    if getattr(optimizer.step, "__func__", None) is not Optimizer.step:
        return None
    return optimizer.gradient_scale()


def _ignoring_out(f):
    """Wrap a subclass's ``updates(grads, t)`` so that it accepts (and ignores) ``out``."""

    @functools.wraps(f)
    def updates(self, grads, t, out=None):
        return f(self, grads, t)

    return updates


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
