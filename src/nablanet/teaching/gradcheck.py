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

Per parameter array of k checked entries the result reports

    normwise relative error   ‖g_bp − g_num‖ / max(‖g_bp‖ + ‖g_num‖, √k·noise / tol_norm)
    max elementwise error     max_i |g_bp,i − g_num,i| / max(|g_bp,i| + |g_num,i|, noise / tol_max)

where ``noise`` is the larger of two levels: the rounding noise of a difference
quotient, ~ u·max(|C|, 1)/ε, and backprop's own rounding, ~ u·max_i |g_bp,i| (u
the unit roundoff of each side's dtype). An array or entry below its floor is in
effect compared absolutely, against the noise, since neither side can resolve it
relatively: a gradient of 10⁻⁵ beside a cost of 0.7 has only about five digits
that central differences in float64 can see.

Where differences cannot be trusted, the check leaves the example out rather
than fail a correct backprop. C is a mean over examples, so both gradients are
means too, and each example's cost is differenced on its own. An example is
left out, and named with its reason, when

- a ReLU-like unit's z^l crosses its kink between the nudged evaluations: the
  difference then straddles the kink and measures neither side's slope (each
  evaluation compares every example's pattern of active units with the
  unnudged one, so this is detected, not guessed);
- its cost, nudged or not, is not finite.

Both gradients are then the mean over the examples kept. An output saturated
beyond machine ε (p = 10⁻²⁰ for the true class) is no such case: the cost is
computed from z^L in log form (``nablanet.costs``), exact there, as δ^L is. The
result says which examples these are, since a cost clipped at ε would have been
flat there and its differences 0.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..activations import Sigmoid, Softmax
from ..backprop import backprop
from ..buffers import Workspace
from ..network import Layers, Network, as_rng, forward

__all__ = ["gradcheck", "GradCheck", "ParamCheck", "default_eps", "tolerances", "numerical_gradient"]

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
    cost: float  # C(w) at the point checked, over the examples compared
    batch_size: int
    notes: list[str] = field(default_factory=list)
    excluded: list[dict] = field(
        default_factory=list
    )  # {"example": i, "reason": ...}, left out of both sides

    @property
    def n_examples_compared(self) -> int:
        return self.batch_size - len(self.excluded)

    @property
    def status(self) -> str:
        """ "passed", "failed", or "inconclusive" when no example could be differenced reliably."""
        if self.n_examples_compared == 0:
            return "inconclusive"
        return "passed" if all(r.passed for r in self.rows) else "failed"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def max_norm_rel_error(self) -> float:
        return max(r.norm_rel_error for r in self.rows)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"], d["status"], d["n_examples_compared"] = (
            self.passed,
            self.status,
            self.n_examples_compared,
        )
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
        Per-array errors, pass/fail against dtype-aware tolerances, the examples
        left out and why, and the number of cost evaluations and seconds the
        numerical gradient took.
    """
    num_dtype, eps = _check_options(net, eps, method, n_samples, numerical_dtype)
    X = net.check_inputs(X)
    Y = net.check_targets(Y, X.shape[0])
    probe = _copy_as(net, num_dtype)
    costs = _ExampleCosts(probe, X.T.astype(num_dtype), Y.T.astype(num_dtype))
    start = time.perf_counter()
    differences, crossings, evals = _differences(probe, costs, eps, method, n_samples, as_rng(seed))
    seconds = time.perf_counter() - start

    excluded = _excluded(costs, differences, crossings, eps)
    keep = np.ones(X.shape[0], bool)
    keep[[e["example"] for e in excluded]] = False
    rows, c0 = _compare_all(net, X, Y, costs, differences, keep if keep.any() else ~keep, eps, method)
    n_checked = sum(r.n_checked for r in rows)
    notes = [*_exclusion_notes(excluded, X.shape[0]), *_saturation_notes(net, costs)]
    if n_checked < net.n_params:
        notes.append(f"sampled {n_checked} of {net.n_params} parameters (at most {n_samples} per array)")
    tol_norm, tol_max = tolerances(net.dtype, num_dtype, method)
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
        cost=c0,
        batch_size=X.shape[0],
        notes=notes,
        excluded=excluded,
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


class _ExampleCosts:
    """C_x for each example at the network's current parameters, from z^L in log form.

    Calling it also says which examples' pattern of units past their kink differs
    from the one at construction (an unnudged network).
    """

    def __init__(self, net: Network, x: np.ndarray, y: np.ndarray):
        self.net, self.x, self.y = net, x, y
        self.ws = Workspace(net.sizes, x.shape[1], net.dtype, backward=False)
        self.kinks = [(l, act.kink) for l, act in enumerate(net.activations, start=1) if act.kink is not None]
        with np.errstate(over="ignore", invalid="ignore"):
            z, a = forward(net, x, self.ws)
            self.base = self._each(z, a)
        self.patterns = [z[l] > kink for l, kink in self.kinks]
        self.z_out, self.a_out = z[net.L].copy(), a[net.L].copy()

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        """(C_x for each x, moved[k, x]: has a unit of the k-th kinked layer crossed its kink?)."""
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite C_x is reported, not raised
            z, a = forward(self.net, self.x, self.ws)
            moved = np.zeros((len(self.kinks), self.x.shape[1]), bool)
            for k, ((l, kink), pattern) in enumerate(zip(self.kinks, self.patterns)):
                moved[k] = ((z[l] > kink) != pattern).any(axis=0)
            return self._each(z, a), moved

    def _each(self, z: list, a: list) -> np.ndarray:
        L = self.net.L
        return self.net.cost.each(a[L], self.y, z=z[L], act=self.net.activations[L])


def _differences(probe: Network, costs: _ExampleCosts, eps: float, method: str, n_samples, rng):
    """Per-example difference quotients, one row per checked entry, array by array.

    Returns [(l, "W" or "b", shape, entries, quotients)], crossings[k, x] (in how
    many differences example x had a unit of the k-th kinked layer cross its kink)
    and the number of cost evaluations.
    """
    differences, evals = [], (1 if method == "forward" else 0)
    crossings = np.zeros((len(costs.kinks), costs.x.shape[1]), np.int64)
    for l in range(1, probe.L + 1):
        for param, p in (("W", probe.W[l]), ("b", probe.b[l])):
            idx = _choose(p.size, n_samples, rng)
            quotients = np.empty((idx.size, costs.x.shape[1]))
            for i, flat in enumerate(idx):
                quotients[i], moved, n = _difference(costs, p, int(flat), eps, method)
                crossings += moved
                evals += n
            differences.append((l, param, p.shape, idx, quotients))
    return differences, crossings, evals


def _difference(costs: _ExampleCosts, p: np.ndarray, flat: int, eps: float, method: str):
    """Per-example difference quotients for entry ``flat`` of ``p``, the kink crossings, the evaluations."""
    original = p.flat[flat]
    try:
        p.flat[flat] = original + eps
        c_plus, moved = costs()
        with np.errstate(invalid="ignore"):  # inf − inf: that example is left out
            if method == "forward":
                return (c_plus - costs.base) / eps, moved, 1  # (46)
            p.flat[flat] = original - eps
            c_minus, moved_too = costs()
            return (c_plus - c_minus) / (2 * eps), moved | moved_too, 2
    finally:
        p.flat[flat] = original


def numerical_gradient(net: Network, x: np.ndarray, y: np.ndarray, eps: float, method: str = "forward"):
    """Every ∂C/∂b^l and ∂C/∂W^l by finite differences (columns = examples), as backprop returns them.

    Works on ``net`` in place and restores each entry exactly after nudging it.
    """
    costs = _ExampleCosts(net, x, y)
    grads = {}
    for p in net.params:
        g = np.empty(p.shape)
        for flat in range(p.size):
            g.flat[flat] = _difference(costs, p, flat, eps, method)[0].mean()
        grads[id(p)] = g
    return Layers([grads[id(b)] for b in net.b]), Layers([grads[id(W)] for W in net.W])


def _excluded(costs: _ExampleCosts, differences: list, crossings: np.ndarray, eps: float) -> list[dict]:
    """The examples whose differences cannot be trusted, each with its reason."""
    finite = np.isfinite(costs.base)
    for *_, quotients in differences:
        finite &= np.isfinite(quotients).all(axis=0)
    n = sum(quotients.shape[0] for *_, quotients in differences)
    out = []
    for i in range(costs.x.shape[1]):
        if not finite[i]:
            out.append({"example": i, "reason": "its cost is not finite at w or at w ± ε"})
        elif crossings[:, i].any():
            where = ", ".join(
                f"z^{l} ({k} of the {n} differences)" for (l, _), k in zip(costs.kinks, crossings[:, i]) if k
            )
            out.append({"example": i, "reason": f"a unit crosses its kink between w − ε and w + ε: {where}"})
    return out


def _compare_all(net, X, Y, costs, differences, keep, eps, method) -> tuple[list[ParamCheck], float]:
    """Backprop over the examples kept against the mean of their difference quotients, per array."""
    nabla_b, nabla_w = backprop(net, X[keep].T, Y[keep].T)
    tol_norm, tol_max = tolerances(net.dtype, costs.net.dtype, method)
    c0 = float(np.mean(costs.base[keep]))
    # The noise of one entry: a few roundings of each C_x on each side of the quotient,
    # or backprop's own rounding, whichever is larger; below it neither side can resolve it.
    scale = max(float(np.mean(np.abs(costs.base[keep]))), 1.0)
    fd_noise = 4 * float(np.finfo(costs.net.dtype).eps) * scale / eps
    u_net = float(np.finfo(net.dtype).eps)
    rows = []
    for l, param, shape, idx, quotients in differences:
        g_bp = (nabla_w if param == "W" else nabla_b)[l]
        noise = max(fd_noise, 4 * u_net * float(np.abs(g_bp).max()))
        g_bp = g_bp.ravel()[idx].astype(np.float64)
        g_num = quotients[:, keep].mean(axis=1)
        rows.append(_compare(l, param, shape, g_bp, g_num, noise, tol_norm, tol_max))
    return rows, c0


def _compare(l, param, shape, g_bp, g_num, noise, tol_norm, tol_max) -> ParamCheck:
    """Normwise and elementwise errors, each with ``noise`` (per entry) as the floor of its denominator."""
    diff = g_bp - g_num
    scale = np.linalg.norm(g_bp) + np.linalg.norm(g_num)
    norm_floor = max(noise * np.sqrt(g_bp.size) / tol_norm, np.finfo(np.float64).tiny)
    norm_rel = float(np.linalg.norm(diff) / max(scale, norm_floor))
    max_rel = float(np.max(np.abs(diff) / np.maximum(np.abs(g_bp) + np.abs(g_num), noise / tol_max)))
    passed = norm_rel <= tol_norm and max_rel <= tol_max
    return ParamCheck(
        l, param, tuple(shape), g_bp.size, float(np.linalg.norm(g_bp)), norm_rel, max_rel, passed
    )


def _exclusion_notes(excluded: list[dict], m: int) -> list[str]:
    if not excluded:
        return []
    lines = [f"compared over {m - len(excluded)} of {m} examples; left out of both gradients:"]
    lines += [f"  example {e['example']}: {e['reason']}" for e in excluded]
    return lines


def _saturation_notes(net: Network, costs: _ExampleCosts) -> list[str]:
    """Name the examples whose output is saturated beyond ε where the target calls for it."""
    act = net.activations[-1]
    if not (net.cost.needs_probabilities and isinstance(act, (Sigmoid, Softmax))):
        return []
    z, a, y = costs.z_out, costs.a_out, costs.y
    log_eps = np.log(np.finfo(net.dtype).eps)
    # ln of the probability each target asks for: a where y > 0, 1 − a where y < 1
    log_p = np.minimum(np.where(y > 0, act.log(z, a), 0), np.where(y < 1, act.log1m(z, a), 0))
    worst = log_p.min(axis=0)
    which = np.flatnonzero(worst < log_eps)
    if not which.size:
        return []
    shown = ", ".join(f"{i} (p = e^{worst[i]:.1f})" for i in which[:8]) + (" …" if which.size > 8 else "")
    return [
        f"note: examples {shown} have an output their target calls for below machine ε "
        f"({np.finfo(net.dtype).eps:.1e}); C and δ^L are computed from z^L in log form, exact there "
        "(a cost clipped at ε would be flat, and its differences 0)"
    ]


def _choose(size: int, n_samples: int | None, rng: np.random.Generator) -> np.ndarray:
    if n_samples is None or n_samples >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, n_samples, replace=False))


def _copy_as(net: Network, dtype: np.dtype) -> Network:
    """A copy of ``net`` computing in ``dtype``, its parameters cast (exactly, from float32 to float64)."""
    state = net.__getstate__()
    state["dtype"] = np.dtype(dtype)
    state["flat"] = state["flat"].astype(dtype)
    probe = object.__new__(Network)
    probe.__setstate__(state)
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
    verdict = result.status.upper()
    if result.status == "inconclusive":
        verdict += " (no example could be differenced reliably: the rows compare them all)"
    lines.append(
        f"tolerances: normwise {result.tol_norm:.0e}, elementwise {result.tol_max:.0e}; "
        f"{result.n_cost_evals} cost evaluations in {result.seconds:.2f} s; {verdict}"
    )
    lines.extend(result.notes)
    return "\n".join(lines)
