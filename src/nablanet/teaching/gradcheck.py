r"""Gradient check: backpropagation's gradient against finite differences of the cost.

The seeds' numerical gradient (46) nudges one parameter at a time:

    ∂C/∂w_j ≈ (C(w + ε e_j) − C(w)) / ε                      forward difference (46)
    ∂C/∂w_j ≈ (C(w + ε e_j) − C(w − ε e_j)) / 2ε             central difference

The forward difference is eq. (46) itself; its error is O(ε). The central one costs
two evaluations of C per parameter instead of one, and its error is O(ε²), so it
can check far more digits. Each evaluation of C is a full forward pass over the
batch: that is why the numerical gradient is slow and backprop is not.

The finite differences are taken on a float64 copy of the network by default
(``numerical_dtype="float64"``): in float32 a difference quotient keeps only a
few digits, so it cannot check a float32 backprop closely. The backprop side is
always computed in the network's own dtype, so a float32 network is checked as
it will train. Pass ``numerical_dtype=None`` to difference in the network's own
dtype (the seeds' eq. (46) exactly as a float32 program would run it).

Per parameter array the result reports

    normwise relative error   ‖g_bp − g_num‖ / max(‖g_bp‖ + ‖g_num‖, tiny)
    max elementwise error     max_i |g_bp,i − g_num,i| / max(|g_bp,i| + |g_num,i|, floor)

where ``floor`` is the larger of two noise levels: the rounding noise of a
difference quotient, ~ u·max(|C|, 1)/ε, and backprop's own rounding, ~ u·max_i |g_bp,i|
(u the unit roundoff of each side's dtype), each divided by the elementwise
tolerance. An entry below the floor is in effect compared absolutely, since
neither side can resolve it relatively.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..backprop import backprop, forward
from ..network import Network, as_rng

__all__ = ["gradcheck", "GradCheck", "ParamCheck", "default_eps", "tolerances"]

METHODS = ("central", "forward")

# Normwise relative error that finite differences can reach: (difference dtype, method).
_FD_TOL = {
    ("float64", "central"): 1e-7,
    ("float64", "forward"): 1e-4,
    ("float32", "central"): 2e-2,
    ("float32", "forward"): 2e-1,
}
# Normwise relative error of backprop itself, from rounding in the network's dtype.
_BP_TOL = {"float64": 1e-9, "float32": 1e-4}
_MAX_FACTOR = 100  # elementwise errors are noisier than the norm; allow 100× the norm's tolerance


def default_eps(dtype: Any, method: str) -> float:
    """ε balancing truncation against rounding: √u for (46), ∛u for the central difference."""
    u = float(np.finfo(np.dtype(dtype)).eps)
    return u ** (1 / 2) if method == "forward" else u ** (1 / 3)


def tolerances(net_dtype: Any, numerical_dtype: Any, method: str) -> tuple[float, float]:
    """(normwise, elementwise) relative-error tolerances for this comparison."""
    fd = _FD_TOL[(np.dtype(numerical_dtype).name, method)]
    norm = max(fd, _BP_TOL[np.dtype(net_dtype).name])
    return norm, min(0.5, _MAX_FACTOR * norm)


@dataclass(frozen=True)
class ParamCheck:
    """One parameter array (W^l or b^l) compared entry by entry."""

    layer: int  # l, 1..L
    param: str  # "W" or "b"
    shape: tuple[int, ...]
    n_checked: int  # entries differenced (all of them, or a sample)
    norm_backprop: float  # ‖g_bp‖ over the checked entries
    norm_rel_error: float
    max_rel_error: float
    passed: bool

    @property
    def name(self) -> str:
        return f"{self.param}^{self.layer}"


@dataclass(frozen=True)
class GradCheck:
    """The result of ``gradcheck``: one row per parameter array, and the cost of the check."""

    rows: list[ParamCheck]
    method: str
    eps: float
    dtype: str  # the network's
    numerical_dtype: str
    tol_norm: float
    tol_max: float
    n_params: int  # in the whole network
    n_checked: int
    n_cost_evals: int  # forward passes spent on the numerical gradient
    seconds: float  # time of the differencing loop (every evaluation but C(w) itself)
    cost: float  # C(w) at the point checked
    batch_size: int
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def max_norm_rel_error(self) -> float:
        return max(r.norm_rel_error for r in self.rows)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        for row in d["rows"]:
            row["shape"] = list(row["shape"])
        return d

    def __str__(self) -> str:
        return format_table(self)


def gradcheck(
    net: Network,
    X: Any,
    Y: Any,
    eps: float | None = None,
    method: str = "central",
    n_samples: int | None = None,
    seed: int | np.random.Generator | None = None,
    numerical_dtype: Any = "float64",
) -> GradCheck:
    """Compare backprop's gradient of the mean cost with a finite-difference estimate.

    Parameters
    ----------
    net : Network
        Left unchanged: the differences are taken on a copy.
    X : array, shape (m, n_0)
        Inputs, one row per example.
    Y : array, shape (m,) or (m, n_L)
        Integer labels or target vectors.
    eps : float, optional
        The step ε. Default: ``default_eps(numerical_dtype, method)``.
    method : {"central", "forward"}
        ``"forward"`` is the seeds' eq. (46), one cost evaluation per parameter
        (plus one for C(w)); ``"central"`` takes two per parameter.
    n_samples : int, optional
        Check at most this many entries of each W^l and b^l, drawn without
        replacement; every entry when None. Keeps big networks cheap.
    seed : int or Generator, optional
        Chooses the sampled entries.
    numerical_dtype : "float64", "float32" or None
        Dtype of the copy the differences are taken on; None means the network's.

    Returns
    -------
    GradCheck
        Per-array errors, pass/fail against dtype-aware tolerances, and the
        number of cost evaluations and seconds the numerical gradient took.

    Notes
    -----
    Where a ReLU's input sits within ε of its kink, a difference straddles the
    kink and disagrees with backprop: that is the function, not a bug.
    """
    num_dtype, eps = _check_options(net, eps, method, n_samples, numerical_dtype)
    X = net.check_inputs(X)
    Y = net.check_targets(Y, X.shape[0])

    nabla_b, nabla_w = backprop(net, X.T, Y.T)
    probe = _copy_as(net, num_dtype)
    x, y = X.T.astype(num_dtype), Y.T.astype(num_dtype)
    tol_norm, tol_max = tolerances(net.dtype, num_dtype, method)
    c0 = _cost(probe, x, y)  # also warms up the copy, so the timed loop sees steady-state passes
    # One rounding of C on each side of the quotient, scaled so noise alone cannot fail an entry.
    fd_floor = 4 * float(np.finfo(num_dtype).eps) * max(abs(c0), 1.0) / (eps * tol_max)
    u_net = float(np.finfo(net.dtype).eps)
    rng = as_rng(seed)

    evals, rows = (1 if method == "forward" else 0), []
    start = time.perf_counter()
    for l in range(1, net.L + 1):
        for param, g_bp, p in (("W", nabla_w[l - 1], probe.W[l - 1]), ("b", nabla_b[l - 1], probe.b[l - 1])):
            idx = _choose(p.size, n_samples, rng)
            g_num = np.empty(idx.size)
            for i, flat in enumerate(idx):
                g_num[i], n = _difference(probe, x, y, p, int(flat), eps, method, c0)
                evals += n
            floor = max(fd_floor, 4 * u_net * float(np.abs(g_bp).max()) / tol_max)
            g_bp = g_bp.ravel()[idx].astype(np.float64)
            rows.append(_compare(l, param, p.shape, g_bp, g_num, floor, tol_norm, tol_max))
    seconds = time.perf_counter() - start

    n_checked = sum(r.n_checked for r in rows)
    notes = _kink_notes(probe, x, eps)
    if n_checked < net.n_params:
        notes.append(f"sampled {n_checked} of {net.n_params} parameters (at most {n_samples} per array)")
    return GradCheck(
        rows=rows,
        method=method,
        eps=float(eps),
        dtype=net.dtype.name,
        numerical_dtype=num_dtype.name,
        tol_norm=tol_norm,
        tol_max=tol_max,
        n_params=net.n_params,
        n_checked=n_checked,
        n_cost_evals=evals,
        seconds=seconds,
        cost=float(c0),
        batch_size=X.shape[0],
        notes=notes,
    )


def _check_options(net: Network, eps, method, n_samples, numerical_dtype) -> tuple[np.dtype, float]:
    """Validate gradcheck's options; return the difference dtype and ε."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if n_samples is not None and (
        isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1
    ):
        raise ValueError(f"n_samples must be an integer ≥ 1 or None, got {n_samples!r}")
    try:
        num_dtype = net.dtype if numerical_dtype is None else np.dtype(numerical_dtype)
    except TypeError:
        num_dtype = None
    if num_dtype is None or num_dtype.name not in ("float32", "float64"):
        raise ValueError(f"numerical_dtype must be float32, float64 or None, got {numerical_dtype!r}")
    if eps is None:
        eps = default_eps(num_dtype, method)
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0 < eps < np.inf:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    return num_dtype, float(eps)


def numerical_gradient(
    net: Network, x: np.ndarray, y: np.ndarray, eps: float, method: str = "forward"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every ∂C/∂b^l and ∂C/∂W^l by finite differences (columns = examples), as backprop returns them.

    Works on ``net`` in place and restores each entry exactly after nudging it.
    """
    c0 = _cost(net, x, y)
    grads = []
    for p in [*net.b, *net.W]:
        g = np.empty(p.shape)
        for flat in range(p.size):
            g.flat[flat], _ = _difference(net, x, y, p, flat, eps, method, c0)
        grads.append(g)
    return grads[: net.L], grads[net.L :]


def _cost(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    """C(w): one forward pass (23), (25) and the mean cost over the batch."""
    _, a = forward(net, x)
    return net.cost.fn(a[-1], y)


def _difference(net, x, y, p: np.ndarray, flat: int, eps: float, method: str, c0: float) -> tuple[float, int]:
    """The difference quotient for entry ``flat`` of ``p``; returns it and the evaluations spent."""
    original = p.flat[flat]
    try:
        p.flat[flat] = original + eps
        c_plus = _cost(net, x, y)
        if method == "forward":
            return (c_plus - c0) / eps, 1  # (46)
        p.flat[flat] = original - eps
        c_minus = _cost(net, x, y)
        return (c_plus - c_minus) / (2 * eps), 2
    finally:
        p.flat[flat] = original


def _compare(l, param, shape, g_bp, g_num, floor, tol_norm, tol_max) -> ParamCheck:
    diff = g_bp - g_num
    scale = np.linalg.norm(g_bp) + np.linalg.norm(g_num)
    norm_rel = float(np.linalg.norm(diff) / max(scale, np.finfo(np.float64).tiny))
    max_rel = float(np.max(np.abs(diff) / np.maximum(np.abs(g_bp) + np.abs(g_num), floor)))
    if scale <= floor:  # the whole array is below what differences can resolve: compare absolutely
        norm_rel = float(np.linalg.norm(diff) / floor)
    passed = norm_rel <= tol_norm and max_rel <= tol_max
    return ParamCheck(
        l, param, tuple(shape), g_bp.size, float(np.linalg.norm(g_bp)), norm_rel, max_rel, passed
    )


def _kink_notes(net: Network, x: np.ndarray, eps: float) -> list[str]:
    """Warn where a ReLU-like unit's z^l is so near 0 that a nudge of ε may cross the kink."""
    from ..activations import LeakyReLU, ReLU

    notes = []
    z, a = forward(net, x)
    for l, act in enumerate(net.activations, start=1):
        if isinstance(act, (ReLU, LeakyReLU)):
            reach = 10 * eps * (1 + float(np.abs(a[l - 1]).max()))
            near = int((np.abs(z[l]) < reach).sum())
            if near:
                notes.append(
                    f"note: {near} value(s) of z^{l} lie within {reach:.1e} of the {act.name} kink; "
                    "a difference there may straddle it and disagree with backprop"
                )
    return notes


def _choose(size: int, n_samples: int | None, rng: np.random.Generator) -> np.ndarray:
    if n_samples is None or n_samples >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, n_samples, replace=False))


def _copy_as(net: Network, dtype: np.dtype) -> Network:
    probe = net.copy()
    probe.dtype = dtype
    probe.W = [W.astype(dtype) for W in net.W]
    probe.b = [b.astype(dtype) for b in net.b]
    return probe


def format_table(result: GradCheck) -> str:
    """The per-array table as plain text."""
    lines = [
        f"gradient check: {result.method} differences, eps={result.eps:.3g}, "
        f"network {result.dtype}, differences in {result.numerical_dtype}, batch of {result.batch_size}",
        f"{'param':<8}{'shape':>12}{'checked':>9}{'‖∇C‖':>11}{'norm rel err':>14}{'max rel err':>13}  ok",
    ]
    for r in result.rows:
        shape = "×".join(str(s) for s in r.shape)
        lines.append(
            f"{r.name:<8}{shape:>12}{r.n_checked:>9}{r.norm_backprop:>11.3e}"
            f"{r.norm_rel_error:>14.2e}{r.max_rel_error:>13.2e}  {'yes' if r.passed else 'NO'}"
        )
    lines.append(
        f"tolerances: normwise {result.tol_norm:.0e}, elementwise {result.tol_max:.0e}; "
        f"{result.n_cost_evals} cost evaluations in {result.seconds:.2f} s; "
        f"{'PASSED' if result.passed else 'FAILED'}"
    )
    lines.extend(result.notes)
    return "\n".join(lines)
