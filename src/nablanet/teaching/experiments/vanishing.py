r"""Experiment ``vanishing``: different layers learn at different speeds.

By BP3, ∂C/∂b^l = δ^l, so ‖∂C/∂b^l‖ is how fast layer l's biases learn. BP2
builds each δ^l from δ^{l+1} through (W^{l+1})ᵀ and a factor σ'(z^l) ≤ ¼ for the
sigmoid, so with N(0, 1/n_in) weights the error shrinks as it travels back: the
early hidden layers learn much more slowly than the late ones (a vanishing
gradient). ReLU with He initialisation keeps the factor near 1. Large initial
weights make the product grow instead, and the gradient explodes.

For each network the gradient of the mean cost over a fixed subset of training
examples (1,000 by default) is computed with the core's ``backprop`` at
initialisation and after every epoch of SGD, and ‖∂C/∂b^l‖ is recorded for each
hidden layer l.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...backprop import backprop
from ...initializers import he
from ...network import Network, as_rng
from ...train import Callback
from ...training.fit import fit
from ._common import Data, figure, load_data, save_png, sizes_for

__all__ = ["Series", "VanishingResult", "run", "plot", "summary", "DEPTHS"]

DEPTHS = ([30], [30, 30], [30, 30, 30], [30, 30, 30, 30])  # hidden layers of the seeds' four networks
EXPLODING_GAIN = 4.0


@dataclass(frozen=True)
class Series:
    """One network: ‖∂C/∂b^l‖ per hidden layer, at init (row 0) and after each epoch."""

    label: str
    sizes: list[int]
    activation: str
    init: str
    norms: list[list[float]]  # norms[epoch][l − 1] for hidden layers l = 1..L−1
    cost: list[float]  # mean training cost per epoch (empty when not trained)


@dataclass(frozen=True)
class VanishingResult:
    dataset: str
    note: str
    n_train: int
    n_probe: int
    epochs: int
    eta: float
    batch_size: int
    seed: int
    sigmoid: list[Series]
    relu: list[Series]
    exploding: Series


def _norms(net: Network, x: np.ndarray, y: np.ndarray) -> list[float]:
    nabla_b, _ = backprop(net, x, y)
    return [float(np.linalg.norm(nabla_b[l])) for l in range(1, net.L)]  # hidden layers only


class _Probe(Callback):
    def __init__(self, x, y):
        self.x, self.y = x, y
        self.norms: list[list[float]] = []

    def on_epoch_end(self, run) -> None:
        self.norms.append(_norms(run.net, self.x, self.y))


def _train(label, net, data, probe, epochs, eta, batch_size, seed) -> Series:
    rec = _Probe(*probe)
    rec.norms.append(_norms(net, *probe))
    history = fit(
        net,
        data.X,
        data.y,
        epochs=epochs,
        batch_size=batch_size,
        eta=eta,
        seed=seed,
        callbacks=[rec],
        preset="nielsen",
    )
    return Series(label, net.sizes, net.activations[1].name, net.init, rec.norms, history.cost)


def _large(n_out: int, n_in: int, rng: np.random.Generator):
    """He weights times a gain of 4: each layer multiplies the backpropagated error by about 4."""
    W, b = he(n_out, n_in, rng)
    return EXPLODING_GAIN * W, b


def run(
    dataset: str = "auto",
    n_train: int = 10_000,
    n_probe: int = 1_000,
    epochs: int = 5,
    eta: float = 0.1,
    batch_size: int = 10,
    seed: int = 0,
    depths: tuple[list[int], ...] = DEPTHS,
    dtype: str = "float32",
) -> VanishingResult:
    """Train the four sigmoid networks and their ReLU + He twins; measure the exploding one at init."""
    data = load_data(dataset, n_train, seed)
    if not 1 <= n_probe <= data.X.shape[0]:
        raise ValueError(
            f"n_probe must be between 1 and the {data.X.shape[0]} training examples, got {n_probe}"
        )
    idx = np.sort(as_rng(seed + 1).permutation(data.X.shape[0])[:n_probe])  # the fixed probe subset
    Y = np.eye(data.n_classes, dtype=dtype)[data.y[idx]]
    probe = (data.X[idx].T.astype(dtype), Y.T)
    runs: dict[str, list[Series]] = {"sigmoid": [], "relu": []}
    for hidden in depths:
        for act, init in (("sigmoid", "scaled"), ("relu", "he")):
            net = _net(data, hidden, act, init, dtype, seed)
            label = f"{net.sizes} {act}"
            runs[act].append(_train(label, net, data, probe, epochs, eta, batch_size, seed))
    net = _net(data, depths[-1], "relu", _large, dtype, seed)
    exploding = Series(
        f"{net.sizes} relu, He×{EXPLODING_GAIN:g}", net.sizes, "relu", net.init, [_norms(net, *probe)], []
    )
    return VanishingResult(
        data.name,
        data.note,
        data.X.shape[0],
        n_probe,
        epochs,
        eta,
        batch_size,
        seed,
        runs["sigmoid"],
        runs["relu"],
        exploding,
    )


def _net(data: Data, hidden, act, init, dtype, seed) -> Network:
    # Sigmoid outputs with cross-entropy, as in the seeds' improved network: δ^L = a − y does
    # not saturate, so whatever shrinks in the hidden layers is BP2's doing, not BP1's.
    return Network(
        sizes_for(hidden, data),
        activation=act,
        cost="binary_cross_entropy",
        init=init,
        dtype=dtype,
        seed=seed,
        preset="nielsen",
    )


def summary(r: VanishingResult) -> str:
    lines = [
        f"data: {r.note}; ‖∂C/∂b^l‖ of the mean gradient over a fixed {r.n_probe}-example subset",
        f"SGD η = {r.eta}, mini-batch {r.batch_size}, {r.epochs} epochs, "
        f"binary cross-entropy, sigmoid outputs, seed {r.seed}",
        "at initialisation (hidden layer 1 first):",
    ]
    for s in [*r.sigmoid, *r.relu, r.exploding]:
        lines.append(f"  {s.label:<44} " + "  ".join(f"{v:.2e}" for v in s.norms[0]))
    lines.append(f"after {r.epochs} epochs:")
    for s in [*r.sigmoid, *r.relu]:
        lines.append(f"  {s.label:<44} " + "  ".join(f"{v:.2e}" for v in s.norms[-1]))
    deep = r.sigmoid[-1].norms[0]
    lines.append(
        f"deepest sigmoid network: hidden layer 1 learns {deep[-1] / deep[0]:.0f}× more slowly than layer "
        f"{len(deep)} at initialisation; the exploding network's layer 1 gradient is "
        f"{r.exploding.norms[0][0] / r.exploding.norms[0][-1]:.0f}× its last hidden layer's"
    )
    return "\n".join(lines)


def plot(r: VanishingResult, path) -> None:
    """‖∂C/∂b^l‖ against epoch on a log scale, one panel per network; plus the profile at init."""
    n = len(r.sigmoid)
    fig, axes = figure(2 * n + 1, ncols=n)
    for ax, s in zip(axes, [*r.sigmoid, *r.relu]):
        norms = np.array(s.norms)
        for l in range(norms.shape[1]):
            ax.semilogy(
                np.arange(norms.shape[0]), norms[:, l], marker="o", ms=3, label=f"hidden layer {l + 1}"
            )
        ax.set(title=s.label, xlabel="epoch", ylabel=r"$\|\partial C/\partial b^l\|$")
        ax.legend(fontsize=7)
    ax = axes[-1]
    for s in [r.sigmoid[-1], r.relu[-1], r.exploding]:
        ax.semilogy(np.arange(1, len(s.norms[0]) + 1), s.norms[0], marker="o", label=s.label)
    ax.set(
        title="at initialisation: speed of learning per layer",
        xlabel="hidden layer $l$",
        ylabel=r"$\|\partial C/\partial b^l\|$",
    )
    ax.set_xticks(range(1, len(r.exploding.norms[0]) + 1))
    ax.legend(fontsize=7)
    fig.suptitle(f"Speed of learning per layer ({r.note})")
    save_png(fig, path)
