"""Plots of a training run and of a trained network (matplotlib, an optional dependency).

Every function returns a ``matplotlib.figure.Figure``; ``save(fig, "x.png")``
writes it as PNG or SVG. Figures are built without pyplot, so nothing touches
matplotlib's global state or needs a display (rendering is Agg's).

    curves(history)              cost and accuracy per epoch, training and validation
    layers(history)              ‖∂C/∂W^l‖ per layer and epoch, log scale (needs monitor=True)
    saturation(history)          saturated sigmoid/tanh and dead ReLU fractions per epoch
    weights(net)                 a histogram of W^l per layer
    activations(net, X)          a histogram of a^l per layer, on X
    confusion(y_true, y_pred)    the confusion matrix
    misclassified(X, y_true, y_pred, image_shape)   a grid of wrongly classified images
    boundary(net, X, y)          the decision regions of a network with 2 inputs
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.atomic import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..network import Network
    from ..train import History

__all__ = [
    "curves",
    "layers",
    "saturation",
    "weights",
    "activations",
    "confusion",
    "misclassified",
    "boundary",
    "save",
    "to_bytes",
    "FORMATS",
]

FORMATS = ("png", "svg")


def figure(n_panels: int = 1, ncols: int = 3, panel: tuple[float, float] = (4.0, 3.0)):
    """A figure with n_panels axes in a grid; returns (fig, list of axes)."""
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n_panels))
    nrows = -(-n_panels // ncols)
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _whole_epochs(axes) -> None:
    """Epoch axes tick at whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _series(values: list) -> np.ndarray:
    """A list with None entries as a float array with NaN gaps."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def curves(history: History) -> Figure:
    """Cost per epoch (training and validation), accuracy, and the learning rate η."""
    if len(history) == 0:
        raise ValueError("the history is empty: no epoch was recorded")
    epochs = np.arange(1, len(history) + 1)
    val_cost, val_acc = _series(history.val_cost), _series(history.val_accuracy)
    train_acc = _series(history.accuracy or [None] * len(history))  # drawn when it was measured
    has_acc = bool(np.isfinite(val_acc).any() or np.isfinite(train_acc).any())
    has_eta = len(history.eta) == len(history)
    fig, axes = figure(1 + has_acc + has_eta, ncols=3, panel=(4.5, 3.2))
    ax = axes[0]
    ax.plot(epochs, history.cost, marker=".", label="training")
    if np.isfinite(val_cost).any():
        ax.plot(epochs, val_cost, marker=".", label="validation")
    ax.set(xlabel="epoch", ylabel="cost", title="Cost")
    ax.legend()
    if has_acc:
        if np.isfinite(train_acc).any():
            axes[1].plot(epochs, 100 * train_acc, marker=".", color="C0", label="training")
        if np.isfinite(val_acc).any():
            axes[1].plot(epochs, 100 * val_acc, marker=".", color="C1", label="validation")
        axes[1].set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        axes[1].legend()
    if has_eta:
        ax = axes[-1]
        ax.step(epochs, history.eta, where="post", marker=".", color="C2")
        ax.set(xlabel="epoch", ylabel=r"$\eta$", title=r"Learning rate $\eta$")
        if min(history.eta) > 0 and max(history.eta) / min(history.eta) > 10:
            ax.set_yscale("log")
    for ax in axes:
        ax.grid(alpha=0.3)
    _whole_epochs(axes)
    return fig


def _layer_series(history: History, key: str) -> tuple[np.ndarray, dict[int, tuple[str, np.ndarray]]]:
    """Epochs and, per layer, (activation name, values of ``key``) from History.layers."""
    if not history.layers:
        raise ValueError("per-layer health was not recorded: train with monitor=True (--monitor)")
    epochs = np.array([layers[0]["epoch"] for layers in history.layers])
    per_layer = {}
    for i, d in enumerate(history.layers[-1]):
        values = _series([layers[i][key] for layers in history.layers])
        per_layer[d["layer"]] = (d["activation"], values)
    return epochs, per_layer


def layers(history: History) -> Figure:
    """The speed of learning: ‖∂C/∂W^l‖ per layer and epoch, on a log scale."""
    epochs, per_layer = _layer_series(history, "grad_w_norm")
    fig, (ax,) = figure(1, panel=(7.5, 3.6))
    _whole_epochs([ax])
    positive = [g[g > 0] for _, g in per_layer.values()]
    floor = min((float(p.min()) for p in positive if p.size), default=1.0) / 10
    zeros = False
    for l, (act, g) in per_layer.items():
        line = ax.plot(epochs, np.where(g > 0, g, np.nan), marker=".", label=f"layer {l} ({act})")[0]
        at_zero = g == 0  # a log axis cannot show 0: a dead layer is drawn on the floor, marked
        if at_zero.any():
            zeros = True
            ax.plot(epochs[at_zero], np.full(at_zero.sum(), floor), "x", color=line.get_color(), ms=8)
    if zeros:
        ax.axhline(floor, color="0.5", lw=0.8, ls=":")
        ax.annotate(" × : exactly 0", (epochs[0], floor), va="bottom", fontsize="small", color="0.3")
    ax.set_yscale("log")
    ax.set(xlabel="epoch (0 = before training)", ylabel=r"$\|\partial C/\partial W^l\|$")
    ax.set_title("Speed of learning per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return fig


def saturation(history: History) -> Figure:
    """Fraction of saturated sigmoid/tanh units and of dead ReLUs, per layer and epoch."""
    epochs, sat = _layer_series(history, "saturated")
    _, dead = _layer_series(history, "dead")
    fig, (ax,) = figure(1, panel=(7.5, 3.6))
    _whole_epochs([ax])
    drawn = 0
    for i, l in enumerate(sat):
        act, s = sat[l]
        # One colour per layer; the line style says which measure it is.
        for values, what, style in ((s, "saturated", "-"), (dead[l][1], "dead", "--")):
            if np.isfinite(values).any():
                ax.plot(
                    epochs, 100 * values, style, marker=".", color=f"C{i}", label=f"layer {l} ({act}): {what}"
                )
                drawn += 1
    if not drawn:
        ax.text(0.5, 0.5, "no sigmoid, tanh or ReLU layer", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize="small")
    ax.set(xlabel="epoch (0 = before training)", ylabel="% of units", ylim=(-2, 102))
    ax.set_title("Saturated and dead units")
    ax.grid(alpha=0.3)
    return fig


def _histograms(arrays: list[np.ndarray], titles: list[str], xlabel: str) -> Figure:
    fig, axes = figure(len(arrays), ncols=3, panel=(3.6, 2.6))
    for ax, values, title in zip(axes, arrays, titles, strict=True):
        v = np.asarray(values, dtype=float).ravel()
        ax.hist(v[np.isfinite(v)], bins=50, color="C0")
        ax.set(title=title, xlabel=xlabel)
        ax.grid(alpha=0.3)
    return fig


def _pick(items: list, layers: Any) -> list[int]:
    """1-based layer numbers: all of them, or the ones asked for (checked)."""
    if layers is None:
        return list(range(1, len(items) + 1))
    layers = [layers] if isinstance(layers, (int, np.integer)) else list(layers)
    for l in layers:
        if not 1 <= l <= len(items):
            raise ValueError(f"layer {l} does not exist: layers are numbered 1 to {len(items)}")
    return layers


def weights(net: Network, layers: int | list[int] | None = None) -> Figure:
    """A histogram of the weights W^l of every layer (or of the given layers, 1-based)."""
    ls = _pick(net.W, layers)
    titles = [f"$W^{{{l}}}$ ({net.W[l].shape[0]}×{net.W[l].shape[1]})" for l in ls]
    return _histograms([net.W[l] for l in ls], titles, "weight")


def activations(net: Network, X: Any, layers: int | list[int] | None = None, limit: int = 1000) -> Figure:
    """A histogram of the activations a^l of every layer (or the given ones), on up to ``limit`` rows of X."""
    ls = _pick(net.W, layers)
    _, a = net.forward(net.check_inputs(X)[:limit])
    titles = [f"$a^{{{l}}}$ ({net.activations[l].name})" for l in ls]
    return _histograms([a[l] for l in ls], titles, "activation")


def confusion(y_true: Any, y_pred: Any, n_classes: int | None = None, classes: list | None = None) -> Figure:
    """The confusion matrix: row = true class, column = predicted class, with counts.

    ``classes`` names the classes on the axes (Fashion-MNIST's "T-shirt/top", ...).
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.intp), np.asarray(y_pred, dtype=np.intp)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be 1-D of equal length")
    k = int(n_classes or max(y_true.max(), y_pred.max()) + 1)
    counts = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    fig, (ax,) = figure(1, panel=(max(4.0, 0.45 * k + 2), max(3.6, 0.45 * k + 1.5)))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    if k <= 20:
        for i, j in np.ndindex(k, k):
            dark = counts[i, j] > counts.max() / 2
            ax.text(j, i, counts[i, j], ha="center", va="center", fontsize="small",
                    color="white" if dark else "black")  # fmt: skip
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true")
    if classes is not None and len(classes) == k:
        ax.set_xticklabels([str(c) for c in classes], rotation=45, ha="right", fontsize="small")
        ax.set_yticklabels([str(c) for c in classes], fontsize="small")
    ax.set_title(f"Confusion matrix (accuracy {100 * np.mean(y_true == y_pred):.1f}%)")
    return fig


def misclassified(
    X: Any,
    y_true: Any,
    y_pred: Any,
    image_shape: tuple[int, ...],
    limit: int = 25,
    classes: list | None = None,
) -> Figure:
    """A grid of up to ``limit`` misclassified inputs shown as images, "true → predicted".

    ``classes`` names the classes in the titles instead of their indices.
    """
    X = np.asarray(X)
    if int(np.prod(image_shape)) != X.shape[1]:
        raise ValueError(f"image_shape {tuple(image_shape)} does not hold the {X.shape[1]} input features")
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:limit]
    if wrong.size == 0:
        fig, (ax,) = figure(1, panel=(4.0, 1.5))
        ax.text(0.5, 0.5, "no misclassified examples", ha="center", va="center")
        ax.set_axis_off()
        return fig
    fig, axes = figure(wrong.size, ncols=5, panel=(1.6, 1.8))
    for ax, i in zip(axes, wrong, strict=True):
        ax.imshow(X[i].reshape(image_shape), cmap="gray_r")
        name = (lambda c: str(classes[c])) if classes else str
        big = 15 if not classes else 9  # legible on a phone too; names are longer than digits
        ax.set_title(f"{name(y_true[i])} → {name(y_pred[i])}", fontsize=big, color="C3")
        ax.set_axis_off()
    fig.suptitle("Misclassified: true → predicted", fontsize=16)
    return fig


def boundary(
    net: Network,
    X: Any,
    y: Any,
    resolution: int = 200,
    shift: Any = 0.0,
    scale: Any = 1.0,
    classes: list | None = None,
) -> Figure:
    """The class the network predicts over the plane, with the examples on top (2 inputs).

    X is in the network's units; ``shift`` and ``scale`` (X = (raw − shift) / scale,
    as a data set records them) put the axes back in the data's own units.
    ``classes`` names the classes in the legend (default: ``net.classes``, or 0, 1, ...).
    """
    if net.sizes[0] != 2:
        raise ValueError(f"a decision boundary needs a network with 2 inputs; this one has {net.sizes[0]}")
    X, y = net.check_inputs(X), np.asarray(y)
    labels = y if y.ndim == 1 else (y[:, 0] >= 0.5 if y.shape[1] == 1 else y.argmax(axis=1))
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    g0, g1 = (np.linspace(lo[i] - pad[i], hi[i] + pad[i], resolution) for i in range(2))
    G0, G1 = np.meshgrid(g0, g1)
    regions = net.predict(np.column_stack([G0.ravel(), G1.ravel()])).reshape(G0.shape)
    k = max(net.sizes[-1], 2)
    shift, scale = np.broadcast_to(shift, 2), np.broadcast_to(scale, 2)
    raw = lambda A, i: A * scale[i] + shift[i]  # noqa: E731 - the data's own units
    names = classes or net.classes or list(range(k))
    fig, (ax,) = figure(1, panel=(5.6, 4.2))
    ax.contourf(
        raw(G0, 0),
        raw(G1, 1),
        regions,
        levels=np.arange(k + 1) - 0.5,
        cmap="tab10",
        vmin=0,
        vmax=9,
        alpha=0.3,
    )
    cmap = _tab10()
    for c in np.unique(labels).astype(int):
        pts = X[labels == c]
        ax.scatter(raw(pts[:, 0], 0), raw(pts[:, 1], 1), color=cmap(c), s=12, edgecolors="k", linewidths=0.3,
                   label=str(names[c]) if c < len(names) else str(c))  # fmt: skip
    ax.legend(title="class", fontsize="small", loc="best")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision boundary (shaded: the predicted class)")
    return fig


def _tab10():
    from matplotlib import colormaps

    return colormaps["tab10"]


def to_bytes(fig: Figure, fmt: str = "png", dpi: int = 110) -> bytes:
    """The figure encoded as PNG or SVG (text glyphs as paths: no font is needed to view it)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; choose one of {', '.join(FORMATS)}")
    buf = io.BytesIO()
    # No date and no software stamp: the same figure gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    from matplotlib import rc_context

    with rc_context({"svg.hashsalt": "nablanet"}):  # SVG ids from a fixed salt, not a random one
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()


def save(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write the figure to ``path``; the format (PNG or SVG) follows the file's suffix."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot save a plot as {path.name!r}: the name must end in .png or .svg")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist")
    atomic_write(path, to_bytes(fig, fmt, dpi))
    return path
