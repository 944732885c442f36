"""The per-layer health monitor: its numbers against independent computations, and its warnings."""

import json

import numpy as np
import pytest

import nablanet as nn
from nablanet.training.monitor import Monitor, summary

from .helpers import numerical_gradient


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X.sum(axis=1) > 0).astype(int)
    return X, y


def test_gradient_norms_agree_with_finite_differences():
    X, y = blobs(20)
    net = nn.Network(
        [3, 4, 2], activation="tanh", cost="cross_entropy", dtype=np.float64, seed=1, preset="nielsen"
    )
    Y = net.check_targets(y, len(X))
    history = nn.History()
    run = nn.train.Run(net, nn.SGD(0.1), np.random.default_rng(0), 1, 5, history=history)
    Monitor(X, Y, sample=1000).record(run)  # sample larger than n: all 20 examples
    nabla_b, nabla_w = numerical_gradient(net, X.T, Y.T)
    for d, nb, nw in zip(history.layers[0], nabla_b, nabla_w):
        assert d["grad_w_norm"] == pytest.approx(np.linalg.norm(nw), rel=1e-6)
        assert d["grad_b_norm"] == pytest.approx(np.linalg.norm(nb), rel=1e-6)


def test_records_before_training_and_after_every_epoch_as_plain_json():
    X, y = blobs()
    net = nn.Network([3, 5, 4, 2], activation=["sigmoid", "relu"], seed=2, preset="nielsen")
    history = nn.fit(net, X, y, epochs=3, batch_size=60, eta=0.5, monitor=True, seed=0, preset="nielsen")
    assert [[d["epoch"] for d in layers] for layers in history.layers] == [[e] * 3 for e in range(4)]
    assert [d["activation"] for d in history.layers[-1]] == ["sigmoid", "relu", "sigmoid"]
    text = json.dumps(history.to_dict(), allow_nan=False)  # no NumPy scalars, no NaN
    assert nn.History.from_dict(json.loads(text)).layers == history.layers
    assert all(d["update_ratio"] is None for d in history.layers[0])
    assert all(d["update_ratio"] > 0 for d in history.layers[-1])


def test_update_ratio_is_the_relative_change_over_one_epoch():
    X, y = blobs()
    net = nn.Network([3, 4, 2], seed=3, preset="nielsen")
    W0 = [W.copy() for W in net.W]
    history = nn.fit(net, X, y, epochs=1, batch_size=7, eta=2.0, monitor=True, seed=0, preset="nielsen")
    for d, W_start, W in zip(history.layers[1], W0, net.W):
        want = np.linalg.norm(W - W_start) / np.linalg.norm(W_start)
        assert d["update_ratio"] == pytest.approx(want, rel=1e-5)


def test_activation_and_weight_summaries():
    X, y = blobs(50)
    net = nn.Network([3, 6, 2], activation="relu", seed=4, preset="nielsen")
    history = nn.History()
    run = nn.train.Run(net, nn.SGD(0.1), np.random.default_rng(0), 1, 5, history=history)
    Monitor(X, net.check_targets(y, 50), sample=30, seed=7).record(run)
    idx = np.sort(np.random.default_rng(7).permutation(50)[:30])
    a1 = np.maximum(net.W[1] @ X[idx].T.astype(np.float32) + net.b[1][:, None], 0)
    s = history.layers[0][0]["activation_summary"]
    assert s["mean"] == pytest.approx(a1.mean(), rel=1e-5)
    assert s["percentiles"]["50"] == pytest.approx(np.median(a1), rel=1e-5, abs=1e-7)
    w = history.layers[0][1]["weight_summary"]
    assert w["std"] == pytest.approx(net.W[2].std(), rel=1e-5)
    assert w["percentiles"]["99"] == pytest.approx(np.percentile(net.W[2], 99), rel=1e-5)


def test_summary_of_an_all_nan_array_is_none():
    s = summary(np.array([np.nan, np.inf]))
    assert s["mean"] is None and s["percentiles"]["50"] is None


def test_saturated_sigmoid_and_tanh_units():
    X, y = blobs()
    for act in ("sigmoid", "tanh"):
        net = nn.Network([3, 8, 2], activation=act, seed=5, preset="nielsen")
        history = nn.History()
        run = nn.train.Run(net, nn.SGD(0.1), np.random.default_rng(0), 1, 5, history=history)
        monitor = Monitor(X, net.check_targets(y, len(X)))
        monitor.record(run)
        net.W[1] *= 1000  # |z| in the hundreds: σ'(z) ≈ 0 nearly everywhere
        monitor.record(run)
        before, after = history.layers[0][0]["saturated"], history.layers[1][0]["saturated"]
        assert before < 0.2 and after > 0.95
        assert history.layers[0][1]["dead"] is None


def test_dead_relus_are_units_off_on_every_example():
    X, y = blobs()
    net = nn.Network([3, 10, 2], activation="relu", init="he", seed=6, preset="nielsen")
    net.b[1][:3] = -1e3  # three units that no example can switch on
    net.b[1][3:] = 1e3  # and seven that every example switches on
    history = nn.History()
    run = nn.train.Run(net, nn.SGD(0.1), np.random.default_rng(0), 1, 5, history=history)
    Monitor(X, net.check_targets(y, len(X))).record(run)
    assert history.layers[0][0]["dead"] == pytest.approx(0.3)
    assert history.layers[0][0]["saturated"] is None


def test_vanishing_gradient_warns_once_when_it_starts():
    X, y = blobs()
    X *= 1e-4  # ∂C/∂W^1 = δ^1 (a^0)ᵀ shrinks with the input; layer 2's does not
    net = nn.Network([3, 4, 2], seed=7, preset="nielsen")
    history = nn.fit(net, X, y, epochs=3, eta=0.1, monitor=True, seed=0, preset="nielsen", health=False)
    assert all(layers[0]["vanishing"] for layers in history.layers)
    assert not any(layers[1]["vanishing"] for layers in history.layers)
    assert len(history.warnings) == 1
    assert history.warnings[0].startswith("before training: vanishing gradient in layer 1")
    assert "below layer 2's" in history.warnings[0]


def test_exploding_gradient_warns_above_the_threshold():
    X, y = blobs()
    net = nn.Network([3, 4, 2], seed=8, preset="nielsen")
    Y = net.check_targets(y, len(X))
    history = nn.fit(
        net, X, y, epochs=2, eta=0.1, callbacks=[Monitor(X, Y, exploding=1e-9)], seed=0, preset="nielsen"
    )
    assert all(d["exploding"] for layers in history.layers for d in layers)
    assert [w.split(": ")[1] for w in history.warnings] == [
        "exploding gradient in layer 1",
        "exploding gradient in layer 2",
    ]  # once each, before training, although it holds at every epoch


def test_bad_arguments():
    X, y = blobs()
    with pytest.raises(ValueError, match="sample must be an integer ≥ 1"):
        Monitor(X, np.eye(2)[y], sample=0)
    with pytest.raises(ValueError, match="X has 60 examples but Y has 2"):
        Monitor(X, np.eye(2))


def test_a_resumed_run_does_not_warn_again(tmp_path):
    X, y = blobs()
    X *= 1e-4  # layer 1's gradient vanishes from the start, as above
    ckpt = tmp_path / "run.ckpt"
    net = nn.Network([3, 4, 2], seed=7, preset="nielsen")
    nn.fit(
        net, X, y, epochs=2, eta=0.1, monitor=True, seed=0, checkpoint=ckpt, preset="nielsen", health=False
    )
    history = nn.fit(
        net, X, y, epochs=4, eta=0.1, monitor=True, seed=0, resume=ckpt, preset="nielsen", health=False
    )
    assert [layers[0]["epoch"] for layers in history.layers] == [0, 1, 2, 3, 4]
    assert len(history.warnings) == 1 and history.warnings[0].startswith("before training")
