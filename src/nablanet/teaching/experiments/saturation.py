r"""Experiment ``saturation``: when weights learn slowly.

BP4 in the seeds' short form is ∂C/∂w = a_in δ_out. A weight therefore learns
slowly when its input activation a_in is near 0 (a dark pixel, a dead ReLU) or
when δ_out is small, and by BP1/BP2 δ carries the factor σ'(z), which is tiny
where a sigmoid has saturated (a near 0 or 1).

During training this measures, on a fixed subset of training examples,

- per layer, the fraction of (unit, example) pairs whose sigmoid has saturated,
  σ'(z) < ``threshold``, or whose ReLU is off (z ≤ 0), and the fraction of ReLU
  units that are dead: off for every example of the subset;
- per layer, the mean |∂C_x/∂w_jk| = |a_in| |δ_out| over examples and weights,
  binned by the input activation a_in (a_in = 0 in a bin of its own).

A sigmoid network with the seeds' N(0, 1) initialisation is contrasted with a
ReLU network with He initialisation, both with the seeds' quadratic cost and
sigmoid outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...activations import ReLU, Sigmoid
from ...network import Network, as_rng, forward
from ...train import Callback
from ...training.fit import fit
from ..trace import errors
from ._common import figure, load_data, save_png, sizes_for

__all__ = ["LayerStats", "Snapshot", "Training", "SaturationResult", "run", "plot", "summary"]

N_BINS = 10


@dataclass(frozen=True)
class LayerStats:
    layer: int
    activation: str
    saturated: float | None  # sigmoid: fraction of (unit, example) pairs with σ'(z) < threshold
    off: float | None  # ReLU: fraction of (unit, example) pairs with z ≤ 0
    dead: float | None  # ReLU: fraction of units with z ≤ 0 on every example
    bin_edges: list[float]  # a_in bins: [0, 0] for a_in = 0 exactly, then N_BINS up to max a_in
    grad_by_ain: list[float | None]  # mean |∂C_x/∂w| per bin (None for an empty bin)
    bin_counts: list[int]


@dataclass(frozen=True)
class Snapshot:
    epoch: int
    cost: float
    accuracy: float
    layers: list[LayerStats]


@dataclass(frozen=True)
class Training:
    activation: str
    init: str
    eta: float
    sizes: list[int]
    snapshots: list[Snapshot]  # at initialisation, then after each epoch


@dataclass(frozen=True)
class SaturationResult:
    dataset: str
    note: str
    n_train: int
    n_probe: int
    epochs: int
    batch_size: int
    threshold: float
    seed: int
    runs: dict[str, Training]  # "sigmoid", "relu"


def _binned(a_in: np.ndarray, delta: np.ndarray) -> tuple[list, list, list]:
    """Mean over (j, k, x) of |a_k^x δ_j^x|, grouped by a_k^x: the BP4 gradient against a_in."""
    size = np.abs(delta).mean(axis=0)  # mean_j |δ_j^x|, one per example
    g = (np.abs(a_in) * size).ravel()  # |∂C_x/∂w_jk| averaged over j, for each (k, x)
    v = a_in.ravel()
    hi = float(v.max()) if v.max() > 0 else 1.0
    edges = np.linspace(0.0, hi, N_BINS + 1)
    which = np.where(v == 0, 0, 1 + np.clip(np.searchsorted(edges, v, side="left") - 1, 0, N_BINS - 1))
    counts = np.bincount(which, minlength=N_BINS + 1)
    sums = np.bincount(which, weights=g, minlength=N_BINS + 1)
    means = [float(s / c) if c else None for s, c in zip(sums, counts)]
    return [0.0, *edges.tolist()], means, counts.tolist()


def measure(
    net: Network, x: np.ndarray, y: np.ndarray, labels: np.ndarray, threshold: float, epoch: int
) -> Snapshot:
    """Saturation and gradient-by-input statistics of every layer on one fixed batch (columns)."""
    z, a = forward(net, x)
    delta = errors(net, z, a, y)
    layers = []
    for l, act in enumerate(net.activations, start=1):
        saturated = off = dead = None
        if isinstance(act, Sigmoid):
            saturated = float(np.mean(act.prime(z[l], a[l]) < threshold))
        if isinstance(act, ReLU):
            off = float(np.mean(z[l] <= 0))
            dead = float(np.mean(np.all(z[l] <= 0, axis=1)))
        edges, means, counts = _binned(a[l - 1], delta[l])
        layers.append(LayerStats(l, act.name, saturated, off, dead, edges, means, counts))
    accuracy = float(np.mean(a[-1].argmax(axis=0) == labels))
    return Snapshot(epoch, net.cost.fn(a[-1], y), accuracy, layers)


class _Probe(Callback):
    def __init__(self, *args):
        self.args = args
        self.snapshots: list[Snapshot] = []

    def on_epoch_end(self, run) -> None:
        self.snapshots.append(measure(run.net, *self.args, run.epoch))


def run(
    dataset: str = "auto",
    n_train: int = 10_000,
    n_probe: int = 1_000,
    epochs: int = 5,
    batch_size: int = 10,
    hidden: tuple[int, ...] = (30, 30),
    eta: dict[str, float] | None = None,
    threshold: float = 0.01,
    seed: int = 0,
    dtype: str = "float32",
) -> SaturationResult:
    """Train a sigmoid and a ReLU network and record saturation and gradient-by-a_in each epoch."""
    if not 0 < threshold < 0.25:
        raise ValueError(f"threshold must lie in (0, 0.25), the range of σ'; got {threshold}")
    eta = {"sigmoid": 3.0, "relu": 0.5, **(eta or {})}
    data = load_data(dataset, n_train, seed)
    if not 1 <= n_probe <= data.X.shape[0]:
        raise ValueError(
            f"n_probe must be between 1 and the {data.X.shape[0]} training examples, got {n_probe}"
        )
    idx = np.sort(as_rng(seed + 1).permutation(data.X.shape[0])[:n_probe])
    probe = (
        data.X[idx].T.astype(dtype),
        np.eye(data.n_classes, dtype=dtype)[data.y[idx]].T,
        data.y[idx],
        threshold,
    )
    runs = {}
    for act, init in (("sigmoid", "standard"), ("relu", "he")):
        net = Network(
            sizes_for(list(hidden), data), activation=act, cost="quadratic", init=init, dtype=dtype, seed=seed
        )
        rec = _Probe(*probe)
        rec.snapshots.append(measure(net, *probe, 0))
        fit(
            net,
            data.X,
            data.y,
            epochs=epochs,
            batch_size=batch_size,
            eta=eta[act],
            seed=seed,
            callbacks=[rec],
            preset="nielsen",
        )
        runs[act] = Training(act, init, eta[act], net.sizes, rec.snapshots)
    return SaturationResult(
        data.name, data.note, data.X.shape[0], n_probe, epochs, batch_size, threshold, seed, runs
    )


def summary(r: SaturationResult) -> str:
    lines = [
        f"data: {r.note}; statistics on a fixed {r.n_probe}-example subset; quadratic cost, sigmoid outputs",
        f"saturated: σ'(z) < {r.threshold}; off: z ≤ 0; dead: off on every example of the subset",
    ]
    for name, t in r.runs.items():
        lines.append(
            f"{name} hidden layers {t.sizes}, init {t.init}, SGD η = {t.eta}, mini-batch {r.batch_size}"
        )
        for s in t.snapshots:
            cells = []
            for ls in s.layers:
                if ls.saturated is not None:
                    cells.append(f"L{ls.layer} sat {ls.saturated:5.1%}")
                if ls.off is not None:
                    cells.append(f"L{ls.layer} off {ls.off:5.1%} dead {ls.dead:5.1%}")
            lines.append(f"  epoch {s.epoch:>2}  accuracy {s.accuracy:6.1%}  " + "  ".join(cells))
        first = t.snapshots[-1].layers[0]
        zero, rest = first.grad_by_ain[0], [g for g in first.grad_by_ain[1:] if g is not None]
        lines.append(
            f"  layer 1 after training: mean |∂C/∂w| is {zero:.1e} where a_in = 0, "
            f"{rest[0]:.1e} in the lowest a_in bin and {rest[-1]:.1e} in the highest"
        )
    return "\n".join(lines)


def plot(r: SaturationResult, path) -> None:
    """Saturated / dead fractions against epoch, and mean |∂C/∂w| against a_in per layer."""
    fig, axes = figure(4, ncols=2)
    sig, relu = r.runs["sigmoid"], r.runs["relu"]
    for ax, t, key, what in (
        (axes[0], sig, "saturated", "saturated sigmoid"),
        (axes[1], relu, "dead", "dead ReLU"),
    ):
        epochs = [s.epoch for s in t.snapshots]
        for l in range(len(t.snapshots[0].layers)):
            values = [getattr(s.layers[l], key) for s in t.snapshots]
            if values[0] is not None:  # a layer keeps its colour: solid dead, dashed off
                ax.plot(epochs, values, marker="o", color=f"C{l}", label=f"layer {l + 1}")
        if key == "dead":
            for l in range(len(t.snapshots[0].layers) - 1):
                off = [s.layers[l].off for s in t.snapshots]
                ax.plot(epochs, off, ls="--", color=f"C{l}", label=f"layer {l + 1} off")
        ax.set(xlabel="epoch", ylabel="fraction", title=f"{what} units ({t.init} init)", ylim=(0, 1))
        ax.legend(fontsize=7)
    for ax, t in ((axes[2], sig), (axes[3], relu)):
        for s, style in ((t.snapshots[0], "--"), (t.snapshots[-1], "-")):
            for ls in s.layers:
                centres = [0.0] + [(lo + hi) / 2 for lo, hi in zip(ls.bin_edges[1:-1], ls.bin_edges[2:])]
                keep = [(c, g) for c, g in zip(centres, ls.grad_by_ain) if g is not None and g > 0]
                if keep:
                    label = f"layer {ls.layer}, epoch {s.epoch}"
                    ax.semilogy(*zip(*keep), style, color=f"C{ls.layer - 1}", marker=".", label=label)
        ax.set(
            xlabel=r"$a_{\rm in}$ ($a_{\rm in} = 0$ gives exactly 0, off the log axis)",
            ylabel=r"mean $|\partial C/\partial w| = |a_{\rm in}\,\delta_{\rm out}|$",
            title=rf"{t.activation}: gradient against $a_{{\rm in}}$ (dashed: at init)",
        )
        ax.legend(fontsize=6)
    fig.suptitle(rf"Slow learning: $a_{{\rm in}} \approx 0$ or saturated units ({r.note})")
    save_png(fig, path)
