"""Backprop against finite differences, and the batched path against the per-example one."""

import itertools
import zlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nablanet as nn
from nablanet import activations, costs
from nablanet.backprop import Workspace, backprop, backprop_reference, backprop_single, backward, forward

from .helpers import numerical_gradient, random_targets, relative_error

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
OUTPUTS_FOR = {  # every output activation that makes sense with each cost
    "quadratic": ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"],
    "quadratic_nohalf": ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"],
    "binary_cross_entropy": ["sigmoid", "softmax"],
    "cross_entropy": ["softmax", "sigmoid"],
}
INITS = ["standard", "scaled", "he", "glorot"]
COMBINATIONS = [
    (hidden, output, cost, init)
    for cost, outputs in OUTPUTS_FOR.items()
    for hidden, output, init in itertools.product(HIDDEN, outputs, INITS)
]


def off_kinks(net, rng):
    """Nudge zero biases (He, Glorot) so that no z sits exactly on ReLU's kink at 0,
    where the central difference straddles two slopes."""
    for b in net.b:
        b += rng.uniform(0.05, 0.2, b.shape) * rng.choice([-1, 1], b.shape)


def make_cost(name):
    return costs.Quadratic(half=False) if name == "quadratic_nohalf" else name


@pytest.mark.parametrize("hidden,output,cost,init", COMBINATIONS)
def test_backprop_matches_central_differences(hidden, output, cost, init):
    rng = np.random.default_rng(zlib.crc32(f"{hidden} {output} {cost} {init}".encode()))
    net = nn.Network(
        [3, 4, 3], hidden, output, make_cost(cost), init, dtype=np.float64, seed=rng, preset="nielsen"
    )
    off_kinks(net, rng)
    x = rng.normal(size=(3, 5))
    y = random_targets(net, 5, rng)
    nabla_b, nabla_w = backprop(net, x, y)
    num_b, num_w = numerical_gradient(net, x, y)
    assert relative_error([*nabla_b, *nabla_w], [*num_b, *num_w]) <= 1e-6


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 5))  # layers with weights
    sizes = draw(st.lists(st.integers(1, 16), min_size=depth + 1, max_size=depth + 1))
    cost = draw(st.sampled_from(list(OUTPUTS_FOR)))
    outputs = [o for o in OUTPUTS_FOR[cost] if not (o == "softmax" and sizes[-1] < 2)]
    if not outputs:
        sizes[-1] = 2
        outputs = OUTPUTS_FOR[cost]
    hidden = [draw(st.sampled_from(HIDDEN)) for _ in range(depth - 1)]
    net = nn.Network(
        sizes,
        hidden,
        draw(st.sampled_from(outputs)),
        make_cost(cost),
        draw(st.sampled_from(["scaled", "glorot", "he"])),
        dtype=np.float64,
        seed=draw(st.integers(0, 2**32 - 1)),
        preset="nielsen",
    )
    m = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    off_kinks(net, rng)
    x = rng.normal(size=(sizes[0], m))
    # A central difference of step 1e-6 that straddles ReLU's kink measures neither
    # slope; the nudged biases make that rare, and this makes it impossible.
    z, a = forward(net, x)
    kinked = [l for l, act in enumerate(net.activations, start=1) if act.name in ("relu", "leaky_relu")]
    assume(all(np.abs(z[l]).min() > 1e-4 for l in kinked))
    # An output within 1e-4 of 1 keeps about 12 digits of 1 − a, and ln(1 − a) in a
    # cross-entropy passes that error, divided by 2ε = 2e-6, into the difference
    # quotient: beyond the 1e-6 tolerance, with backprop exact (seen: a = 1 − 4e-6).
    if net.cost.needs_probabilities:
        assume(np.all((a[-1] > 1e-4) & (a[-1] < 1 - 1e-4)))
    return net, x, random_targets(net, m, rng)


@settings(max_examples=60)
@given(networks())
def test_backprop_matches_finite_differences_on_random_architectures(case):
    net, x, y = case
    nabla_b, nabla_w = backprop(net, x, y)
    num_b, num_w = numerical_gradient(net, x, y)
    assert relative_error([*nabla_b, *nabla_w], [*num_b, *num_w]) <= 1e-6


@settings(max_examples=60)
@given(networks())
def test_batched_backprop_equals_mean_of_per_example_reference(case):
    net, x, y = case
    got = sum(backprop(net, x, y), [])
    want = sum(backprop_reference(net, x, y), [])
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)


def test_single_example_matches_a_batch_of_one():
    net = nn.Network(
        [4, 5, 3], "tanh", "softmax", "cross_entropy", dtype=np.float64, seed=3, preset="nielsen"
    )
    x = np.array([0.1, -0.2, 0.3, 0.4])
    y = np.array([0.0, 1.0, 0.0])
    single = sum(backprop_single(net, x, y), [])
    batch = sum(backprop(net, x.reshape(-1, 1), y.reshape(-1, 1)), [])
    for s, b in zip(single, batch):
        np.testing.assert_allclose(s, b, rtol=0, atol=1e-15)


@pytest.mark.parametrize("cost,output", [("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")])
def test_canonical_shortcut_equals_generic_bp1_product(cost, output):
    """δ^L = a − y (the shortcut) equals ∇_a C ⊙ σ'(z^L) computed the long way."""
    rng = np.random.default_rng(0)
    net = nn.Network([3, 4, 5], "sigmoid", output, cost, dtype=np.float64, seed=1, preset="nielsen")
    x = rng.normal(size=(3, 7))
    y = random_targets(net, 7, rng)
    z, a = forward(net, x)
    shortcut = net.cost.delta(z[-1], a[-1], y, net.activations[-1])
    generic = costs.Cost.delta(net.cost, z[-1], a[-1], y, net.activations[-1])
    # The shortcut is computed from z (exact in the tails), so it may differ from the
    # rounded a − y in the last bit.
    np.testing.assert_allclose(shortcut, a[-1] - y, rtol=0, atol=4 * np.finfo(np.float64).eps)
    np.testing.assert_allclose(generic, shortcut, rtol=1e-10, atol=1e-12)


def test_generic_softmax_jacobian_matches_finite_differences():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3))
    sm = activations.Softmax()
    got = sm.backward(z, sm.fn(z), g)
    eps = 1e-6
    want = np.zeros_like(z)
    for j in range(4):
        dz = np.zeros_like(z)
        dz[j] = eps
        want[j] = ((sm.fn(z + dz) - sm.fn(z - dz)) / (2 * eps) * g).sum(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_sample_weights_scale_each_examples_share():
    """Weight 2 on one example equals that example appearing twice."""
    rng = np.random.default_rng(4)
    net = nn.Network([2, 3, 2], "tanh", cost="cross_entropy", dtype=np.float64, seed=5, preset="nielsen")
    x = rng.normal(size=(2, 3))
    y = random_targets(net, 3, rng)
    weighted = sum(backprop(net, x, y, sample_weight=np.array([2.0, 1.0, 1.0]) * 3 / 4), [])
    x2, y2 = np.column_stack([x, x[:, :1]]), np.column_stack([y, y[:, :1]])
    repeated = sum(backprop(net, x2, y2), [])
    for w, r in zip(weighted, repeated):
        np.testing.assert_allclose(w, r, rtol=1e-12, atol=1e-14)


def test_float32_gradients_are_float32_and_close_to_float64():
    net64 = nn.Network([5, 6, 3], "sigmoid", cost="cross_entropy", dtype=np.float64, seed=0, preset="nielsen")
    net32 = net64.astype(np.float32)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 8))
    y = random_targets(net64, 8, rng)
    g32 = sum(backprop(net32, x.astype(np.float32), y.astype(np.float32)), [])
    g64 = sum(backprop(net64, x, y), [])
    assert all(g.dtype == np.float32 for g in g32)
    assert relative_error(g32, g64) < 1e-5


def test_each_bp_equation_is_tagged_in_backward():
    import inspect

    source = inspect.getsource(backward)
    for tag in ("# BP1", "# BP2", "# BP3", "# BP4"):
        assert source.count(tag) == 1, tag


def test_backward_means_over_the_given_batch_size_and_reports_each_layer_done():
    # A share of a batch, averaged over the whole batch's m: the shares' gradients add up.
    rng = np.random.default_rng(0)
    net = nn.Network([4, 6, 5, 3], "tanh", "softmax", "cross_entropy", dtype="float64", seed=0)
    x, y = rng.standard_normal((4, 6)), np.eye(3)[:, rng.integers(0, 3, 6)]
    whole = np.concatenate([g.ravel() for g in (*backprop(net, x, y)[1], *backprop(net, x, y)[0])])
    parts, done = [], []
    for cols in (slice(0, 4), slice(4, 6)):
        ws = Workspace(net.sizes, 2 if cols.start else 4, net.dtype)
        z, a = forward(net, x[:, cols], ws)
        parts.append(backward(net, z, a, y[:, cols], None, ws, m=6, layer_done=done.append).copy())
    np.testing.assert_allclose(parts[0] + parts[1], whole, rtol=1e-12, atol=1e-15)
    assert done == [3, 2, 1, 3, 2, 1]


def test_gradient_takes_rows_and_labels_and_equals_backprop():
    rng = np.random.default_rng(0)
    net = nn.Network([3, 5, 2], dtype="float64", seed=0)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    got_b, got_w = nn.gradient(net, X, y)
    want_b, want_w = backprop(net, X.T, np.eye(2)[y].T)
    for g, w in zip([*got_b, *got_w], [*want_b, *want_w]):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError, match="X has 4 features"):
        nn.gradient(net, np.ones((2, 4)), [0, 1])
    with pytest.raises(AttributeError, match="nablanet.gradient"):
        net.gradient(X, y)
