import numpy as np
import pytest

from nablanet import costs


def test_quadratic_has_the_seeds_half_and_seed_003_variant():
    a = np.array([[0.2, 0.6], [0.8, 0.1]])  # two examples, as columns
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    # C = 1/(2n) Σ ‖y − a‖² = (0.04 + 0.04 + 0.16 + 0.01) / 4
    assert costs.Quadratic().fn(a, y) == pytest.approx(0.25 / 4)
    assert costs.Quadratic(half=False).fn(a, y) == pytest.approx(0.25 / 2)
    np.testing.assert_allclose(costs.Quadratic().grad_a(a, y), a - y)
    np.testing.assert_allclose(costs.Quadratic(half=False).grad_a(a, y), 2 * (a - y))


@pytest.mark.parametrize("name", ["quadratic", "binary_cross_entropy", "cross_entropy"])
def test_grad_a_matches_finite_differences_of_fn(name):
    cost = costs.get(name)
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 0.9, (3, 4))
    y = np.eye(3)[:, [0, 1, 2, 1]]
    m = a.shape[1]
    eps = 1e-6
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        d = np.zeros_like(a)
        d[idx] = eps
        numeric[idx] = (cost.fn(a + d, y) - cost.fn(a - d, y)) / (2 * eps) * m
    np.testing.assert_allclose(cost.grad_a(a, y), numeric, rtol=1e-6)


def test_cross_entropy_stays_finite_when_an_output_is_exactly_zero():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.isfinite(costs.CategoricalCrossEntropy().fn(a, y))
    assert np.isfinite(costs.BinaryCrossEntropy().fn(a, y))
    assert np.isfinite(costs.BinaryCrossEntropy().grad_a(a, y)).all()


def test_get_names_aliases_and_errors():
    assert isinstance(costs.get("mse"), costs.Quadratic)
    assert isinstance(costs.get("categorical_crossentropy"), costs.CategoricalCrossEntropy)
    with pytest.raises(ValueError, match="unknown cost 'hinge'"):
        costs.get("hinge")
    assert costs.Quadratic(half=False) != costs.Quadratic()


def test_cross_entropy_value_of_a_perfect_fit_is_plus_zero_and_shapes_still_broadcast():
    cost = costs.CategoricalCrossEntropy()
    a = np.eye(3)
    assert str(cost.fn(a, a)) == "0.0"  # not −0.0
    # A target column broadcast over the batch still means what the product means.
    a = np.full((3, 4), 0.25)
    y = np.full((3, 1), 1 / 3)
    assert cost.fn(a, y) == pytest.approx(-np.sum(y * np.log(a)) / 4)


PAIRS = [(out, "quadratic") for out in ("sigmoid", "tanh", "identity", "relu", "leaky_relu", "softmax")] + [
    (out, cost) for out in ("sigmoid", "softmax") for cost in ("cross_entropy", "binary_cross_entropy")
]


@pytest.mark.parametrize("out,cost", PAIRS)
def test_delta_is_the_derivative_of_the_cost_computed_from_z(out, cost):
    """δ^L = ∂C_x/∂z^L by central differences of ``each`` in z, for every output/cost pair."""
    from nablanet import activations

    act, c = activations.get(out), costs.get(cost)
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (3, 5))
    z[np.abs(z) < 1e-3] = 0.5
    y = np.eye(3)[:, [0, 1, 2, 1, 0]] if out == "softmax" else rng.integers(0, 2, (3, 5)).astype(float)
    eps, numeric = 1e-6, np.empty_like(z)
    for idx in np.ndindex(z.shape):
        dz = np.zeros_like(z)
        dz[idx] = eps
        up, down = z + dz, z - dz
        diff = c.each(act.fn(up), y, z=up, act=act) - c.each(act.fn(down), y, z=down, act=act)
        numeric[idx] = diff[idx[1]] / (2 * eps)
    a = act.fn(z)
    np.testing.assert_allclose(c.delta(z, a, y, act), numeric, rtol=1e-6, atol=1e-9)
    assert c.fn(a, y, z=z, act=act) == pytest.approx(np.mean(c.each(a, y, z=z, act=act)), rel=1e-12)
    w = rng.random(5)
    assert c.fn(a, y, w, z=z, act=act) == pytest.approx(np.sum(w * c.each(a, y, z=z, act=act)) / 5, rel=1e-12)


def test_z_and_act_go_together_and_costs_written_elsewhere_accept_them():
    from nablanet import activations

    a, y = np.full((2, 1), 0.5), np.array([[1.0], [0.0]])
    with pytest.raises(TypeError, match="together"):
        costs.BinaryCrossEntropy().fn(a, y, z=np.zeros((2, 1)))

    class Absolute(costs.Cost):  # fn without z=: still called the way the training step calls it
        def fn(self, a, y, weight=None):
            return float(np.abs(a - y).sum()) / a.shape[1]

    sig = activations.Sigmoid()
    assert Absolute().fn(a, y, z=np.zeros((2, 1)), act=sig) == 1.0
    np.testing.assert_allclose(Absolute().each(np.full((2, 3), 0.5), y), [1.0, 1.0, 1.0])
