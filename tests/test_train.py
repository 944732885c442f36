import numpy as np
import pytest
from sklearn.datasets import make_moons

import nablanet as nn
from nablanet.train import DivergenceError, Run, train


def hand_network():
    net = nn.Network([2, 2, 1], "sigmoid", "sigmoid", "quadratic", dtype=np.float64, preset="nielsen")
    net.W = [np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([[0.5, 0.6]])]
    net.b = [np.array([0.1, 0.2]), np.array([0.3])]
    return net


def test_one_sgd_step_on_a_2_2_1_network_matches_hand_computation():
    """x = (1, 2), y = 1, η = 0.5. By hand (see the numbers below):
    z¹ = (0.6, 1.3), a¹ = σ(z¹) = (0.645656, 0.785835), z² = 1.094329, a² = 0.749196,
    δ² = (a² − y) σ'(z²) = −0.0471264, δ¹ = (W²)ᵀ δ² ⊙ σ'(z¹) = (−0.00539089, −0.00475878),
    then w → w − η δ a_in and b → b − η δ."""
    net = hand_network()
    nn.fit(
        net,
        np.array([[1.0, 2.0]]),
        np.array([[1.0]]),
        epochs=1,
        batch_size=1,
        eta=0.5,
        seed=0,
        preset="nielsen",
    )
    np.testing.assert_allclose(net.W[2], [[0.5152137271473191, 0.6185167850132429]], rtol=1e-12)
    np.testing.assert_allclose(net.b[2], [0.32356319763412733], rtol=1e-12)
    np.testing.assert_allclose(
        net.W[1],
        [[0.10269544413672697, 0.20539088827345395], [0.3023793885458151, 0.40475877709163016]],
        rtol=1e-12,
    )
    np.testing.assert_allclose(net.b[1], [0.10269544413672697, 0.20237938854581508], rtol=1e-12)


def test_sgd_update_is_eta_over_m_times_the_summed_gradient():
    """w → w − (η/m) Σ_x ∂C_x/∂w over a mini-batch of m = 2."""
    net = hand_network()
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    Y = np.array([[1.0], [0.0]])
    summed = [np.zeros_like(p) for p in net.params]
    for x, y in zip(X, Y):
        nb, nw = nn.backprop_single(net, x, y)
        for s, g in zip(summed, nw + nb):
            s += g
    want = [p - (0.5 / 2) * s for p, s in zip(net.params, summed)]
    nn.fit(net, X, Y, epochs=1, batch_size=2, eta=0.5, seed=0, preset="nielsen")
    for p, w in zip(net.params, want):
        np.testing.assert_allclose(p, w, rtol=1e-13)


def test_learns_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = nn.Network([2, 8, 2], "tanh", cost="cross_entropy", init="glorot", seed=0, preset="nielsen")
    nn.fit(net, X, y, epochs=300, batch_size=4, optimizer=nn.Momentum(0.5, mu=0.9), seed=0, preset="nielsen")
    np.testing.assert_array_equal(net.predict(X), y)


def test_learns_two_moons_to_97_percent():
    X, y = make_moons(1500, noise=0.1, random_state=0)
    net = nn.Network([2, 32, 32, 2], "relu", cost="cross_entropy", init="he", seed=1, preset="nielsen")
    history = nn.fit(
        net,
        X[:1000],
        y[:1000],
        epochs=40,
        batch_size=16,
        eta=0.1,
        seed=2,
        validation_data=(X[1000:], y[1000:]),
        preset="nielsen",
    )
    assert net.evaluate(X[1000:], y[1000:]).accuracy >= 0.97
    assert history.cost[-1] < history.cost[0]


@pytest.mark.parametrize("optimizer", [nn.SGD(0.5), nn.Momentum(0.1), nn.Adam(0.01)])
def test_each_optimizer_reduces_the_cost(optimizer):
    X, y = make_moons(400, noise=0.1, random_state=1)
    net = nn.Network([2, 16, 2], "tanh", cost="cross_entropy", init="glorot", seed=1, preset="nielsen")
    before = net.evaluate(X, y).cost
    nn.fit(net, X, y, epochs=20, batch_size=20, optimizer=optimizer, seed=3, preset="nielsen")
    assert net.evaluate(X, y).cost < 0.5 * before


def test_history_records_every_epoch():
    X, y = make_moons(100, random_state=0)
    net = nn.Network([2, 4, 2], cost="cross_entropy", seed=0, preset="nielsen")
    h = nn.fit(net, X, y, epochs=3, batch_size=10, eta=0.1, seed=0, validation_data=(X, y), preset="nielsen")
    assert len(h) == 3 and len(h.val_cost) == 3 and len(h.seconds) == 3
    assert all(0 <= acc <= 1 for acc in h.val_accuracy) and h.eta == [0.1] * 3
    h2 = nn.fit(net, X, y, epochs=2, batch_size=10, eta=0.1, seed=0, preset="nielsen")
    assert h2.val_cost == [None, None]
    assert nn.History.from_dict(h.to_dict()) == h


def test_training_is_reproducible_from_seeds():
    X, y = make_moons(200, random_state=0)
    results = []
    for _ in range(2):
        net = nn.Network([2, 5, 2], cost="cross_entropy", seed=4, preset="nielsen")
        nn.fit(net, X, y, epochs=3, batch_size=7, eta=0.3, seed=5, preset="nielsen")
        results.append(net.W[1].copy())
    assert np.array_equal(*results)


def test_lmbda_adds_weight_decay():
    """With λ > 0 and a zero data gradient, SGD shrinks weights by (1 − ηλ/n)."""
    net = nn.Network([1, 1], output="identity", dtype=np.float64, seed=0, preset="nielsen")
    net.W[1][:] = 2.0
    net.b[1][:] = 0.0
    X, y = np.zeros((4, 1)), np.zeros(4)  # a = 0 = y: the data gradient vanishes
    nn.fit(net, X, y, epochs=1, batch_size=4, eta=0.5, lmbda=2.0, seed=0, preset="nielsen")
    assert net.W[1][0, 0] == pytest.approx(2.0 * (1 - 0.5 * 2.0 / 4))


def test_sample_weight_zero_ignores_an_example():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    y = np.array([0, 1, 1])
    a = nn.Network([2, 2], cost="cross_entropy", dtype=np.float64, seed=0, preset="nielsen")
    b = a.copy()
    nn.fit(a, X, y, epochs=1, batch_size=3, eta=0.1, sample_weight=[1.0, 1.0, 0.0], preset="nielsen")
    nn.fit(b, X[:2], y[:2], epochs=1, batch_size=2, eta=0.1, preset="nielsen")
    np.testing.assert_allclose(a.W[1], b.W[1], rtol=1e-12)


def test_callbacks_see_every_step_and_can_stop():
    class Recorder(nn.Callback):
        def __init__(self):
            self.events = []

        def on_epoch_begin(self, run):
            self.events.append(("begin", run.epoch))

        def on_batch_end(self, run, cost):
            self.events.append(("batch", run.batch))
            if run.epoch == 1 and run.batch == 2:
                run.stop = True

        def on_epoch_end(self, run):
            self.events.append(("end", run.epoch))

    X, y = make_moons(30, random_state=0)
    rec = Recorder()
    net = nn.Network([2, 3, 2], cost="cross_entropy", seed=0, preset="nielsen")
    h = nn.fit(net, X, y, epochs=5, batch_size=10, eta=0.1, callbacks=[rec], preset="nielsen")
    assert rec.events == [
        ("begin", 0),
        ("batch", 1),
        ("batch", 2),
        ("batch", 3),
        ("end", 1),
        ("begin", 1),
        ("batch", 1),
        ("batch", 2),
    ]
    assert len(h) == 1


def test_stopped_run_continues_exactly_where_it_left_off():
    """Stopping mid-epoch and calling train() again replays the same shuffle."""
    X, y = make_moons(50, random_state=0)

    def fresh():
        return nn.Network([2, 4, 2], cost="cross_entropy", dtype=np.float64, seed=0, preset="nielsen")

    whole = fresh()
    nn.fit(whole, X, y, epochs=2, batch_size=8, eta=0.2, seed=9, preset="nielsen")

    class StopAt(nn.Callback):
        def on_batch_end(self, run, cost):
            if run.epoch == 1 and run.batch == 3:
                run.stop = True

    net = fresh()
    Y = net.check_targets(y, len(X))
    run = Run(net, nn.SGD(0.2), np.random.default_rng(9), epochs=2, batch_size=8)
    train(run, net.check_inputs(X), Y, callbacks=[StopAt()])
    assert (run.epoch, run.batch) == (1, 3)
    run.stop = False
    train(run, net.check_inputs(X), Y)
    for p, q in zip(net.params, whole.params):
        np.testing.assert_array_equal(p, q)


BAD_FITS = [
    (dict(epochs=-1), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(eta=-1.0), "eta"),
    (dict(lmbda=np.nan), "lmbda"),
    (dict(sample_weight=[1.0, 2.0]), "sample_weight"),
    (dict(sample_weight=[-1.0] * 6), "non-negative"),
    (dict(validation_data=(np.zeros((2, 3)), [0, 1])), "X_val has 3 features"),
]


@pytest.mark.parametrize("kwargs,match", BAD_FITS)
def test_bad_fit_arguments_fail_before_anything_changes(kwargs, match):
    net = nn.Network([2, 3, 2], cost="cross_entropy", seed=0, preset="nielsen")
    before = [p.copy() for p in net.params]
    with pytest.raises(ValueError, match=match):
        nn.fit(net, np.zeros((6, 2)), [0, 1] * 3, **kwargs)
    assert all(np.array_equal(p, q) for p, q in zip(before, net.params))


def test_divergence_stops_in_the_same_batch_and_keeps_finite_weights():
    X, y = make_moons(64, random_state=0)
    net = nn.Network([2, 8, 1], "relu", "identity", seed=0, preset="nielsen")
    with pytest.raises(DivergenceError, match=r"epoch \d+, mini-batch \d+: .*smaller learning rate"):
        with np.errstate(over="ignore", invalid="ignore"):
            nn.fit(net, X * 1e3, y, epochs=50, batch_size=8, eta=1e6, preset="nielsen")
    assert all(np.isfinite(p).all() for p in net.params)


def test_train_step_refuses_an_input_of_another_dtype_before_anything_changes():
    # np.dot writes only into an array of its result's dtype, so the workspace path
    # needs x in the network's dtype; fit converts once, a direct caller is told.
    from nablanet.train import train_step

    net = nn.Network([3, 4, 2], seed=0, preset="nielsen")  # float32
    before = net.flat.copy()
    x, y = np.ones((3, 5)), np.full((2, 5), 0.5)  # float64
    with pytest.raises(TypeError, match="x has dtype float64; this network computes in float32"):
        train_step(net, nn.SGD(0.1), x, y, 0.0)
    np.testing.assert_array_equal(net.flat, before)
    cost = train_step(net, nn.SGD(0.1), x.astype(np.float32), y.astype(np.float32), 0.0)
    assert np.isfinite(cost) and not np.array_equal(net.flat, before)


@pytest.mark.parametrize("lmbda_n,weighted", [(0.0, False), (0.01, False), (0.0, True), (0.01, True)])
def test_a_step_is_the_gradient_then_the_update(lmbda_n, weighted):
    # train_step = backprop's ∇C (plus the L2 term) handed to the optimizer, nothing else:
    # the same step done by hand from the public pieces gives the same weights.
    from nablanet.train import train_step

    rng = np.random.default_rng(3)
    net = nn.Network([5, 7, 4, 3], "sigmoid", "softmax", "cross_entropy", dtype="float64", seed=1)
    by_hand = net.copy()
    opt = nn.SGD(0.7)
    for _ in range(5):
        x = rng.standard_normal((5, 6))
        y = np.eye(3)[:, rng.integers(0, 3, 6)]
        w = rng.random(6) * 2 if weighted else None
        train_step(net, opt, x, y, lmbda_n, w)
        nabla_b, nabla_w = nn.backprop(by_hand, x, y, sample_weight=w)
        for l in range(1, net.L + 1):
            by_hand.W[l] -= 0.7 * (nabla_w[l] + lmbda_n * by_hand.W[l])
            by_hand.b[l] -= 0.7 * nabla_b[l]
    np.testing.assert_allclose(net.flat, by_hand.flat, rtol=1e-12, atol=1e-14)
