"""The hot path's BLAS calls: ``dot`` and ``vdot`` without NumPy's dispatch, and ``axpy``.

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


def axpy(c: float, x: np.ndarray, y: np.ndarray) -> None:
    """y ← y + c·x in place, in one pass (BLAS axpy, where SciPy provides it)."""
    global _AXPY
    if _AXPY is None:
        _AXPY = _blas_axpy()
    if x.shape != y.shape:
        raise ValueError(f"axpy: x has shape {x.shape}, y has shape {y.shape}")
    if not y.flags.writeable:
        raise ValueError("axpy: y is read-only")
    f = _AXPY.get(y.dtype) if y.dtype == x.dtype and y.flags.c_contiguous and x.flags.c_contiguous else None
    if f is None:
        y += c * x if c != 1 else x
    else:
        f(x.ravel(), y.ravel(), a=c)  # writes into y: a contiguous array of its own dtype


def _blas_axpy() -> dict:
    # SciPy comes with scikit-learn but is not required: without it the update
    # makes one temporary array and reads the gradient twice. It is looked up on
    # the first update, so that ``import nablanet`` does not import SciPy.
    try:
        from scipy.linalg import blas
    except ImportError:
        return {}
    return {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}


_AXPY: dict | None = None
