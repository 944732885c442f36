r"""Backpropagation: the gradient of the cost from one forward and one backward pass.

Layer 0 is the input and layer L the output; W^l, of shape (n_l, n_{l−1}),
connects layer l−1 to layer l, and every list here is indexed by the layer, so
``W[l]`` is W^l (see ``nablanet.network``). A mini-batch of m examples is a
matrix whose columns are the examples, and each equation holds column by column:

    z^l = W^l a^{l−1} + b^l,   a^l = σ(z^l)           feedforward (25), (23)
    δ^L = ∇_a C ⊙ σ'(z^L)                             (BP1)
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)              (BP2)
    ∂C/∂b^l = δ^l 1        (the sum over the batch's columns)      (BP3)
    ∂C/∂W^l = δ^l (a^{l−1})ᵀ  (the product sums over the examples)  (BP4)

The cost of a batch is the mean C = (1/m) Σ_x C_x, so the gradient is the mean
of the examples' gradients. The 1/m (and each example's sample weight) is folded
into δ^L's columns once: BP2 carries it down, and BP3 and BP4 are bare sums.

``backprop`` is the gradient of a batch, below it ``backprop_single`` follows
the seeds' five steps for one example, line by line, and ``backprop_reference``
averages that over a batch (the tests prove the two agree). The feedforward is
``nablanet.network.forward``, the one forward loop of the library; the arrays
both passes write into come from a ``Workspace`` (``nablanet.buffers``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .blas import dot
from .buffers import Workspace
from .network import Layers, forward

if TYPE_CHECKING:
    from .network import Network

__all__ = [
    "backprop",
    "gradient",
    "backward",
    "backprop_single",
    "backprop_reference",
    "forward",
    "Workspace",
]

Gradient = tuple[Layers[np.ndarray], Layers[np.ndarray]]  # (nabla_b, nabla_w), indexed by layer


def backprop(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    keep: list | None = None,
) -> Gradient:
    """∂C/∂b^l and ∂C/∂W^l of the mean cost over a mini-batch (columns = examples).

    Parameters
    ----------
    net : Network
    x : ndarray, shape (n_0, m)
        The inputs, one column per example.
    y : ndarray, shape (n_L, m)
        The targets, one column per example.
    sample_weight : ndarray, shape (m,), optional
        Each example's weight in the mean; without it every example counts once.
    keep : list, optional
        Dropout masks r^l indexed by layer (``nablanet.train.dropout_masks``).

    Returns
    -------
    nabla_b, nabla_w : Layers of ndarray
        ``nabla_b[l]`` is ∂C/∂b^l and ``nabla_w[l]`` is ∂C/∂W^l, for l = 1..L.
    """
    x, y = np.asarray(x, net.dtype), np.asarray(y, net.dtype)
    ws = Workspace(net.sizes, x.shape[1], net.dtype)
    z, a = forward(net, x, ws, keep)
    backward(net, z, a, y, sample_weight, ws, keep=keep)
    return Layers(ws.nabla_b[1:]), Layers(ws.nabla_w[1:])


def gradient(net: Network, X, y, sample_weight=None) -> Gradient:
    """``backprop`` for rows = examples, checked: (∂C/∂b^l, ∂C/∂W^l) of the mean cost over X's rows.

    Integer labels in y are one-hot encoded, as ``fit`` does.
    """
    X = net.check_inputs(X)
    Y = net.check_targets(y, X.shape[0])
    w = None if sample_weight is None else np.asarray(sample_weight, net.dtype)
    return backprop(net, X.T, Y.T, w)


def backward(
    net: Network,
    z: list,
    a: list[np.ndarray],
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    ws: Workspace,
    m: int | None = None,
    layer_done: Callable[[int], None] | None = None,
    keep: list | None = None,
) -> np.ndarray:
    """The four equations, run backward from the output error, into ``ws.nabla``.

    Returns the flat gradient ``ws.nabla`` (laid out like ``net.flat``) of
    C = (1/m) Σ_x w_x C_x over the batch's columns. ``m`` defaults to the number
    of columns; data-parallel training passes the global batch size, so that the
    processes' gradients add up to the gradient of the whole batch.
    ``layer_done(l)``, if given, is called as soon as ∂C/∂b^l and ∂C/∂W^l are final.
    ``keep`` are the dropout masks the forward pass used (see ``network.forward``):
    layer l fed a^l ⊙ r^l forward, so BP4 takes that product and BP2 gains ⊙ r^l.
    """
    inputs = a if keep is None else [a[l] if r is None else ws.kept[l] for l, r in enumerate(keep)]
    W, act = [None, *net.W], [None, *net.activations]
    L = len(W) - 1
    delta, nabla_b, nabla_w, scale = ws.delta, ws.nabla_b, ws.nabla_w, ws.scale
    scale[()] = 1 / (y.shape[1] if m is None else m)
    if sample_weight is not None:
        scale = sample_weight * scale
    np.multiply(net.cost.delta(z[L], a[L], y, act[L]), scale, out=delta[L])  # BP1, with w_x/m
    for l in range(L, 0, -1):
        dot(delta[l], ws.ones, out=nabla_b[l])  # BP3
        dot(delta[l], inputs[l - 1].T, out=nabla_w[l])  # BP4
        if layer_done is not None:
            layer_done(l)
        if l > 1:  # no δ is needed for the input layer
            g = dot(W[l].T, delta[l], out=delta[l - 1])
            act[l - 1].backward(z[l - 1], a[l - 1], g, out=delta[l - 1])  # BP2
            if keep is not None and keep[l - 1] is not None:
                delta[l - 1] *= keep[l - 1]  # dropout: a unit that was off passes no error back
    return ws.nabla


def backprop_single(net: Network, x: np.ndarray, y: np.ndarray) -> Gradient:
    """The gradient of C_x for ONE example, following the seeds' five steps literally.

    This is the teaching path: slow (a Python loop per example) and clear.
    ``x`` has shape (n_0,) and ``y`` shape (n_L,).
    """
    L, W, b, act = net.L, net.W, net.b, net.activations

    # 1. Input: set the activation of the input layer, as a column vector.
    a = [np.asarray(x).reshape(-1, 1)]
    z: list = [None]
    # 2. Feedforward: for each l = 1, ..., L compute z^l and a^l.
    for l in range(1, L + 1):
        z.append(W[l] @ a[l - 1] + b[l].reshape(-1, 1))
        a.append(act[l].fn(z[l]))
    # 3. Output error: δ^L = ∇_a C ⊙ σ'(z^L).
    delta: list = [None] * (L + 1)
    delta[L] = net.cost.delta(z[L], a[L], np.asarray(y).reshape(-1, 1), act[L])
    # 4. Backpropagate the error: δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l), l = L−1, ..., 1.
    for l in range(L - 1, 0, -1):
        delta[l] = act[l].backward(z[l], a[l], W[l + 1].T @ delta[l + 1])
    # 5. Output: ∂C/∂b^l_j = δ^l_j and ∂C/∂w^l_jk = a^{l−1}_k δ^l_j.
    nabla_b = Layers([delta[l].ravel() for l in range(1, L + 1)])
    nabla_w = Layers([np.outer(delta[l], a[l - 1]) for l in range(1, L + 1)])
    return nabla_b, nabla_w


def backprop_reference(net: Network, x: np.ndarray, y: np.ndarray) -> Gradient:
    """Mean over a batch of ``backprop_single``, one example at a time.

    Same arguments and result as ``backprop``; kept to check it and to time it.
    """
    m = x.shape[1]
    nabla_b = Layers([np.zeros_like(b) for b in net.b])
    nabla_w = Layers([np.zeros_like(W) for W in net.W])
    for i in range(m):
        delta_nabla_b, delta_nabla_w = backprop_single(net, x[:, i], y[:, i])
        for l in range(1, net.L + 1):
            nabla_b[l] += delta_nabla_b[l] / m
            nabla_w[l] += delta_nabla_w[l] / m
    return nabla_b, nabla_w
