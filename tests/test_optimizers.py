import numpy as np
import pytest

from nablanet import optimizers


def params_and_grads():
    return [np.array([1.0, -2.0]), np.array([[0.5]])], [np.array([0.1, 0.2]), np.array([[-1.0]])]


def test_sgd_rule():
    p, g = params_and_grads()
    optimizers.SGD(0.5).step(p, g)
    np.testing.assert_allclose(p[0], [0.95, -2.1])
    np.testing.assert_allclose(p[1], [[1.0]])


@pytest.mark.parametrize(
    "make", [lambda: optimizers.SGD(0.5), lambda: optimizers.Momentum(0.5), optimizers.Adam]
)
def test_a_step_leaves_the_gradient_as_it_was(make):
    p, g = params_and_grads()
    kept = [x.copy() for x in g]
    for _ in range(3):
        make().step(p, g)
    for x, y in zip(g, kept):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_update_that_would_make_a_weight_overflow_changes_nothing(dtype):
    # Δw is finite, but w + Δw is not: the guard must look at the sum, not only at Δw.
    big = np.finfo(dtype).max
    p = [np.array([0.75 * big, 1.0], dtype)]
    g = [np.array([-0.5 * big, 0.0], dtype)]
    opt = optimizers.SGD(1.0)
    with np.errstate(over="ignore"), pytest.raises(optimizers.NonFiniteUpdate, match="overflow"):
        opt.step(p, g)
    np.testing.assert_array_equal(p[0], np.array([0.75 * big, 1.0], dtype))
    assert opt.t == 0


def test_a_sum_that_rounds_to_inf_only_when_fused_is_refused_or_written_as_checked():
    # Near the float32 limit a fused multiply-add could round to −inf where
    # the two-rounding check said finite: the update must never leave a weight infinite.
    w, g = np.zeros(64, "f4"), np.zeros(64, "f4")
    w[0], g[0] = np.float32(-5.413331e30), np.float32(2.0016609e38)
    opt = optimizers.SGD(1.7)
    with np.errstate(over="ignore"):
        try:
            opt.step([w], [g])
        except optimizers.NonFiniteUpdate:
            assert w[0] == np.float32(-5.413331e30)
    assert np.isfinite(w).all()


def test_the_update_is_w_plus_kappa_u_with_no_other_blas_library():
    import subprocess
    import sys

    from nablanet import blas

    rng = np.random.default_rng(0)
    w, g, scratch = rng.standard_normal(1000), rng.standard_normal(1000), np.empty(1000)
    want = w + (-0.3) * g
    blas.axpy(-0.3, g, w, scratch)
    np.testing.assert_array_equal(w, want)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros(3)
        ro.flags.writeable = False
        blas.axpy(1.0, np.ones(3), ro)
    # SciPy's BLAS would bring a second thread pool: training must not load it.
    code = (
        "import sys, numpy as np, nablanet as nn;"
        "nn.fit(nn.Network([4, 3, 2], seed=0), np.ones((8, 4)), [0, 1] * 4, epochs=1, health=False);"
        "sys.exit('scipy.linalg' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_momentum_rule_over_two_steps():
    p, g = params_and_grads()
    opt = optimizers.Momentum(0.5, mu=0.9)
    opt.step(p, g)  # v = −0.05, p = 0.95
    opt.step(p, g)  # v = 0.9·(−0.05) − 0.05 = −0.095, p = 0.855
    assert p[0][0] == pytest.approx(0.855)
    assert opt.v[0][0] == pytest.approx(-0.095)


def test_adam_matches_the_textbook_form():
    p, g = params_and_grads()
    opt = optimizers.Adam(0.1)
    want = p[0].copy()
    m = s = np.zeros(2)
    for t in (1, 2, 3):
        m = 0.9 * m + 0.1 * g[0]
        s = 0.999 * s + 0.001 * g[0] ** 2
        want = want - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
        opt.step(p, g)
    np.testing.assert_allclose(p[0], want, rtol=1e-12)
    assert opt.t == 3


def test_state_dict_round_trip_continues_identically():
    p1, g = params_and_grads()
    a = optimizers.Adam(0.1)
    a.step(p1, g)
    b = optimizers.Adam(0.5)
    b.load_state_dict(a.state_dict())
    p2 = [x.copy() for x in p1]
    a.step(p1, g)
    b.step(p2, g)
    for x, y in zip(p1, p2):
        np.testing.assert_array_equal(x, y)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="eta"):
        optimizers.SGD(0)
    with pytest.raises(ValueError, match="mu"):
        optimizers.Momentum(0.1, mu=1.0)
    with pytest.raises(ValueError, match="beta2"):
        optimizers.Adam(beta2=1.5)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        optimizers.get("rmsprop", eta=0.1)
    assert isinstance(optimizers.get("momentum", eta=0.1, mu=0.5), optimizers.Momentum)


@pytest.mark.parametrize(
    "make", [lambda: optimizers.SGD(0.1), lambda: optimizers.Momentum(0.1), optimizers.Adam]
)
def test_a_non_finite_update_leaves_the_parameters_unchanged(make):
    p, g = params_and_grads()
    g[1][0, 0] = np.inf
    opt = make()
    opt.step(p, [np.ones_like(x) for x in g])  # one good step, so there is state to keep
    before = [x.copy() for x in p]
    state = {k: [a.copy() for a in v] if isinstance(v, list) else v for k, v in opt.state_dict().items()}
    with np.errstate(invalid="ignore", over="ignore"), pytest.raises(optimizers.NonFiniteUpdate):
        opt.step(p, g)
    for x, y in zip(p, before):
        np.testing.assert_array_equal(x, y)
    for k, v in opt.state_dict().items():  # velocities, moments and t as they were
        if isinstance(v, list):
            assert all(np.array_equal(a, b) for a, b in zip(v, state[k]))
        else:
            assert v == state[k]


def test_an_optimizer_used_on_another_network_says_so():
    opt = optimizers.Momentum(0.1)
    opt.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="use a new optimizer for another network"):
        opt.step([np.zeros(4)], [np.ones(4)])


def test_an_optimizer_of_ones_own_trains():
    # The documented interface: updates(grads, t) -> (c, u, state), with Δw = c·u.
    import nablanet as nn

    class SignSGD(optimizers.Optimizer):
        name = "sign_sgd"

        def updates(self, grads, t):
            return -self.eta, [np.sign(g) for g in grads], {}

    p, g = params_and_grads()
    SignSGD(0.5).step(p, g)
    np.testing.assert_allclose(p[0], [0.5, -2.5])
    rng = np.random.default_rng(0)
    net = nn.Network([3, 4, 2], seed=0, preset="nielsen")
    h = nn.fit(
        net,
        rng.random((20, 3)),
        rng.integers(0, 2, 20),
        epochs=2,
        batch_size=5,
        optimizer=SignSGD(0.01),
        preset="nielsen",
    )
    assert len(h.cost) == 2 and np.isfinite(h.cost).all()
