r"""Experiment ``costs``: a saturated neuron learns slowly under the quadratic cost, fast under cross-entropy.

One sigmoid neuron, input x = 1, target y = 0, started badly wrong and saturated
(w = b = 2, so z = 4 and a = σ(4) ≈ 0.98). BP1 says

    quadratic:      δ = (a − y) σ'(z)      σ'(4) ≈ 0.018, so δ is tiny and learning crawls
    cross-entropy:  δ = a − y              σ'(z) cancels: the worse the output, the faster it learns

and BP3/BP4 give ∂C/∂b = δ and ∂C/∂w = x δ. Both neurons are trained with the
core's ``fit`` (plain SGD, η = 0.15, one example per step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...backprop import backprop
from ...network import Network, forward
from ...train import Callback
from ...training.fit import fit
from ._common import figure, save_png

__all__ = ["Curve", "CostsResult", "run", "plot", "summary"]

COSTS = {"quadratic": "quadratic", "cross-entropy": "binary_cross_entropy"}


@dataclass(frozen=True)
class Curve:
    """One neuron's training, per epoch (entry 0 is before any step)."""

    cost_name: str
    cost: list[float]  # the cost it is trained on
    output: list[float]  # a = σ(wx + b)
    sigma_prime: list[float]  # σ'(z)
    delta: list[float]  # δ = ∂C/∂b (BP1, BP3)
    w: list[float]
    b: list[float]

    def epochs_to(self, output_below: float) -> int | None:
        """The first epoch at which the output has fallen below a level, or None."""
        hits = np.flatnonzero(np.asarray(self.output) < output_below)
        return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class CostsResult:
    w0: float
    b0: float
    x: float
    y: float
    eta: float
    epochs: int
    curves: dict[str, Curve]  # "quadratic", "cross-entropy"


class _Record(Callback):
    def __init__(self, x, y):
        self.x, self.y = x, y
        self.rows: list[tuple] = []

    def measure(self, net: Network) -> None:
        z, a = forward(net, self.x)
        nabla_b, _ = backprop(net, self.x, self.y)
        sp = net.activations[-1].prime(z[-1], a[-1])
        cost = net.cost.fn(a[-1], self.y)
        self.rows.append((cost, a[-1].item(), sp.item(), nabla_b[1].item(), net.W[1].item(), net.b[1].item()))

    def on_epoch_end(self, run) -> None:
        self.measure(run.net)


def run(
    w0: float = 2.0,
    b0: float = 2.0,
    x: float = 1.0,
    y: float = 0.0,
    eta: float = 0.15,
    epochs: int = 300,
    seed: int = 0,
) -> CostsResult:
    """Train the same saturated neuron under each cost; record every epoch.

    Nothing here is random (one example, fixed start); ``seed`` feeds ``fit``'s shuffle for uniformity.
    """
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be an integer ≥ 1, got {epochs!r}")
    if not 0 <= y <= 1:
        raise ValueError(f"the target y must be in [0, 1] for a sigmoid neuron, got {y}")
    X, Y = np.array([[x]]), np.array([[y]])
    curves = {}
    for label, cost in COSTS.items():
        net = Network([1, 1], activation=[], output="sigmoid", cost=cost, dtype="float64", init="zeros")
        net.W[1] = [[w0]]
        net.b[1] = [b0]
        rec = _Record(X.T, Y.T)
        rec.measure(net)
        fit(net, X, Y, epochs=epochs, batch_size=1, eta=eta, seed=seed, callbacks=[rec], preset="nielsen")
        cols = [list(c) for c in zip(*rec.rows)]
        curves[label] = Curve(net.cost.name, *cols)
    return CostsResult(w0, b0, x, y, eta, epochs, curves)


def summary(r: CostsResult) -> str:
    q, ce = r.curves["quadratic"], r.curves["cross-entropy"]
    lines = [
        f"one sigmoid neuron, x = {r.x}, y = {r.y}, started at w = {r.w0}, b = {r.b0} "
        f"(a = {q.output[0]:.4f}, σ'(z) = {q.sigma_prime[0]:.4f}); SGD η = {r.eta}, {r.epochs} epochs",
        f"{'':16}{'δ at start':>12}{'a after 1/10/100/all epochs':>42}{'epochs to a < 0.1':>20}",
    ]
    for label, c in r.curves.items():
        marks = [c.output[min(e, r.epochs)] for e in (1, 10, 100, r.epochs)]
        reach = c.epochs_to(0.1)
        lines.append(
            f"{label:<16}{c.delta[0]:>12.4f}{'  '.join(f'{m:.4f}' for m in marks):>42}"
            f"{'never' if reach is None else reach:>20}"
        )
    lines.append(
        "BP1: the quadratic cost's δ = (a − y)·σ'(z) carries σ'(z) ≈ "
        f"{q.sigma_prime[0]:.3f}; cross-entropy's δ = a − y does not, so it starts "
        f"{abs(ce.delta[0] / q.delta[0]):.0f}× faster."
    )
    return "\n".join(lines)


def plot(r: CostsResult, path) -> None:
    """Cost and output against epoch, for both costs."""
    fig, (ax1, ax2) = figure(2)
    for label, c in r.curves.items():
        epochs = np.arange(len(c.cost))
        ax1.plot(epochs, c.cost, label=f"{label} cost")
        ax2.plot(epochs, c.output, label=label)
    ax1.set(xlabel="epoch", ylabel="cost", title="Cost (each neuron's own)")
    ax2.set(xlabel="epoch", ylabel="output a", title=f"Output (target y = {r.y})")
    for ax in (ax1, ax2):
        ax.legend()
    save_png(fig, path)
