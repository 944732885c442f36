"""Per-layer health: how fast each layer learns, and whether its units still can.

``fit(..., monitor=True)`` adds a ``Monitor``. Before training and after every
epoch it runs one forward and one backward pass (``backprop.forward`` and
``backward``) on a fixed sample of the training data and appends, per layer l,
a dict to ``History.layers``:

    grad_w_norm, grad_b_norm   ‖∂C/∂W^l‖ and ‖∂C/∂b^l‖ (Frobenius): the speed of learning
    update_ratio               ‖ΔW^l‖ / ‖W^l‖ over the epoch (None before training)
    saturated                  sigmoid/tanh: fraction of σ'(z^l) below 1% of σ'’s maximum
    dead                       ReLU: fraction of units with z^l ≤ 0 on every sample example
    activation, weight         mean, std and percentiles of a^l and of W^l

Entries hold plain floats (None where a number is not finite or does not
apply), so the history is JSON as it stands. The gradient is that of the
unregularised, unweighted cost. The monitor warns, in ``History.warnings``,
when a layer's gradient norm falls ``vanishing_ratio`` times below the next
layer's, or rises above ``exploding``; each once when it starts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from ..backprop import backward
from ..buffers import Workspace
from ..network import forward
from ..train import Callback, Run

__all__ = ["Monitor", "PERCENTILES", "summary"]

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
SATURATION = 0.01  # a unit is saturated where σ'(z) < 1% of σ'’s largest value
_PRIME_MAX = {activations.Sigmoid: 0.25, activations.Tanh: 1.0}


def _num(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def summary(values: np.ndarray) -> dict[str, Any]:
    """Mean, standard deviation and percentiles of an array, as plain floats."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": None, "std": None, "percentiles": {str(p): None for p in PERCENTILES}}
    pct = np.percentile(v, PERCENTILES)
    return {
        "mean": _num(v.mean()),
        "std": _num(v.std()),
        "percentiles": {str(p): _num(q) for p, q in zip(PERCENTILES, pct, strict=True)},
    }


def saturated_fraction(act: activations.Activation, z: np.ndarray, a: np.ndarray) -> float | None:
    """Fraction of σ'(z) values below SATURATION × max σ', for sigmoid and tanh layers."""
    top = _PRIME_MAX.get(type(act))
    if top is None:
        return None
    return float(np.mean(act.prime(z, a) < SATURATION * top))


def dead_fraction(act: activations.Activation, z: np.ndarray) -> float | None:
    """Fraction of ReLU units that are off (z ≤ 0) for every example in the batch."""
    if not isinstance(act, activations.ReLU):
        return None
    return float(np.mean((z <= 0).all(axis=1)))


class Monitor(Callback):
    """Record per-layer health on a fixed sample of (X, Y), rows = examples, Y as targets.

    Parameters
    ----------
    X, Y : arrays, shapes (n, n_0) and (n, n_L)
        Checked training data (``fit`` passes its own).
    sample : int
        Examples in the fixed sample (all of them if fewer).
    seed : int
        Which examples form the sample.
    vanishing_ratio : float
        Warn when ‖∂C/∂W^l‖ · vanishing_ratio < ‖∂C/∂W^{l+1}‖.
    exploding : float
        Warn when ‖∂C/∂W^l‖ > exploding.
    """

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        sample: int = 1000,
        seed: int = 0,
        vanishing_ratio: float = 100.0,
        exploding: float = 1e3,
    ):
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1:
            raise ValueError(f"sample must be an integer ≥ 1, got {sample!r}")
        if not vanishing_ratio > 1:
            raise ValueError(f"vanishing_ratio must be > 1, got {vanishing_ratio}")
        if not exploding > 0:
            raise ValueError(f"exploding must be > 0, got {exploding}")
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} examples but Y has {len(Y)}")
        idx = np.sort(np.random.default_rng(seed).permutation(len(X))[:sample])
        self.x = np.ascontiguousarray(X[idx].T)  # columns = examples, as the core wants
        self.y = np.ascontiguousarray(Y[idx].T)
        self.vanishing_ratio = float(vanishing_ratio)
        self.exploding = float(exploding)
        self._W_start: list[np.ndarray] = []
        self._flagged: set[tuple[str, int]] = set()  # conditions already warned about

    def on_train_begin(self, run: Run) -> None:
        self._W_start = [W.copy() for W in run.net.W]
        if run.history.layers:  # resuming: what was already warned about stays warned
            for d in run.history.layers[-1]:
                self._flagged |= {(k, d["layer"]) for k in ("vanishing", "exploding") if d.get(k)}
        elif run.epoch == 0 and run.batch == 0:
            self.record(run)  # epoch 0: the state before any training

    def on_epoch_begin(self, run: Run) -> None:
        self._W_start = [W.copy() for W in run.net.W]

    def on_epoch_end(self, run: Run) -> None:
        self.record(run)

    def record(self, run: Run) -> list[dict]:
        """Measure every layer now, append to ``run.history.layers`` and warn."""
        net = run.net
        with np.errstate(all="ignore"):  # a diverging net is measured, not stopped, here
            x, y = self.x.astype(net.dtype, copy=False), self.y.astype(net.dtype, copy=False)
            ws = Workspace(net.sizes, x.shape[1], net.dtype)
            z, a = forward(net, x, ws)
            backward(net, z, a, y, None, ws)
            nabla_b, nabla_w = ws.nabla_b, ws.nabla_w
            layers = []
            for l in range(1, net.L + 1):
                W, act = net.W[l], net.activations[l]
                layers.append(
                    {
                        "epoch": run.epoch,
                        "layer": l,
                        "activation": act.name,
                        "grad_w_norm": _num(np.linalg.norm(nabla_w[l])),
                        "grad_b_norm": _num(np.linalg.norm(nabla_b[l])),
                        "update_ratio": self._update_ratio(run, l),
                        "saturated": saturated_fraction(act, z[l], a[l]),
                        "dead": dead_fraction(act, z[l]),
                        "activation_summary": summary(a[l]),
                        "weight_summary": summary(W),
                    }
                )
        self._warn(run, layers)
        run.history.layers.append(layers)
        return layers

    def _update_ratio(self, run: Run, l: int) -> float | None:
        """‖W^l − W^l at the epoch's start‖ / ‖W^l at the start‖; None before training."""
        if run.epoch == 0 or len(self._W_start) != run.net.L:
            return None
        W0 = self._W_start[l - 1]  # a plain list of copies, W^1 first
        return _num(np.linalg.norm(run.net.W[l] - W0) / np.linalg.norm(W0))

    def _warn(self, run: Run, layers: list[dict]) -> None:
        norms = [d["grad_w_norm"] for d in layers]
        for i, d in enumerate(layers):
            l, g = d["layer"], norms[i]
            nxt = norms[i + 1] if i + 1 < len(norms) else None
            vanishing = g is not None and nxt is not None and g * self.vanishing_ratio < nxt
            exploding = g is None or g > self.exploding
            d["vanishing"], d["exploding"] = bool(vanishing), bool(exploding)
            when = f"epoch {run.epoch}" if run.epoch else "before training"
            if self._onset(("vanishing", l), vanishing):
                run.history.warnings.append(
                    f"{when}: vanishing gradient in layer {l}: ‖∂C/∂W^{l}‖ = {g:.3g} is more than "
                    f"{self.vanishing_ratio:g}× below layer {l + 1}'s ({nxt:.3g}); try another "
                    "activation (relu) or initialisation (init='scaled' or 'he')"
                )
            if self._onset(("exploding", l), exploding):
                shown = "not finite" if g is None else f"{g:.3g}"
                run.history.warnings.append(
                    f"{when}: exploding gradient in layer {l}: ‖∂C/∂W^{l}‖ = {shown} is above "
                    f"{self.exploding:g}; try a smaller learning rate eta"
                )

    def _onset(self, key: tuple[str, int], now: bool) -> bool:
        """True when a condition holds now and did not at the previous measurement."""
        was = key in self._flagged
        if now:
            self._flagged.add(key)
        else:
            self._flagged.discard(key)
        return now and not was
