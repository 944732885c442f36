"""An epoch's shuffled mini-batches, gathered ahead of the training step by a helper thread.

Gathering a shuffled batch means reading its rows from scattered places in the
training set, and on a set of tens of megabytes they come from main memory,
which on small batches costs a noticeable share of the step. NumPy's ``take``
lets other threads run while it copies, so a helper thread gathers the next
stretch of batches while the training step works on this one, and the step
finds its batch waiting in a contiguous block: its inputs are a view of it, and
its targets are already in columns, the layout of a^L.

Only small batches are gathered this way, a chunk of them at a time while the
step works through the previous chunk: their steps are many small NumPy calls,
and BLAS runs products that small on one thread, so the other core is free for
the helper. A large batch is gathered on its own, just before its step, in the
calling thread: its products keep every core busy, and a helper would compete
with them. A training set small enough to stay in cache is gathered in chunks
in the calling thread, by the same code. (docs/performance.md has the figures.)

The batches, their order and their contents are exactly those of a gather in the
loop; only where and when the copying happens changes. (``SMALL_BATCH_BYTES = 0``
turns the helper off: every batch is then gathered just before its step.)
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["batches", "CHUNK_BYTES", "SMALL_BATCH_BYTES"]

CHUNK_BYTES = 1 << 21  # rows gathered in one go: 2 MB (a chunk, filled while the last one is used)
SMALL_BATCH_BYTES = 1 << 16  # batches up to 64 KB (inputs, targets and weights) are gathered in chunks


class _Chunk:
    """Arrays for ``k`` consecutive batches of ``m`` rows: inputs in rows, targets in columns."""

    def __init__(self, k: int, m: int, X: np.ndarray, Y: np.ndarray, weight_dtype):
        self.k, self.m = k, m
        self.x = np.empty((k * m, X.shape[1]), X.dtype)
        self.y_rows = np.empty((k * m, Y.shape[1]), Y.dtype)
        self.y = np.empty((k, Y.shape[1], m), Y.dtype)  # batch j's targets: y[j], C order
        self.w = np.empty(k * m, weight_dtype) if weight_dtype is not None else None

    def fill(self, X: np.ndarray, Y: np.ndarray, weight: np.ndarray | None, idx: np.ndarray) -> _Chunk:
        """Gather rows ``idx`` (``k`` batches' worth) into the arrays; runs in the helper thread."""
        # mode="clip" skips the bounds check that would make take buffer the copy.
        X.take(idx, axis=0, out=self.x, mode="clip")
        Y.take(idx, axis=0, out=self.y_rows, mode="clip")
        np.copyto(self.y, self.y_rows.reshape(self.k, self.m, -1).transpose(0, 2, 1))
        if weight is not None:
            weight.take(idx, out=self.w, mode="clip")
        return self

    def batch(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rows = slice(j * self.m, (j + 1) * self.m)
        return self.x[rows], self.y[j], None if self.w is None else self.w[rows]


def batches(
    X: np.ndarray,
    Y: np.ndarray,
    weight: np.ndarray | None,
    order: np.ndarray,
    m: int,
    first: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Mini-batches ``first``, ``first`` + 1, ... of ``m`` rows of X and Y in ``order``.

    Yields (x, y, w): x the batch's rows of X, y its rows of Y as columns (n_L, m),
    w its sample weights or None. They are views of reused arrays, valid until
    the next batch is asked for. Close the generator (or finish it) to stop the
    helper thread.
    """
    n = len(order)
    full = n // m  # full batches; a last, shorter one takes the rest
    # A chunk holds each row of X, its row of Y twice (as gathered, then in
    # columns) and its weight.
    row_bytes = X.shape[1] * X.itemsize + 2 * Y.shape[1] * Y.itemsize
    batch_bytes = m * (row_bytes + (0 if weight is None else weight.itemsize))
    # Small batches are gathered many at a time, by the helper thread when the
    # training set is large enough to be read from main memory. A large batch is
    # gathered on its own, just before its step, as the products that follow keep
    # every core busy: a helper would only compete with them.
    k = max(1, CHUNK_BYTES // batch_bytes) if batch_bytes <= SMALL_BATCH_BYTES else 1
    w_dtype = None if weight is None else weight.dtype
    # The stretches of full batches, each gathered in one go, then the short one.
    spans = [(s, min(s + k, full)) for s in range(first, full, k)]
    ahead = k > 1 and X.nbytes > 2 * CHUNK_BYTES and len(spans) > 1
    kept = (2 if ahead else 1) if spans else 0  # two for the helper: one filled while the other is used
    chunks = [_Chunk(min(k, full - first), m, X, Y, w_dtype) for _ in range(kept)]

    def fill(i: int) -> _Chunk:
        s, e = spans[i]
        chunk = chunks[i % len(chunks)]
        if chunk.k != e - s:  # the last stretch is shorter: a chunk of its own size
            chunk = _Chunk(e - s, m, X, Y, w_dtype)
        return chunk.fill(X, Y, weight, order[s * m : e * m])

    if not ahead:
        for i in range(len(spans)):
            chunk = fill(i)
            for j in range(chunk.k):
                yield chunk.batch(j)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="nablanet-gather") as pool:
            pending = pool.submit(fill, 0)
            try:
                for i in range(len(spans)):
                    chunk = pending.result()
                    if i + 1 < len(spans):
                        pending = pool.submit(fill, i + 1)  # the other chunk: gathered meanwhile
                    for j in range(chunk.k):
                        yield chunk.batch(j)
            finally:
                pending.cancel()
    rest = n - full * m
    if rest and first <= full:
        yield _Chunk(1, rest, X, Y, w_dtype).fill(X, Y, weight, order[full * m :]).batch(0)
