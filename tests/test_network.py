import subprocess
import sys

import numpy as np
import pytest

import nablanet as nn
from nablanet import activations, initializers


def test_shapes_follow_the_seeds_orientation():
    net = nn.Network([784, 30, 10], preset="nielsen")
    assert [W.shape for W in net.W] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.b] == [(30,), (10,)]
    assert net.n_params == 23860
    assert all(W.dtype == np.float32 for W in net.W)
    assert net.L == 2


def test_activation_per_layer_and_default_outputs():
    net = nn.Network([3, 4, 5, 2], ["relu", "tanh"], cost="cross_entropy", preset="nielsen")
    assert [a.name for a in net.activations] == ["relu", "tanh", "softmax"]
    assert nn.Network([3, 2], preset="nielsen").activations[-1].name == "sigmoid"


@pytest.mark.parametrize("init", [n for n in initializers.names() if n != "zeros"])
def test_initialisation_is_seeded_and_reproducible(init):
    a, b = (
        nn.Network([5, 4, 3], init=init, seed=7, preset="nielsen"),
        nn.Network([5, 4, 3], init=init, seed=7, preset="nielsen"),
    )
    c = nn.Network([5, 4, 3], init=init, seed=8, preset="nielsen")
    assert all(np.array_equal(x, y) for x, y in zip(a.W + a.b, b.W + b.b))
    assert not np.array_equal(a.W[1], c.W[1])


def test_initialisation_scales():
    rng = np.random.default_rng(0)
    W, _ = initializers.scaled(400, 400, rng)
    assert np.std(W) == pytest.approx(1 / 20, rel=0.05)
    W, b = initializers.he(400, 400, rng)
    assert np.std(W) == pytest.approx(np.sqrt(2 / 400), rel=0.05) and not b.any()
    W, _ = initializers.glorot(300, 500, rng)
    assert np.abs(W).max() <= np.sqrt(6 / 800)


def test_feedforward_predict_and_evaluate():
    net = nn.Network([2, 3, 2], cost="cross_entropy", seed=0, preset="nielsen")
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    out = net.feedforward(X)
    assert out.shape == (3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(net.predict(X), out.argmax(axis=1))
    ev = net.evaluate(X, net.predict(X))
    assert ev.accuracy == 1.0 and ev.cost > 0
    np.testing.assert_array_equal(net.predict_proba(X), out)


def test_single_output_predicts_by_threshold_and_regression_has_no_accuracy():
    net = nn.Network([2, 1], output="sigmoid", seed=0, preset="nielsen")
    X = np.array([[10.0, 10.0], [-10.0, -10.0]])
    a = net.feedforward(X)[:, 0]
    np.testing.assert_array_equal(net.predict(X), (a >= 0.5).astype(int))
    reg = nn.Network([2, 1], output="identity", seed=0, preset="nielsen")
    assert reg.evaluate(X, [0.3, 2.5]).accuracy is None
    with pytest.raises(ValueError, match="predict_proba needs"):
        reg.predict_proba(X)


BAD_NETWORKS = [
    (dict(sizes=[3]), ValueError, "at least 2 layer sizes"),
    (dict(sizes=[3, 0, 2]), ValueError, r"sizes\[1\] is 0"),
    (dict(sizes=[3, 2.5]), ValueError, "integers"),
    (dict(sizes=[3, 2], dtype=np.float16), ValueError, "float32 or float64"),
    (dict(sizes=[3, 2], dtype="int32"), ValueError, "float32 or float64"),
    (dict(sizes=[3, 2], activation="swish"), ValueError, "unknown activation"),
    (dict(sizes=[3, 2], cost="hinge"), ValueError, "unknown cost"),
    (dict(sizes=[3, 2], init="uniform"), ValueError, "unknown init"),
    (dict(sizes=[3, 4, 2], activation="softmax"), ValueError, "only be used on the output layer"),
    (dict(sizes=[3, 4, 4, 2], activation=["relu"]), ValueError, "1 hidden activations for 2"),
    (dict(sizes=[3, 1], output="softmax"), ValueError, "at least 2 output"),
    (dict(sizes=[3, 2], output="relu", cost="cross_entropy"), ValueError, "outputs in"),
]


@pytest.mark.parametrize("kwargs,error,match", BAD_NETWORKS)
def test_bad_configuration_is_a_clear_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Network(**kwargs)


def test_bad_inputs_are_clear_errors():
    net = nn.Network([4, 3, 3], cost="cross_entropy", seed=0, preset="nielsen")
    X = np.zeros((5, 4))
    with pytest.raises(ValueError, match="X has 3 features; the network expects 4"):
        net.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="1-D"):
        net.predict(np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        net.predict(np.zeros((0, 4)))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf \(first at index \[2, 1\]\)"):
        net.predict(bad)
    with pytest.raises(ValueError, match=r"y\[1\] = 3 is out of range"):
        net.evaluate(X, [0, 3, 1, 1, 0])
    with pytest.raises(ValueError, match="y has 4 examples; X has 5"):
        net.evaluate(X, [0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"expected \(5,\) integer labels or \(5, 3\)"):
        net.evaluate(X, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="non-integer"):
        net.evaluate(X, [0, 1.5, 1, 1, 0])
    with pytest.raises(ValueError, match="NaN or inf"):
        net.evaluate(X, np.full((5, 3), np.inf))
    with pytest.raises(TypeError, match="real numbers"):
        net.predict(np.array([["a"] * 4]))
    with pytest.raises(TypeError, match="real numbers"):
        net.predict(np.array([[1 + 5j, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"y\[0\] sums to 2: a softmax output needs each target row"):
        net.evaluate(X, np.tile([1.0, 1.0, 0.0], (5, 1)))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\] for the cross_entropy cost"):
        net.evaluate(X, np.tile([-1.0, 2.0, 0.0], (5, 1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_inputs_with_nan_or_inf_are_refused_whatever_their_layout(dtype, layout, bad):
    net = nn.Network([6, 3, 2], dtype=dtype, seed=0, preset="nielsen")
    X = np.random.default_rng(0).random((40, 12), dtype=dtype)
    X[17, 4] = bad
    views = {"C": (X[:, :6].copy(), 4), "F": (np.asfortranarray(X[:, :6]), 4), "strided": (X[:, ::2], 2)}
    X, col = views[layout]
    with pytest.raises(ValueError, match=rf"X contains NaN or inf \(first at index \[17, {col}\]\)"):
        net.predict(X)


def test_huge_but_finite_inputs_are_accepted():
    # ‖X‖² overflows float32 here, so the fast check cannot decide; the exact one must.
    net = nn.Network([3, 2], seed=0, preset="nielsen")
    X = np.full((4, 3), 3e37, np.float32)
    assert net.check_inputs(X) is X
    assert net.check_inputs(np.asfortranarray(X)).shape == (4, 3)


def test_copy_is_deep():
    net = nn.Network([2, 2], seed=0, preset="nielsen")
    twin = net.copy()
    twin.W[1] += 1
    assert not np.array_equal(net.W[1], twin.W[1])


def test_custom_activation_object_is_accepted():
    net = nn.Network([2, 3, 2], activation=activations.LeakyReLU(0.3), preset="nielsen")
    assert net.activations[1].alpha == 0.3


def test_import_needs_numpy_only():
    code = (
        "import sys, nablanet, nablanet.network, nablanet.train, nablanet.backprop;"
        "bad = [m for m in ('matplotlib', 'sklearn', 'rich', 'mpi4py', 'torch') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_flat_holds_every_parameter_and_w_b_are_views_into_it():
    net = nn.Network([3, 4, 2], seed=0, preset="nielsen")
    W1 = net.W[1]  # a reference taken before training stays the live array
    before = [p.copy() for p in net.params]
    flat = net.flat
    assert flat.shape == (net.n_params,) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat, np.concatenate([p.ravel() for p in before]))
    nn.fit(net, np.ones((4, 3)), [0, 1, 0, 1], epochs=1, batch_size=2, seed=0)
    assert net.flat is flat and net.W[1] is W1 and np.shares_memory(W1, flat)
    flat[:] = 0  # writing the flat array writes the network
    assert not any(p.any() for p in net.params)


def test_assigning_a_layer_copies_into_the_buffer():
    net = nn.Network([2, 2], seed=0, preset="nielsen")
    flat = net.flat
    net.W[1] = np.full((2, 2), 7.0)
    assert net.flat is flat and flat[:4].tolist() == [7.0] * 4
    flat[0] = 1.0
    assert net.W[1][0, 0] == 1.0
    with pytest.raises(ValueError, match="shape"):
        net.W[1] = np.zeros((3, 2))
    net.b = [np.array([5.0, 6.0])]
    assert flat[4:].tolist() == [5.0, 6.0]


def test_layers_are_indexed_from_1_as_in_the_equations():
    net = nn.Network([3, 4, 2], seed=0)
    assert net.W[1].shape == (4, 3) and net.W[2].shape == (2, 4) and net.W[-1] is net.W[2]
    assert [W.shape for W in net.W] == [(4, 3), (2, 4)] and len(net.W) == net.L == 2
    for bad in (0, 3, -3):
        with pytest.raises(IndexError, match="layer"):
            net.W[bad]


def test_default_network_and_the_seeds_preset():
    net = nn.Network([3, 4, 2])
    assert [a.name for a in net.activations] == ["relu", "softmax"] and net.cost.name == "cross_entropy"
    assert net.init == "he"
    seeds = nn.Network([3, 4, 2], preset="nielsen")
    assert [a.name for a in seeds.activations] == ["sigmoid", "sigmoid"] and seeds.cost.name == "quadratic"
    assert seeds.init == "standard"
    with pytest.raises(ValueError, match="unknown preset"):
        nn.Network([3, 2], preset="keras")


def test_a_pickled_network_keeps_its_views_into_one_buffer():
    import pickle

    net = pickle.loads(pickle.dumps(nn.Network([3, 4, 2], seed=0)))
    assert all(np.shares_memory(p, net.flat) for p in net.params)
    net.flat[:] = 1.0
    assert (net.W[1] == 1).all()


def test_astype_casts_every_parameter():
    net = nn.Network([3, 4, 2], seed=0, dtype="float64")
    net32 = net.astype("float32")
    assert net32.dtype == np.float32 and net32.flat.dtype == np.float32
    np.testing.assert_allclose(net32.W[1], net.W[1], rtol=1e-6)
    assert all(np.shares_memory(p, net32.flat) for p in net32.params)
