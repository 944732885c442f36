"""The hot path's array calls: ``dot`` and ``vdot`` without NumPy's dispatch, and ``axpy``.

``np.dot`` and ``np.vdot`` first ask their arguments whether another array library
wants to handle the call (the ``__array_function__`` protocol), which costs about
as much as a whole small product. The training step's operands are always NumPy
arrays, so the answer is always "no": these are the same functions with that
question skipped (NumPy keeps them as ``np.dot._implementation``).

(A later port to another array library swaps its own products in here.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["dot", "vdot", "axpy"]

dot = getattr(np.dot, "_implementation", np.dot)
vdot = getattr(np.vdot, "_implementation", np.vdot)


def axpy(kappa: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray | None = None) -> None:
    """y ← y + κx in place; ``scratch``, shaped like x, saves the temporary κx.

    In NumPy, not through another library's BLAS: SciPy's axpy runs on a second
    OpenBLAS whose thread pool, spinning after every call, competed with NumPy's
    for the cores and made small training steps many times slower.
    """
    if x.shape != y.shape:
        raise ValueError(f"axpy: x has shape {x.shape}, y has shape {y.shape}")
    if not y.flags.writeable:
        raise ValueError("axpy: y is read-only")
    if kappa == 1:
        np.add(y, x, out=y)
        return
    t = np.multiply(x, kappa, out=scratch) if scratch is not None else np.multiply(x, kappa)
    np.add(y, t, out=y)
