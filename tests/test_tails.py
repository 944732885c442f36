"""C and δ^L = ∂C/∂z^L in the tails, for every output/cost pair, against a 1000-digit reference.

The reference (mpmath, 1000 significant digits) uses the textbook formulas: a = σ(z),
C from a, and δ^L = Jᵀ ∇_a C with the naive Jacobian. At that precision nothing
cancels, even 1 − σ(700) = 10⁻³⁰⁴, so it is independent of the rewritten forms
nablanet computes in float32 and float64.

The bound, per entry x of δ^L and per example cost C_x:

    |x̂ − x| ≤ 8 ε |x| + tiny

with ε the dtype's machine epsilon (2⁻²³, 2⁻⁵²) and tiny its smallest normal
number (1.2·10⁻³⁸, 2.2·10⁻³⁰⁸): relative to eight units in the last place, and
absolute only below the normal range, where a float cannot hold a relative error
anyway (σ(−700) in float32). The largest error measured is 1.6 ε. It holds for
``cost.delta``, which the training step uses, and ``cost.delta_exact``, the
generic path from z, for every pair but one: softmax + cross-entropy's shortcut
δ = a − y is the hot path's one subtraction, exact but for the entry of a column
whose largest a is near 1, where a − 1 is off by up to 2 ε absolutely (0 for
−Σ_{k≠j} a_k once a has rounded to 1); its ``delta_exact`` meets the bound.

Two outputs tied for the largest z (softmax over [−40, 0, 0]) are left out: there
the small entries of δ are ill-conditioned (a change of one unit in the last place
of z moves them by more than their size), so no float computation can get them.
"""

import functools

import numpy as np
import pytest

from nablanet import activations, costs

mp = pytest.importorskip("mpmath").mp

TAILS = (40.0, -40.0, 700.0, -700.0)
MIDDLE = (17.0, -17.0, 3.0, -3.0)  # where float32's 1 − σ(z) has already lost digits, or has not
PAIRS = [(out, "quadratic") for out in ("sigmoid", "tanh", "identity", "relu", "leaky_relu", "softmax")] + [
    (out, cost) for out in ("sigmoid", "softmax") for cost in ("cross_entropy", "binary_cross_entropy")
]


def cases(out, t):
    """(z column, y column) pairs at z = t: each target, right and wrong."""
    if out == "softmax":
        columns = ([t, 1.0, -1.0], [t, -t, 0.5])
        return [(zc, list(np.eye(3)[k])) for zc in columns for k in range(3)]
    targets = (-1.0, 0.0, 1.0) if out == "tanh" else (0.0, 1.0)
    return [([t], [y]) for y in targets]


@functools.cache  # (both dtypes share it)
def _reference(out, cost, zc, yc):
    """(C_x, δ^L) in 1000-digit arithmetic, by the textbook formulas."""
    with mp.workdps(1000):
        z, y = [mp.mpf(v) for v in zc], [mp.mpf(v) for v in yc]
        n = len(z)
        if out == "softmax":
            e = [mp.exp(v) for v in z]
            a = [v / sum(e) for v in e]
            J = [[a[j] * ((j == k) - a[k]) for k in range(n)] for j in range(n)]
        else:
            a, d = {
                "sigmoid": (lambda v: 1 / (1 + mp.exp(-v)), lambda v, s: s * (1 - s)),
                "tanh": (mp.tanh, lambda v, s: 1 - s * s),
                "identity": (lambda v: v, lambda v, s: 1),
                "relu": (lambda v: max(v, 0), lambda v, s: int(v > 0)),
                "leaky_relu": (
                    lambda v: v if v > 0 else v / 100,
                    lambda v, s: 1 if v > 0 else mp.mpf(1) / 100,
                ),
            }[out]
            a = [a(v) for v in z]
            J = [[d(z[j], a[j]) if j == k else 0 for k in range(n)] for j in range(n)]
        if cost == "quadratic":
            C = sum((p - q) ** 2 for p, q in zip(a, y)) / 2
            g = [p - q for p, q in zip(a, y)]
        elif cost == "cross_entropy":
            C = -sum(q * mp.log(p) for p, q in zip(a, y) if q)
            g = [-q / p for p, q in zip(a, y)]
        else:
            C = -sum(q * mp.log(p) + (1 - q) * mp.log(1 - p) for p, q in zip(a, y))
            g = [(p - q) / (p * (1 - p)) for p, q in zip(a, y)]
        delta = [sum(g[j] * J[j][k] for j in range(n)) for k in range(n)]
        return float(C), tuple(float(v) for v in delta)


def reference(out, cost, zc, yc):
    C, delta = _reference(out, cost, tuple(zc), tuple(float(v) for v in yc))
    return C, np.array(delta)


def within(got, want, dtype, absolute=0.0):
    info = np.finfo(dtype)
    bound = 8 * float(info.eps) * np.abs(want) + float(info.tiny) + absolute * float(info.eps)
    return np.abs(np.asarray(got, np.float64) - want) <= bound


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out,cost", PAIRS)
def test_cost_and_delta_match_the_reference_in_the_tails(out, cost, dtype):
    act, c = activations.get(out), costs.get(cost)
    for t in TAILS + MIDDLE:
        for zc, yc in cases(out, t):
            C, delta = reference(out, cost, zc, yc)
            z = np.array(zc, dtype)[:, None]
            y = np.array(yc, dtype)[:, None]
            a = act.fn(z)
            case = f"{out}+{cost} {np.dtype(dtype).name} z={zc} y={yc}"
            shortcut = 2.0 if (out, cost) == ("softmax", "cross_entropy") else 0.0  # (the module docstring)
            for name, got, absolute in (
                ("delta", c.delta(z, a, y, act), shortcut),
                ("delta_exact", c.delta_exact(z, a, y, act), 0.0),
            ):
                assert got.dtype == dtype, case
                assert within(got[:, 0], delta, dtype, absolute).all(), (
                    f"{case}: {name} {got[:, 0]} vs {delta}"
                )
            each, mean = c.each(a, y, z=z, act=act), c.fn(a, y, z=z, act=act)
            assert within(each, C, dtype).all() and within(mean, C, dtype), f"{case}: C {each}, {mean} vs {C}"


def test_the_reported_cases():
    """Issue 15's two: sigmoid + cross-entropy at z = −40 gave −0 (exact: −1); σ(z ≲ −38) gave 0."""
    z, y = np.array([[-40.0]]), np.array([[1.0]])
    sigmoid = activations.Sigmoid()
    a = sigmoid.fn(z)
    assert costs.CategoricalCrossEntropy().delta(z, a, y, sigmoid)[0, 0] == -1.0
    assert costs.CategoricalCrossEntropy().fn(a, y, z=z, act=sigmoid) == 40.0  # −ln σ(−40) = 40 + 4·10⁻¹⁸
    for dtype in (np.float32, np.float64):
        s = sigmoid.fn(np.array([-40.0, -80.0, -700.0], dtype))
        rel = 4 * float(np.finfo(dtype).eps)
        assert s[0] == pytest.approx(np.exp(-40.0), rel=rel) and s[1] == pytest.approx(np.exp(-80.0), rel=rel)
        if dtype == np.float32:  # e⁻⁷⁰⁰ is below float32's range: σ is held under its smallest normal
            assert s[2] < np.finfo(np.float32).tiny
        else:
            assert s[2] == pytest.approx(np.exp(-700.0), rel=rel)
    # softmax + binary cross-entropy, p(true) = e⁻⁴⁰/2: δ = −1 for it, not the clip's 0
    z = np.array([[-40.0], [0.0], [0.0]])
    y = np.array([[1.0], [0.0], [0.0]])
    softmax, bce = activations.Softmax(), costs.BinaryCrossEntropy()
    assert bce.delta(z, softmax.fn(z), y, softmax)[0, 0] == pytest.approx(-1.0, rel=1e-15)


@pytest.mark.parametrize("out,cost", [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")])
def test_each_shortcut_equals_the_generic_path(out, cost):
    """δ = a − y for the canonical pairs, against δ from z through the log forms (and the textbook BP1)."""
    rng = np.random.default_rng(0)
    act, c = activations.get(out), costs.get(cost)
    n, m = (5, 200) if out == "softmax" else (4, 200)
    z = rng.normal(0, 4, (n, m))
    if out == "softmax":
        y = np.eye(n)[:, rng.integers(0, n, m)]
    else:
        y = rng.integers(0, 2, (n, m)).astype(float)
    a = act.fn(z)
    # softmax's a − y is off by an ε or so where a column's largest a is near 1 (see the top)
    atol = 2 * np.finfo(float).eps if out == "softmax" else 1e-300
    shortcut, generic = c.delta(z, a, y, act), c.delta_exact(z, a, y, act)
    np.testing.assert_allclose(shortcut, generic, rtol=1e-13, atol=atol)
    zt = 30 * z  # and in the tails
    at = act.fn(zt)
    np.testing.assert_allclose(c.delta(zt, at, y, act), c.delta_exact(zt, at, y, act), rtol=1e-13, atol=atol)
    # where no output has saturated, the textbook ∇_a C ⊙ σ' is exact too
    np.testing.assert_allclose(costs.Cost.delta(c, z, a, y, act), generic, rtol=1e-9, atol=1e-12)
    # and the value from z equals the value from a there
    assert c.fn(a, y, z=z, act=act) == pytest.approx(c.fn(a, y), rel=1e-12)
