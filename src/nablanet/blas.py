"""The hot path's two BLAS calls, ``dot`` and ``vdot``, without NumPy's dispatch.

``np.dot`` and ``np.vdot`` first ask their arguments whether another array library
wants to handle the call (the ``__array_function__`` protocol), and to find the
arguments they run a small Python function on every call: 0.23 µs, about the cost
of a whole 10 × 30 product. The training step's operands are always NumPy arrays,
so the answer is always "no": these are the same functions with that question
skipped (NumPy keeps them as ``np.dot._implementation``). On configuration A of
the benchmark a step makes nine such calls; together they were 4 % of its time.

(A later port to another array library swaps its own products in here.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["dot", "vdot"]

dot = getattr(np.dot, "_implementation", np.dot)
vdot = getattr(np.vdot, "_implementation", np.vdot)
