import warnings

import numpy as np
import pytest

from nablanet import activations

ELEMENTWISE = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_prime_matches_finite_differences(name):
    act = activations.get(name)
    z = np.random.default_rng(0).normal(size=(5, 7))
    z[np.abs(z) < 1e-3] = 0.5  # stay off ReLU's kink
    eps = 1e-6
    numeric = (act.fn(z + eps) - act.fn(z - eps)) / (2 * eps)
    np.testing.assert_allclose(act.prime(z, act.fn(z)), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backward_is_g_times_prime(name):
    act = activations.get(name)
    rng = np.random.default_rng(1)
    z, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    a = act.fn(z)
    np.testing.assert_allclose(act.backward(z, a, g), g * act.prime(z, a), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softmax_are_finite_without_warnings_at_extremes(dtype):
    z = np.array([[-1000.0, -100.0, 0.0, 100.0, 1000.0]], dtype=dtype).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = activations.Sigmoid().fn(z)
        p = activations.Softmax().fn(z)
        p2 = activations.Softmax().fn(np.full((3, 2), 1e4, dtype=dtype))
    assert s.dtype == dtype and p.dtype == dtype
    assert np.isfinite(s).all() and np.isfinite(p).all() and np.isfinite(p2).all()
    # σ(−1000) is held below the smallest normal number (e^(−z) is capped so as not to overflow)
    assert 0 <= s[0, 0] < np.finfo(dtype).tiny and s[-1, 0] == 1 and s[2, 0] == 0.5
    np.testing.assert_allclose(p.sum(axis=0), 1, rtol=1e-6)
    np.testing.assert_allclose(p2, 1 / 3, rtol=1e-6)


def test_sigmoid_prime_uses_the_stored_activation():
    """σ' is taken from a = σ(z): passing a different a changes the answer."""
    z = np.zeros((1, 1))
    assert activations.Sigmoid().prime(z, np.full((1, 1), 0.5))[0, 0] == 0.25
    assert activations.Sigmoid().prime(z, np.full((1, 1), 0.9))[0, 0] == pytest.approx(0.09)


def test_softmax_columns_are_distributions():
    z = np.random.default_rng(2).normal(size=(6, 4))
    a = activations.Softmax().fn(z)
    np.testing.assert_allclose(a.sum(axis=0), 1)
    assert (a > 0).all()


def test_get_by_name_alias_and_object():
    assert isinstance(activations.get("ReLU"), activations.ReLU)
    assert isinstance(activations.get("logistic"), activations.Sigmoid)
    leaky = activations.LeakyReLU(0.2)
    assert activations.get(leaky) is leaky


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        activations.get("swish")
    with pytest.raises(TypeError):
        activations.get(3)
    with pytest.raises(ValueError, match="alpha"):
        activations.LeakyReLU(1.5)


def test_user_activations_train_whatever_they_do_with_out():
    # One written without out=, one that takes out= but returns a new float64 array:
    # both must train a float32 network (the loop's products need its own buffers).
    import nablanet as nn

    class Softplus(activations.Activation):
        name = "softplus"

        def fn(self, z):
            return np.logaddexp(0, z)

        def prime(self, z, a):
            return 1 / (1 + np.exp(-z))

    class Leaky(activations.Activation):
        name = "leaky_float64"

        def fn(self, z, out=None):
            return np.where(z > 0, z, 0.1 * z).astype(np.float64)  # ignores out

        def backward(self, z, a, g, out=None):
            return g * np.where(z > 0, 1.0, 0.1)  # float64, ignores out

        def prime(self, z, a):
            return np.where(z > 0, 1.0, 0.1)

    rng = np.random.default_rng(0)
    X, y = rng.random((40, 3), dtype=np.float32), rng.integers(0, 2, 40)
    for act in (Softplus(), Leaky()):
        net = nn.Network([3, 5, 2], activation=act, seed=0)
        h = nn.fit(net, X, y, epochs=2, batch_size=8, eta=0.5, seed=0)
        assert np.isfinite(h.cost).all() and net.W[1].dtype == np.float32
        z = rng.standard_normal((5, 4)).astype(np.float32)
        out = np.empty_like(z)
        assert act.fn(z, out=out) is out and act.backward(z, out, z, out=np.empty_like(z)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_relatively_exact_over_the_whole_range(dtype):
    """σ(z) within 2 ulps of the correctly rounded value from −80 to 40 (the tanh form lost it below 0)."""
    mp = pytest.importorskip("mpmath").mp
    z = np.linspace(-80, 40, 241).astype(dtype)
    with mp.workdps(60):
        want = np.array([float(1 / (1 + mp.exp(-mp.mpf(float(v))))) for v in z]).astype(dtype)
    got = activations.Sigmoid().fn(z)
    ulps = np.abs(got.astype(np.float64) - want) / np.spacing(want).astype(np.float64)
    assert got.dtype == dtype and ulps.max() <= 2, ulps.max()
    out = np.empty_like(z)
    assert activations.Sigmoid().fn(z, out=out) is out and np.array_equal(out, got)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "identity", "relu"])
def test_exact_output_forms_equal_the_plain_ones_away_from_saturation(name):
    """difference, backward_exact, log, log1m, backward_log from z: what a gives, where a is exact."""
    act, base = activations.get(name), activations.Activation
    rng = np.random.default_rng(3)
    z = rng.normal(0, 1.5, (4, 6))
    z[np.abs(z) < 1e-3] = 0.5  # off ReLU's kink
    a = act.fn(z)
    y, g, h = rng.random((4, 6)), rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    np.testing.assert_allclose(act.difference(z, a, y), a - y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(act.backward_exact(z, a, g), act.backward(z, a, g), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        act.backward_difference(z, a, y), act.backward(z, a, a - y), rtol=1e-12, atol=1e-15
    )
    if name in ("sigmoid", "softmax"):
        np.testing.assert_allclose(act.log(z, a), np.log(a), rtol=1e-12)
        np.testing.assert_allclose(act.log1m(z, a), np.log1p(-a), rtol=1e-12)
        np.testing.assert_allclose(
            act.backward_log(z, a, g, h), base.backward_log(act, z, a, g, h), rtol=1e-10
        )
        # and backward_log is the derivative of Σ (g ln a + h ln(1 − a)), by central differences
        f = lambda z: np.sum(g * act.log(z, act.fn(z)) + h * act.log1m(z, act.fn(z)))  # noqa: E731
        eps, numeric = 1e-6, np.empty_like(z)
        for idx in np.ndindex(z.shape):
            dz = np.zeros_like(z)
            dz[idx] = eps
            numeric[idx] = (f(z + dz) - f(z - dz)) / (2 * eps)
        np.testing.assert_allclose(act.backward_log(z, a, g, h), numeric, rtol=1e-6, atol=1e-8)
