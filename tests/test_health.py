"""The default checks that a run has not collapsed: each warning, and silence on a healthy run."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nablanet as nn
from nablanet.training.health import TrainingWarning


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data / 16, d.target


def warned(net, X, y, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = nn.fit(net, X, y, seed=0, **kwargs)
    python = [str(w.message) for w in caught if issubclass(w.category, TrainingWarning)]
    assert python == h.warnings  # every warning reaches both
    return h.warnings


def test_a_healthy_run_is_silent(digits):
    X, y = digits
    assert warned(nn.Network([64, 32, 10], seed=0), X, y, epochs=3) == []


def test_a_collapsed_run_says_it_is_at_chance(digits):
    X, y = digits
    found = warned(nn.Network([64, 32, 10], seed=0), X, y, epochs=3, eta=100)
    assert [w for w in found if "at chance" in w and "smaller learning rate" in w]
    assert len(found) == len(set(found))  # each once, not every epoch


def test_a_dead_relu_layer_is_named(digits):
    X, y = digits
    net = nn.Network([64, 32, 10], seed=0)
    net.b[1] = np.full(32, -1e3)  # no example can switch a unit on
    found = warned(net, X, y, epochs=1)
    assert any("every ReLU of layer 1 is off on every example" in w for w in found)


def test_a_saturated_sigmoid_layer_is_named(digits):
    X, y = digits
    net = nn.Network([64, 32, 10], "sigmoid", seed=0)
    net.W[1] *= 400  # |z| in the hundreds: σ'(z) ≈ 0 for every unit and example
    found = warned(net, X * 5, y, epochs=1)
    assert any("layer 1's sigmoid units are saturated" in w for w in found)


def test_a_zero_gradient_is_reported():
    X = np.ones((40, 3))
    y = np.tile([0.5], (40, 1))
    net = nn.Network([3, 1], activation=[], output="sigmoid", cost="quadratic", init="zeros")
    found = warned(net, X, y, epochs=1)  # a(z=0) = ½ = y: C is already at its minimum
    assert any("gradient ∂C/∂w is exactly 0" in w for w in found)


def test_a_cost_rising_three_epochs_in_a_row_is_reported(digits):
    X, y = digits

    class Grow(nn.Callback):  # make each epoch worse than the last, as a too-large η would
        def on_epoch_begin(self, run):
            run.optimizer.eta *= 4

    found = warned(nn.Network([64, 10], activation=[], seed=0), X, y, epochs=6, eta=0.3, callbacks=[Grow()])
    assert any("risen 3 epochs in a row" in w for w in found)


def test_health_can_be_turned_off(digits):
    X, y = digits
    assert warned(nn.Network([64, 32, 10], seed=0), X, y, epochs=1, eta=100, health=False) == []
