"""Issue 15's findings on training, each a test: no non-finite weight, no silent failure."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nablanet as nn


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data.astype(np.float32), d.target


def test_momentum_that_explodes_stops_with_finite_weights(digits):
    X, y = digits
    net = nn.Network([64, 32, 10], seed=0)
    with pytest.raises(nn.DivergenceError, match="The weights are those before this step"):
        with np.errstate(over="ignore", invalid="ignore"):
            nn.fit(net, X * 1000, y, epochs=3, optimizer=nn.Momentum(1e38, 0.9), seed=0, health=False)
    assert np.isfinite(net.flat).all()


def test_an_inf_in_an_initial_bias_is_refused_before_training(digits):
    X, y = digits
    net = nn.Network([64, 8, 10], seed=0)
    net.b[1][3] = np.inf
    before = net.flat.copy()
    with pytest.raises(ValueError, match=r"b\^1 holds inf at \[3\]"):
        nn.fit(net, X, y, epochs=1)
    np.testing.assert_array_equal(net.flat, before)


@pytest.mark.parametrize("scale", [1e308, 5e-324])
def test_extreme_sample_weights_are_normalised_not_lost(digits, scale):
    X, y = digits
    w = np.full(len(X), scale)
    w[::2] *= 0.5 if scale > 1 else 2  # two distinct weights at the very ends of float64
    a, b = nn.Network([64, 10], activation=[], dtype="float64", seed=0), None
    b = a.copy()
    nn.fit(a, X, y, epochs=1, sample_weight=w, seed=0, health=False)
    nn.fit(b, X, y, epochs=1, sample_weight=w / scale, seed=0, health=False)
    np.testing.assert_allclose(a.flat, b.flat, rtol=1e-12)
    with pytest.raises(ValueError, match="every sample_weight is 0"):
        nn.fit(a, X, y, sample_weight=np.zeros(len(X)))


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(eta="0.1"), TypeError, "eta must be a number, got str"),
        (dict(validation_data=("X",)), ValueError, "validation_data must be a pair"),
        (dict(lmbda=-50), ValueError, "lmbda must be a finite number ≥ 0"),
        (dict(epochs=2.5), TypeError, "epochs must be an integer"),
        (dict(checkpoint_every=0, checkpoint="c.npz"), ValueError, "checkpoint_every must be an integer ≥ 1"),
        (dict(dropout="0.5"), TypeError, "dropout must be a rate"),
    ],
)
def test_wrong_types_and_values_are_named(digits, kwargs, error, message):
    X, y = digits
    net = nn.Network([64, 8, 10], seed=0)
    before = net.flat.copy()
    with pytest.raises(error, match=message):
        nn.fit(net, X, y, **kwargs)
    np.testing.assert_array_equal(net.flat, before)


def test_a_finite_input_too_large_for_float32_says_so():
    net = nn.Network([2, 2], seed=0)
    with pytest.raises(ValueError, match=r"X\[0, 1\] = 1e\+300 is too large for float32"):
        net.check_inputs(np.array([[1.0, 1e300]]))
    with pytest.raises(ValueError, match="contains NaN or inf"):
        net.check_inputs(np.array([[1.0, np.nan]]))
