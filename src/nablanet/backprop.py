r"""Backpropagation: the gradient of the cost from one forward and one backward pass.

Notation (the seeds'): layer 0 is the input and layer L the output. W^l, of shape
(n_l, n_{l−1}), connects layer l−1 to layer l, so w^l_jk joins neuron k of layer
l−1 to neuron j of layer l. In the code ``net.W[l-1]`` holds W^l; inside this
module the lists are padded so that ``W[l]`` *is* W^l.

A mini-batch of m examples is a matrix whose columns are the examples, so every
equation below holds column by column, for the whole batch at once:

    z^l = W^l a^{l−1} + b^l,   a^l = σ(z^l)                  feedforward (23), (25)
    δ^L = ∇_a C ⊙ σ'(z^L)                                     (BP1)
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)                      (BP2)
    ∂C/∂b^l = δ^l                 → mean over the batch's columns     (BP3)
    ∂C/∂W^l = δ^l (a^{l−1})ᵀ      → the product sums over examples    (BP4)

The batched ``backprop`` returns the gradient of the *mean* cost over the batch,
(1/m) Σ_x ∇C_x; the sum over examples in BP3 and BP4 is done by one matrix
product each, and the 1/m is folded into δ^L once, so every δ^l carries it.

Speed: the training loop passes a ``Workspace``, arrays allocated once per
batch size that ``forward`` and ``backward`` write into (``out=``), so a
mini-batch allocates almost nothing and does little besides its matrix
products. Without one, every call returns new arrays. The products are
``np.dot`` (as ``blas.dot``, without the ``__array_function__`` dispatch): the
same BLAS call as ``@``, with less dispatch (0.6 µs less per product, a tenth of
a small step); with a Workspace, ``x`` must have the network's dtype, as
``np.dot`` writes only into an array of its result's dtype.
``backprop_single`` is the teaching path: the seeds' five steps for a single
example, line by line. ``backprop_reference`` averages it over a batch, and the
tests prove that it agrees with ``backprop``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .blas import dot

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Workspace", "forward", "backward", "backprop", "backprop_single", "backprop_reference"]

Gradient = tuple[list[np.ndarray], list[np.ndarray]]  # (nabla_b, nabla_w), one per layer 1..L


class Workspace:
    """Arrays reused by every mini-batch of ``m`` examples for one network's shape.

    ``z[l]``, ``a[l]`` and ``delta[l]`` have shape (n_l, m); ``nabla_b[l]`` and
    ``nabla_w[l]`` are shaped like b^l and W^l. Index 0 (the input layer) is
    None, except ``a[0]``: ``forward`` puts its input batch there. The gradients
    are views into one array, ``nabla``, laid out like ``Network.flat()``:
    [∂C/∂W^1, ..., ∂C/∂W^L, ∂C/∂b^1, ..., ∂C/∂b^L], so an optimizer (or an
    all-reduce) takes the whole gradient in one call.
    """

    def __init__(self, net: Network, m: int):
        n, dtype = net.sizes[1:], net.W[0].dtype
        self.m = m
        self.z: list = [None, *(np.empty((n_l, m), dtype) for n_l in n)]
        self.a: list = [None, *(np.empty((n_l, m), dtype) for n_l in n)]
        self.delta: list = [None, *(np.empty((n_l, m), dtype) for n_l in n)]
        self.nabla = np.empty(net.n_params, dtype)
        views = _views(self.nabla, [p.shape for p in net.params])
        self.nabla_w: list = [None, *views[: len(net.W)]]
        self.nabla_b: list = [None, *views[len(net.W) :]]
        self.ones = np.ones(m, dtype)  # Σ over a batch's columns as a product: δ 1
        self.scale = np.empty((), dtype)  # BP1's c/m, 0-d: a Python float costs a conversion per use


def _views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive pieces of ``flat`` with the given shapes (views, not copies)."""
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return views


def forward(net: Network, x: np.ndarray, ws: Workspace | None = None) -> tuple[list, list[np.ndarray]]:
    """Feedforward a batch (columns = examples); return z^l and a^l for l = 0..L.

    z[0] is None, because the input layer has no weighted input; a[0] = x.
    With a Workspace the z^l and a^l are its arrays, overwritten by the next call.
    """
    if ws is None:  # out=None: each step below makes a new array
        z, a = [None] * (net.L + 1), [None] * (net.L + 1)
    else:
        z, a = ws.z, ws.a
    a[0] = x
    for l, (W, b, act) in enumerate(zip(net.W, net.b, net.activations), start=1):
        z[l] = dot(W, a[l - 1], out=z[l])
        z[l] += b[:, None]  # (25): z^l = W^l a^{l−1} + b^l, the bias added in place
        a[l] = act.fn(z[l], out=a[l])  # (23): a^l = σ(z^l)
    return z, a


def backward(
    net: Network,
    z: list,
    a: list[np.ndarray],
    y: np.ndarray,
    weight: np.ndarray | None = None,
    ws: Workspace | None = None,
    c: float = 1.0,
) -> Gradient:
    """The four equations, run backward from the output error; returns mean gradients.

    ``weight``, of shape (m,), scales each example's share of the gradient
    (sample weights); without it every example counts once. ``c`` multiplies
    the result: the gradients returned are c ∇C (plain SGD's training step asks
    for −η ∇C, its update). With a Workspace the gradients are its arrays,
    overwritten by the next call.
    """
    W = [None, *net.W]
    act = [None, *net.activations]
    L = len(W) - 1
    m = y.shape[1]
    if ws is None:  # out=None: every product below makes a new array
        delta, nabla_b, nabla_w = [None] * (L + 1), [None] * (L + 1), [None] * (L + 1)
        ones, scale = np.ones(m, a[L].dtype), c / m
    else:
        delta, nabla_b, nabla_w, ones, scale = ws.delta, ws.nabla_b, ws.nabla_w, ws.ones, ws.scale
        scale[()] = c / m

    # C = (1/m) Σ_x w_x C_x: scaling δ^L's columns by w_x/m once carries the mean
    # (and the sample weights) through BP2, so BP3 and BP4 are bare products. They
    # are linear in δ^L, so a factor c carried in δ^L multiplies every gradient.
    if weight is not None:
        scale = weight * (c / m)
    delta[L] = np.multiply(net.cost.delta(z[L], a[L], y, act[L]), scale, out=delta[L])  # BP1
    for l in range(L, 0, -1):
        nabla_b[l] = dot(delta[l], ones, out=nabla_b[l])  # BP3
        nabla_w[l] = dot(delta[l], a[l - 1].T, out=nabla_w[l])  # BP4
        if l > 1:  # no δ is needed for the input layer
            g = dot(W[l].T, delta[l], out=delta[l - 1])
            delta[l - 1] = act[l - 1].backward(z[l - 1], a[l - 1], g, out=g)  # BP2
    return nabla_b[1:], nabla_w[1:]


def backprop(net: Network, x: np.ndarray, y: np.ndarray) -> Gradient:
    """Gradient of the mean cost over a mini-batch: one forward, one backward pass.

    Parameters
    ----------
    net : Network
    x : ndarray, shape (n_0, m)
        The inputs, one column per example.
    y : ndarray, shape (n_L, m)
        The targets, one column per example.

    Returns
    -------
    nabla_b, nabla_w : lists of ndarray
        ∂C/∂b^l and ∂C/∂W^l for l = 1..L, shaped like ``net.b`` and ``net.W``.
    """
    z, a = forward(net, x)
    return backward(net, z, a, y)


def backprop_single(net: Network, x: np.ndarray, y: np.ndarray) -> Gradient:
    """The gradient of C_x for ONE example, following the seeds' five steps literally.

    This is the teaching path: slow (a Python loop per example) and clear.
    ``x`` has shape (n_0,) and ``y`` shape (n_L,).
    """
    L = len(net.W)
    W = [None, *net.W]
    b = [None, *net.b]
    act = [None, *net.activations]

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
    nabla_b = [delta[l].ravel() for l in range(1, L + 1)]
    nabla_w = [np.outer(delta[l], a[l - 1]) for l in range(1, L + 1)]
    return nabla_b, nabla_w


def backprop_reference(net: Network, x: np.ndarray, y: np.ndarray) -> Gradient:
    """Mean over a batch of ``backprop_single``, one example at a time.

    Same arguments and result as ``backprop``; kept to check it and to time it.
    """
    m = x.shape[1]
    nabla_b = [np.zeros_like(b) for b in net.b]
    nabla_w = [np.zeros_like(W) for W in net.W]
    for i in range(m):
        delta_nabla_b, delta_nabla_w = backprop_single(net, x[:, i], y[:, i])
        for l in range(len(net.W)):
            nabla_b[l] += delta_nabla_b[l] / m
            nabla_w[l] += delta_nabla_w[l] / m
    return nabla_b, nabla_w
