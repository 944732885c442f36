"""The backprop trace, recomputed by hand for a [2, 2, 1] sigmoid network."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import Network
from nablanet.backprop import backprop
from nablanet.teaching.trace import errors, explain, render, trace

# Worked by hand (a calculator for σ). W^1 = [[0.1, −0.2], [0.4, 0.3]], b^1 = [0, 0.1],
# W^2 = [[0.5, −0.5]], b^2 = [0.2], x = [1, 0.5], y = 1, quadratic cost C = ½(a − y)².
#   (25) z^1 = [0.1 − 0.1 + 0, 0.4 + 0.15 + 0.1] = [0, 0.65]
#   (23) a^1 = [σ(0), σ(0.65)] = [0.5, 0.6570104627]
#   (25) z^2 = 0.25 − 0.3285052313 + 0.2 = 0.1214947687
#   (23) a^2 = σ(0.1214947687) = 0.5303363851
#   BP1  δ^2 = (a^2 − 1) σ'(z^2) = (−0.4696636149)(0.5303363851)(0.4696636149) = −0.1169836741
#   BP2  δ^1 = [0.5 δ^2 · 0.25, −0.5 δ^2 · 0.6570104627 · 0.3429895373] = [−0.0146229593, 0.0131810018]
#   BP3  ∂C/∂b = δ;  BP4  ∂C/∂w_jk = a_k δ_j
HAND = {
    "z^1": [0.0, 0.65],
    "a^1": [0.5, 0.6570104627],
    "z^2": [0.1214947687],
    "a^2": [0.5303363851],
    "δ^2": [-0.1169836741],
    "∂C/∂b^2": [-0.1169836741],
    "∂C/∂W^2": [[0.5 * -0.1169836741, 0.6570104627 * -0.1169836741]],
    "δ^1": [-0.0146229593, 0.0131810018],
    "∂C/∂b^1": [-0.0146229593, 0.0131810018],
    "∂C/∂W^1": [[-0.0146229593, 0.5 * -0.0146229593], [0.0131810018, 0.5 * 0.0131810018]],
}
EQUATION = {"z": "(25)", "a": "(23)", "δ^2": "BP1", "δ^1": "BP2", "∂C/∂b": "BP3", "∂C/∂W": "BP4"}


@pytest.fixture
def net():
    net = Network([2, 2, 1], dtype="float64", seed=0, preset="nielsen")
    net.W = [np.array([[0.1, -0.2], [0.4, 0.3]]), np.array([[0.5, -0.5]])]
    net.b = [np.array([0.0, 0.1]), np.array([0.2])]
    return net


def test_trace_matches_the_hand_computation(net):
    tr = trace(net, [1.0, 0.5], 1.0)
    steps = {s.symbol: s for s in tr.steps}
    assert list(steps) == [
        "z^1",
        "a^1",
        "z^2",
        "a^2",
        "δ^2",
        "∂C/∂b^2",
        "∂C/∂W^2",
        "δ^1",
        "∂C/∂b^1",
        "∂C/∂W^1",
    ]
    for symbol, value in HAND.items():
        np.testing.assert_allclose(steps[symbol].value, value, atol=1e-10, err_msg=symbol)
        assert steps[symbol].shape == np.shape(value)
        want = next(eq for prefix, eq in EQUATION.items() if symbol.startswith(prefix))
        assert steps[symbol].equation == want, symbol
    assert tr.cost == pytest.approx(0.5 * 0.4696636149**2, abs=1e-10)


def test_trace_gradient_is_backprops(net):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 2)), rng.random((3, 1))
    tr = trace(net, X, Y)
    nabla_b, nabla_w = backprop(net, X.T, Y.T)
    for got, want in zip([*tr.nabla_b, *tr.nabla_w], [*nabla_b, *nabla_w]):
        np.testing.assert_array_equal(got, want)
    assert tr.m == 3 and tr.steps[0].shape == (2, 3)
    assert "(1/m) Σ_x" in next(s.formula for s in tr.steps if s.equation == "BP3")


def test_errors_average_to_nabla_b():
    net = Network(
        [3, 4, 4, 2], activation="relu", cost="cross_entropy", dtype="float64", seed=1, preset="nielsen"
    )
    X = np.random.default_rng(1).standard_normal((5, 3))
    z, a = net.forward(X)
    Y = np.eye(2)[[0, 1, 1, 0, 1]].T
    delta = errors(net, z, a, Y)
    nabla_b, _ = backprop(net, X.T, Y)
    for l in range(1, 4):
        np.testing.assert_allclose(delta[l].mean(axis=1), nabla_b[l], atol=1e-14)


def test_render_shows_equations_shapes_and_numbers(net):
    text = render(trace(net, [1.0, 0.5], 1.0))
    assert "BP2   δ^1        shape 2" in text
    assert "0.6570" in text and "-0.1170" in text
    assert "-0.0000" not in text


def test_explain_substitutes_the_numbers(net):
    text = explain(trace(net, [1.0, 0.5], 1.0))
    assert "z^1_2 = 0.4000·1.0000 + 0.3000·0.5000 + 0.1000 = 0.6500" in text
    assert "a^1_2 = sigmoid(0.6500) = 0.6570" in text
    assert "δ^2_1 = (-0.4697) · 0.2491 = -0.1170" in text
    assert "δ^1_1 = (0.5000·(-0.1170)) · 0.2500 = -0.0146" in text
    assert "∂C/∂w^1_12 = 0.5000·(-0.0146) = -0.0073" in text


def test_explain_softmax_cross_entropy():
    net = Network([2, 3, 2], cost="cross_entropy", dtype="float64", seed=0, preset="nielsen")
    tr = trace(net, [0.5, 1.0], 1)
    text = explain(tr)
    a = tr.a[2].ravel()
    assert f"δ^2_1 = {a[0]:.4f} − 0.0000 = {a[0]:.4f}" in text


def test_explain_needs_one_example(net):
    with pytest.raises(ValueError, match="one example"):
        explain(trace(net, [[1.0, 0.5], [0, 0]], [1, 0]))


def test_bad_input_is_named(net):
    with pytest.raises(ValueError, match="x has 3 features"):
        trace(net, [1.0, 0.5, 0.0], 1.0)


def test_to_dict_is_json_ready(net):
    import json

    d = json.loads(json.dumps(trace(net, [1.0, 0.5], 1.0).to_dict()))
    assert d["steps"][4]["equation"] == "BP1" and d["steps"][4]["shape"] == [1]


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy", "binary_cross_entropy"])
def test_float32_batches_trace_without_mismatch(cost):
    net = Network(
        [3, 4, 2], activation="relu", cost=cost, init="he", dtype="float32", seed=4, preset="nielsen"
    )
    rng = np.random.default_rng(4)
    tr = trace(net, rng.random((5, 3)), rng.integers(0, 2, 5))
    assert tr.m == 5 and all(s.value.dtype == np.float32 for s in tr.steps)


def test_a_trace_with_dropout_shows_each_mask_and_matches_backprop_with_it():
    from nablanet.train import dropout_masks

    rng = np.random.default_rng(0)
    net = nn.Network([3, 4, 4, 2], dtype="float64", seed=1)
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    keep = dropout_masks(net, [0.5, 0.5], 5, rng)
    tr = trace(net, x, y, keep=keep)
    symbols = [s.symbol for s in tr.steps]
    assert symbols.index("r^1") == symbols.index("a^1") + 1 and "r^3" not in symbols
    bp2 = next(s for s in tr.steps if s.symbol == "δ^1")
    assert bp2.formula.endswith("⊙ r^1")
    nabla_b, nabla_w = nn.backprop(net, x.T, np.eye(2)[y].T, keep=keep)
    np.testing.assert_allclose(tr.nabla_w[2], nabla_w[2], rtol=1e-12)
    assert not np.allclose(tr.nabla_w[2], nn.backprop(net, x.T, np.eye(2)[y].T)[1][2])
