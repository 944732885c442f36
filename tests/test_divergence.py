"""The non-finite guard: training that diverges stops in that mini-batch with DivergenceError.

NumPy warns (RuntimeWarning: overflow) on the way to inf, and pytest turns that
warning into an error in this project, so the tests of the guard itself silence
it; ``test_overflow_raises_divergence_error_not_a_numpy_warning`` checks that the
guard, not the warning, is what a user sees.
"""

import numpy as np
import pytest

import nablanet as nn
from nablanet.activations import Activation
from nablanet.train import Callback, DivergenceError

quiet = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] > 0).astype(int)


class Snapshots(Callback):
    """Keeps a copy of the parameters after every successful mini-batch."""

    def __init__(self):
        self.params, self.batches = [], []

    def on_train_begin(self, run):
        self.params.append([p.copy() for p in run.net.params])

    def on_batch_end(self, run, cost):
        self.params.append([p.copy() for p in run.net.params])
        self.batches.append((run.epoch + 1, run.batch))


def assert_params_equal(net, params):
    for p, want in zip(net.params, params, strict=True):
        assert np.isfinite(p).all()
        np.testing.assert_array_equal(p, want)


@quiet
def test_huge_learning_rate_stops_in_the_batch_that_overflows():
    X, y = data()
    net = nn.Network([4, 8, 2], activation="relu", output="identity", seed=0, preset="nielsen")
    snaps = Snapshots()
    with pytest.raises(DivergenceError) as err:
        nn.fit(net, X, y, epochs=5, batch_size=10, eta=1e6, seed=0, callbacks=[snaps], preset="nielsen")
    epoch, batch = snaps.batches[-1]
    msg = str(err.value)
    assert msg.startswith(f"epoch {epoch}, mini-batch {batch + 1}: training diverged: ")
    assert "z^2 (layer 2's weighted input) became NaN or inf" in msg
    assert "smaller learning rate eta" in msg and "init=" in msg
    assert_params_equal(net, snaps.params[-1])  # the last finite state, untouched


@quiet
def test_huge_learning_rate_with_tanh_names_the_cost():
    X, y = data()
    net = nn.Network([4, 8, 2], activation="tanh", output="identity", seed=0, preset="nielsen")
    snaps = Snapshots()
    with pytest.raises(DivergenceError, match="training diverged: the cost became NaN or inf"):
        nn.fit(net, X, y, epochs=5, batch_size=10, eta=1e6, seed=0, callbacks=[snaps], preset="nielsen")
    assert_params_equal(net, snaps.params[-1])


@quiet
@pytest.mark.parametrize("optimizer", [nn.SGD(1e6), nn.Momentum(1e6, mu=0.9), nn.Adam(1e6)])
def test_the_failing_step_reaches_neither_weights_nor_optimizer_state(optimizer):
    X, y = data()
    net = nn.Network(
        [4, 16, 16, 2], activation="relu", output="identity", init="he", seed=1, preset="nielsen"
    )
    snaps = Snapshots()
    with pytest.raises(DivergenceError):
        nn.fit(
            net,
            X,
            y,
            epochs=20,
            batch_size=10,
            optimizer=optimizer,
            seed=0,
            callbacks=[snaps],
            preset="nielsen",
        )
    assert optimizer.t == len(snaps.batches)  # every successful step, and not the failing one
    assert_params_equal(net, snaps.params[-1])


@quiet
def test_huge_initial_weights_stop_the_first_batch_and_keep_the_weights():
    X, y = data()
    net = nn.Network([4, 8, 8, 2], activation="relu", output="identity", seed=0, preset="nielsen")
    for W in net.W:
        W *= 1e15  # z^3 ~ 1e45 > float32's largest, 3.4e38
    before = [p.copy() for p in net.params]
    with pytest.raises(DivergenceError, match=r"^epoch 1, mini-batch 1: .*z\^3 \(layer 3's weighted input\)"):
        nn.fit(net, X, y, epochs=1, batch_size=10, eta=0.1, seed=0, preset="nielsen")
    assert_params_equal(net, before)


@quiet
def test_huge_initial_weights_in_a_saturating_network_stay_finite():
    # Sigmoid saturates instead of overflowing: nothing non-finite, so no error.
    X, y = data()
    net = nn.Network([4, 8, 2], activation="sigmoid", seed=0, preset="nielsen")
    for W in net.W:
        W *= 1e15
    nn.fit(net, X, y, epochs=1, batch_size=10, eta=0.1, seed=0, preset="nielsen")
    assert all(np.isfinite(p).all() for p in net.params)


class Spiky(Activation):
    """a = z, but with an infinite slope above z = 1: δ goes non-finite while z, a and C do not."""

    name = "spiky"

    def fn(self, z):
        return z.copy()

    def prime(self, z, a):
        return np.where(z > 1, np.inf, 1).astype(z.dtype)


@quiet
def test_a_non_finite_delta_is_named_with_its_layer():
    X, y = data()
    net = nn.Network([4, 3, 2], activation=Spiky(), output="identity", seed=0, preset="nielsen")
    with pytest.raises(DivergenceError, match=r"δ\^1 and ∂C/∂b\^1 \(layer 1\) became NaN or inf"):
        nn.fit(net, X, y, epochs=1, batch_size=100, eta=0.1, seed=0, preset="nielsen")


def test_divergence_error_is_a_floating_point_error():
    assert issubclass(DivergenceError, FloatingPointError)


def test_overflow_raises_divergence_error_not_a_numpy_warning():
    X, y = data()
    net = nn.Network([4, 8, 2], activation="relu", output="identity", seed=0, preset="nielsen")
    with pytest.raises(DivergenceError):
        nn.fit(net, X, y, epochs=5, batch_size=10, eta=1e6, seed=0, preset="nielsen")


@quiet
def test_an_update_that_overflows_leaves_the_last_finite_weights():
    X, y = data()
    net = nn.Network([4, 8, 2], activation="tanh", output="identity", seed=0, preset="nielsen")
    snaps = Snapshots()
    with pytest.raises(DivergenceError) as excinfo:
        nn.fit(net, X, y, epochs=5, batch_size=10, eta=1e38, seed=0, callbacks=[snaps], preset="nielsen")
    assert "the update" in str(excinfo.value)
    assert_params_equal(net, snaps.params[-1])
