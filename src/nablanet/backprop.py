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
(1/m) Σ_x ∇C_x; the sum over examples in BP4 is done by one matrix product.
``backprop_single`` is the teaching path: the seeds' five steps for a single
example, line by line. ``backprop_reference`` averages it over a batch, and the
tests prove that it agrees with ``backprop``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .network import Network

__all__ = ["forward", "backward", "backprop", "backprop_single", "backprop_reference"]

Gradient = tuple[list[np.ndarray], list[np.ndarray]]  # (nabla_b, nabla_w), one per layer 1..L


def forward(net: Network, x: np.ndarray) -> tuple[list, list[np.ndarray]]:
    """Feedforward a batch (columns = examples); return z^l and a^l for l = 0..L.

    z[0] is None, because the input layer has no weighted input; a[0] = x.
    """
    z: list = [None]
    a = [x]
    for W, b, act in zip(net.W, net.b, net.activations):
        z.append(W @ a[-1] + b[:, None])  # (25): z^l = W^l a^{l−1} + b^l
        a.append(act.fn(z[-1]))  # (23): a^l = σ(z^l)
    return z, a


def backward(
    net: Network, z: list, a: list[np.ndarray], y: np.ndarray, weight: np.ndarray | None = None
) -> Gradient:
    """The four equations, run backward from the output error; returns mean gradients.

    ``weight``, of shape (m,), scales each example's share of the gradient
    (sample weights); without it every example counts once.
    """
    W = [None, *net.W]
    act = [None, *net.activations]
    L = len(W) - 1
    m = y.shape[1]
    nabla_b: list = [None] * (L + 1)
    nabla_w: list = [None] * (L + 1)

    delta = net.cost.delta(z[L], a[L], y, act[L])  # BP1
    if weight is not None:  # C = (1/m) Σ_x w_x C_x, so each column of δ^L scales by w_x
        delta = delta * weight
    for l in range(L, 0, -1):
        nabla_b[l] = delta.sum(axis=1) / m  # BP3
        nabla_w[l] = (delta @ a[l - 1].T) / m  # BP4
        if l > 1:  # no δ is needed for the input layer
            delta = act[l - 1].backward(z[l - 1], a[l - 1], W[l].T @ delta)  # BP2
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
