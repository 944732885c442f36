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
