"""Arrays allocated once and reused by every mini-batch: where the core's ``out=`` arrays come from.

A training step on a small network does little besides its matrix products, so
allocating its dozen intermediate arrays anew each step would be a large part
of its cost. A ``Workspace`` holds them for one batch size; ``forward`` and
``backward`` write into it. The gradients are views of one flat array laid out
like ``Network.flat``, so an optimizer, or an all-reduce across processes,
takes the whole gradient in one call.

The products are written with ``out=`` because ``np.dot`` writes into an array
only of its result's dtype: the batch must have the network's dtype.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace", "views"]


def views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive pieces of ``flat`` with the given shapes (views, not copies)."""
    out, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return out


class Workspace:
    """The arrays of one mini-batch of ``m`` examples, for a network of the given sizes.

    Indexed by layer, as everywhere in nablanet: ``z[l]``, ``a[l]`` and
    ``delta[l]`` have shape (n_l, m) for l = 1..L; ``a[0]`` is the input batch
    (set by ``forward``), ``z[0]`` and ``delta[0]`` are None. ``nabla_w[l]`` and
    ``nabla_b[l]`` are shaped like W^l and b^l, views of the flat ``nabla``:
    [∂C/∂W^1, ..., ∂C/∂W^L, ∂C/∂b^1, ..., ∂C/∂b^L]. With ``backward=False``
    only z and a are made (for feedforward alone). ``kept[l]`` holds a^l ⊙ r^l
    for a layer trained with dropout (r^l its mask).
    """

    def __init__(self, sizes: list[int], m: int, dtype, backward: bool = True):
        n = sizes[1:]
        self.m = m
        self.z: list = [None, *(np.empty((n_l, m), dtype) for n_l in n)]
        self.a: list = [None, *(np.empty((n_l, m), dtype) for n_l in n)]
        if not backward:
            return
        self.delta: list = [None, *(np.empty((n_l, m), dtype) for n_l in n)]
        shapes = [*zip(n, sizes[:-1]), *((n_l,) for n_l in n)]
        self.nabla = np.empty(sum(int(np.prod(s)) for s in shapes), dtype)
        parts = views(self.nabla, shapes)
        self.nabla_w: list = [None, *parts[: len(n)]]
        self.nabla_b: list = [None, *parts[len(n) :]]
        self.ones = np.ones(m, dtype)  # Σ over a batch's columns as a product: δ 1
        # a^l ⊙ r^l, what a layer with dropout passes on (made when a mask is first used)
        self.kept: list = [None] * len(sizes)
        self.scale = np.empty((), dtype)  # 1/m as a 0-d array: a Python float costs a conversion per use
