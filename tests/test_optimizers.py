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
def test_overwrite_grads_changes_only_the_grads(make):
    # The training loop lets the optimizer write Δw over its gradient buffer; the
    # parameters and the state must come out exactly as without.
    p1, g1 = params_and_grads()
    p2, g2 = params_and_grads()
    a, b = make(), make()
    for _ in range(3):
        a.step(p1, [g.copy() for g in g1])
        b.step(p2, [g.copy() for g in g2], overwrite_grads=True)
    for x, y in zip(p1, p2):
        np.testing.assert_array_equal(x, y)
    assert a.state_dict().keys() == b.state_dict().keys()
    _, g = params_and_grads()
    grads = [x.copy() for x in g]
    optimizers.SGD(0.5).step(params_and_grads()[0], grads, overwrite_grads=True)
    np.testing.assert_array_equal(grads[0], -0.5 * g[0])  # now Δw, as documented
    kept = [x.copy() for x in g]
    optimizers.SGD(0.5).step(params_and_grads()[0], kept)
    np.testing.assert_array_equal(kept[0], g[0])  # the default leaves them alone


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


def test_an_optimizer_written_as_updates_grads_t_still_trains():
    # The documented interface is updates(grads, t); the training loop also offers
    # out= (SGD writes Δw there), which such an optimizer simply does not take.
    import nablanet as nn

    class SignSGD(optimizers.Optimizer):
        name = "sign_sgd"

        def updates(self, grads, t):
            return [-self.eta * np.sign(g) for g in grads], {}

    p, g = params_and_grads()
    SignSGD(0.5).step(p, g, overwrite_grads=True)
    np.testing.assert_allclose(p[0], [0.5, -2.5])
    rng = np.random.default_rng(0)
    net = nn.Network([3, 4, 2], seed=0)
    h = nn.fit(
        net, rng.random((20, 3)), rng.integers(0, 2, 20), epochs=2, batch_size=5, optimizer=SignSGD(0.01)
    )
    assert len(h.cost) == 2 and np.isfinite(h.cost).all()


def test_only_plain_sgd_declares_its_update_a_multiple_of_the_gradient():
    class NoisySGD(optimizers.SGD):  # a rule of its own: no longer −η ∇C
        def updates(self, grads, t, out=None):
            return [-self.eta * g + 1e-3 for g in grads], {}

    assert optimizers.SGD(0.5).gradient_scale() == -0.5
    assert optimizers.Momentum(0.5).gradient_scale() is None
    assert optimizers.Adam(0.5).gradient_scale() is None
    assert NoisySGD(0.5).gradient_scale() is None


def test_a_prescaled_step_adds_the_grads_as_they_are_and_counts_the_step():
    p, g = params_and_grads()
    opt = optimizers.SGD(0.5)
    opt.step(p, [-0.5 * x for x in g], prescaled=True)
    q, _ = params_and_grads()
    optimizers.SGD(0.5).step(q, g)
    for x, y in zip(p, q):
        np.testing.assert_array_equal(x, y)
    assert opt.t == 1


def test_a_prescaled_step_is_refused_where_the_update_is_no_multiple_of_the_gradient():
    p, g = params_and_grads()
    before = [x.copy() for x in p]
    opt = optimizers.Momentum(0.5)
    with pytest.raises(ValueError, match="prescaled=True, but Momentum's update is not a multiple"):
        opt.step(p, g, prescaled=True)
    for x, y in zip(p, before):
        np.testing.assert_array_equal(x, y)
    assert opt.t == 0 and getattr(opt, "v", None) is None


def test_a_prescaled_non_finite_update_changes_nothing():
    p, g = params_and_grads()
    before = [x.copy() for x in p]
    opt = optimizers.SGD(0.5)
    with pytest.raises(optimizers.NonFiniteUpdate):
        opt.step(p, [np.array([np.inf, 0.0]), np.array([[0.0]])], prescaled=True)
    for x, y in zip(p, before):
        np.testing.assert_array_equal(x, y)
    assert opt.t == 0


def test_an_optimizer_with_a_step_of_its_own_gets_the_gradient_in_fit():
    # A subclass that overrides step (to clip, to log) with the documented signature
    # keeps working, and sees ∇C, not the −η ∇C that plain SGD's step is handed.
    import nablanet as nn

    class ClipSGD(optimizers.SGD):
        def __init__(self, eta):
            super().__init__(eta)
            self.seen = []

        def step(self, params, grads, *, overwrite_grads=False):
            self.seen.append(float(np.abs(grads[0]).max()))
            clipped = [np.clip(g, -1.0, 1.0) for g in grads]
            super().step(params, clipped, overwrite_grads=overwrite_grads)

    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3)), rng.integers(0, 2, 40)
    opt = ClipSGD(1e-6)
    assert opt.gradient_scale() == -1e-6  # its rule is SGD's; its step is its own
    net = nn.Network([3, 4, 2], dtype="float64", seed=0)
    nn.fit(net, X, y, epochs=1, batch_size=8, optimizer=opt, seed=0)
    assert opt.t == 5 and len(opt.seen) == 5
    # The same first batch through the public gradient: what step saw is ∇C itself.
    from nablanet.backprop import backprop

    ref = nn.Network([3, 4, 2], dtype="float64", seed=0)
    order = np.random.default_rng(0).permutation(40)[:8]
    nabla_b, nabla_w = backprop(ref, X[order].T, np.eye(2)[y[order]].T)
    assert opt.seen[0] == pytest.approx(max(np.abs(g).max() for g in (*nabla_w, *nabla_b)), rel=1e-12)


@pytest.mark.parametrize("how", ["subclass of a scaled optimizer", "step replaced on the instance"])
def test_any_step_of_its_own_is_handed_the_gradient_not_the_update(how):
    # gradient_scale() is the documented extension point; a step that overrides the
    # base one, in a subclass or on the instance, is still handed ∇C.
    import nablanet as nn

    class Scaled(optimizers.Optimizer):  # Δw = −η ∇C, declared
        name = "scaled"

        def updates(self, grads, t, out=None):
            return [-self.eta * g for g in grads], {}

        def gradient_scale(self):
            return -self.eta

    seen = []

    def own_step(params, grads, *, overwrite_grads=False):
        seen.append(float(np.abs(grads[0]).max()))
        optimizers.Optimizer.step(opt, params, grads, overwrite_grads=overwrite_grads)

    if how == "subclass of a scaled optimizer":

        class Logged(Scaled):
            def step(self, params, grads, *, overwrite_grads=False):
                own_step(params, grads, overwrite_grads=overwrite_grads)

        opt = Logged(1e-6)
    else:
        opt = optimizers.SGD(1e-6)
        opt.step = own_step
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3)), rng.integers(0, 2, 40)
    net = nn.Network([3, 4, 2], dtype="float64", seed=0)
    nn.fit(net, X, y, epochs=1, batch_size=8, optimizer=opt, seed=0)
    assert len(seen) == 5 and opt.t == 5
    assert min(seen) > 1e-4  # ∇C of a fresh network, not −η ∇C (about 1e-7 here)


def test_prescale_is_the_gradient_scale_only_where_step_is_the_base_one():
    sgd, replaced = optimizers.SGD(0.5), optimizers.SGD(0.5)
    replaced.step = lambda params, grads, **kw: None
    assert optimizers.prescale(sgd) == -0.5
    assert optimizers.prescale(replaced) is None and replaced.gradient_scale() == -0.5
    assert optimizers.prescale(optimizers.Momentum(0.5)) is None
    assert optimizers.prescale(optimizers.Adam()) is None
