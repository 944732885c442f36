"""Dropout and L1: the gradient with a fixed mask against finite differences, and exact resume."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.backprop import backward
from nablanet.buffers import Workspace
from nablanet.network import forward
from nablanet.train import dropout_masks, train_step

from .helpers import relative_error


def masked_cost(net, x, y, keep):
    _, a = forward(net, x, Workspace(net.sizes, x.shape[1], net.dtype), keep)
    return net.cost.fn(a[-1], y)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
def test_backprop_with_a_fixed_dropout_mask_matches_central_differences(hidden):
    rng = np.random.default_rng(1)
    net = nn.Network([4, 6, 5, 3], hidden, dtype="float64", seed=2)
    for b in net.b:  # off ReLU's kink
        b += rng.uniform(0.05, 0.2, b.shape)
    x, y = rng.standard_normal((4, 7)), np.eye(3)[:, rng.integers(0, 3, 7)]
    keep = dropout_masks(net, [0.5, 0.3], 7, rng)
    assert keep[0] is None and keep[3] is None and set(np.unique(keep[1])) <= {0.0, 2.0}
    ws = Workspace(net.sizes, 7, net.dtype)
    z, a = forward(net, x, ws, keep)
    got = backward(net, z, a, y, None, ws, keep=keep).copy()
    want = np.zeros_like(net.flat)
    for i in range(net.flat.size):
        old = net.flat[i]
        net.flat[i] = old + 1e-6
        up = masked_cost(net, x, y, keep)
        net.flat[i] = old - 1e-6
        down = masked_cost(net, x, y, keep)
        net.flat[i] = old
        want[i] = (up - down) / 2e-6
    assert relative_error([got], [want]) <= 1e-6
    plain = nn.backprop(net, x, y)  # without the mask the gradient differs: the mask is used
    assert relative_error([got], [np.concatenate([*(g.ravel() for g in plain[1]), *plain[0]])]) > 1e-3


def test_dropout_trains_only_and_a_trained_network_predicts_without_masks():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 5)), rng.integers(0, 3, 200)
    net = nn.Network([5, 16, 3], seed=0)
    nn.fit(net, X, y, epochs=2, dropout=0.5, seed=0, health=False)
    np.testing.assert_array_equal(net.feedforward(X[:10]), net.feedforward(X[:10]))
    with pytest.raises(ValueError, match="dropout of hidden layer 1 must be in"):
        nn.fit(net, X, y, dropout=1.0)
    with pytest.raises(ValueError, match="2 rates for 1 hidden layers"):
        nn.fit(net, X, y, dropout=[0.1, 0.2])


def test_l1_adds_lambda_over_n_times_the_sign_of_each_weight():
    rng = np.random.default_rng(0)
    net = nn.Network([3, 4, 2], dtype="float64", seed=1)
    by_hand = net.copy()
    x, y = rng.standard_normal((3, 5)), np.eye(2)[:, rng.integers(0, 2, 5)]
    train_step(net, nn.SGD(0.5), x, y, l1_n=0.01)
    nabla_b, nabla_w = nn.backprop(by_hand, x, y)
    for l in (1, 2):
        by_hand.W[l] -= 0.5 * (nabla_w[l] + 0.01 * np.sign(by_hand.W[l]))
        by_hand.b[l] -= 0.5 * nabla_b[l]
    np.testing.assert_allclose(net.flat, by_hand.flat, rtol=1e-13)


def test_a_run_with_dropout_resumes_bit_identically(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((90, 5)), rng.integers(0, 3, 90)
    kwargs = dict(epochs=3, batch_size=8, dropout=0.3, l1=1e-3, seed=4, health=False)
    whole = nn.Network([5, 8, 3], seed=0)
    nn.fit(whole, X, y, **kwargs)

    class StopMidEpoch(nn.Callback):
        def on_batch_end(self, run, cost):
            if run.epoch == 1 and run.batch == 5:
                run.stop = True

    ckpt = tmp_path / "run.ckpt"
    net = nn.Network([5, 8, 3], seed=0)
    nn.fit(net, X, y, **kwargs, callbacks=[StopMidEpoch()], checkpoint=ckpt)
    resumed = nn.Network([5, 8, 3], seed=0)
    nn.fit(resumed, X, y, epochs=3, resume=ckpt, health=False)
    np.testing.assert_array_equal(resumed.flat, whole.flat)
