"""The gradient check: it passes on the core's backprop and fails when a gradient is wrong."""

import numpy as np
import pytest

from nablanet import Network, activations, costs
from nablanet.network import Layers
from nablanet.teaching.gradcheck import default_eps, gradcheck, numerical_gradient, tolerances


def data(net, m=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, net.sizes[0])), rng.integers(0, net.sizes[-1], m)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["central", "forward"])
@pytest.mark.parametrize(
    "activation,cost",
    [("sigmoid", "quadratic"), ("tanh", "cross_entropy"), ("sigmoid", "binary_cross_entropy")],
)
def test_backprop_passes(dtype, method, activation, cost):
    net = Network([4, 5, 3, 3], activation=activation, cost=cost, init="scaled", dtype=dtype, seed=1)
    X, y = data(net)
    result = gradcheck(net, X, y, method=method)
    assert result.passed, str(result)
    assert [r.name for r in result.rows] == ["W^1", "b^1", "W^2", "b^2", "W^3", "b^3"]
    assert result.max_norm_rel_error < result.tol_norm
    assert result.dtype == dtype and result.numerical_dtype == "float64"


def test_cost_evaluations_are_counted():
    net = Network([3, 4, 2], dtype="float64", seed=0)
    X, y = data(net)
    n = net.n_params  # 3·4 + 4 + 4·2 + 2 = 26
    assert n == 26
    assert gradcheck(net, X, y, method="central").n_cost_evals == 2 * n
    assert gradcheck(net, X, y, method="forward").n_cost_evals == n + 1  # (46) needs C(w) once more


def test_a_wrong_gradient_fails():
    """Break BP1 by a factor of 1.01 in one layer: the check must say which arrays are wrong."""
    net = Network([3, 4, 2], dtype="float64", seed=0)
    X, y = data(net)

    class Off(type(net.cost)):
        def delta(self, z, a, y, act):
            return 1.01 * super().delta(z, a, y, act)

    net.cost = Off()
    result = gradcheck(net, X, y)
    assert not result.passed
    assert all(not r.passed for r in result.rows)
    # a 1 % error shows as a normwise error of about 0.01 / 2.01
    assert all(abs(r.norm_rel_error - 0.01 / 2.01) < 1e-4 for r in result.rows)


def test_a_transposed_weight_gradient_fails():
    net = Network([3, 3, 2], dtype="float64", seed=0)
    X, y = data(net)
    import nablanet.teaching.gradcheck as gc

    real = gc.backprop

    def swapped(net, x, y):
        nabla_b, nabla_w = real(net, x, y)
        return nabla_b, Layers([nabla_w[1].T, *list(nabla_w)[1:]])

    gc.backprop = swapped
    try:
        result = gradcheck(net, X, y)
    finally:
        gc.backprop = real
    assert [r.passed for r in result.rows] == [False, True, True, True]


def test_sampling_checks_fewer_entries_and_is_reproducible():
    net = Network([20, 10, 3], dtype="float64", seed=0)
    X, y = data(net)
    a = gradcheck(net, X, y, n_samples=5, seed=3)
    b = gradcheck(net, X, y, n_samples=5, seed=3)
    assert [r.n_checked for r in a.rows] == [5, 5, 5, 3]
    assert a.n_checked == 18 and a.n_cost_evals == 36
    assert a.to_dict() | {"seconds": 0} == b.to_dict() | {"seconds": 0}
    assert a.passed and "sampled 18 of 243" in str(a)


def test_the_network_is_left_unchanged():
    net = Network([3, 4, 2], dtype="float32", seed=0)
    before = [p.copy() for p in net.params]
    gradcheck(net, *data(net))
    assert all(np.array_equal(p, q) and p.dtype == q.dtype for p, q in zip(net.params, before))


def test_numerical_gradient_matches_eq_46_by_hand():
    """One weight of a 1-1 network, with C = ½(σ(wx + b) − y)²: (46) and central by formula."""
    net = Network([1, 1], dtype="float64", seed=0, preset="nielsen")  # sigmoid, quadratic
    net.W[1][:] = 0.6
    net.b[1][:] = 0.9
    x, y, eps = np.array([[1.0]]), np.array([[0.0]]), 1e-4
    C = lambda w: 0.5 / (1 + np.exp(-(w * 1.0 + 0.9))) ** 2  # noqa: E731
    _, nabla_w = numerical_gradient(net, x, y, eps, "forward")
    assert nabla_w[1][0, 0] == pytest.approx((C(0.6 + eps) - C(0.6)) / eps, rel=1e-9)
    _, nabla_w = numerical_gradient(net, x, y, eps, "central")
    assert nabla_w[1][0, 0] == pytest.approx((C(0.6 + eps) - C(0.6 - eps)) / (2 * eps), rel=1e-9)


def test_eps_and_tolerances_depend_on_dtype_and_method():
    assert default_eps("float64", "forward") == pytest.approx(np.sqrt(np.finfo(np.float64).eps))
    assert default_eps("float32", "central") == pytest.approx(np.finfo(np.float32).eps ** (1 / 3))
    assert tolerances("float64", "float64", "central")[0] < tolerances("float32", "float64", "central")[0]
    assert tolerances("float64", "float64", "central")[0] < tolerances("float64", "float64", "forward")[0]


def test_float32_differences_are_coarser_but_pass():
    net = Network([4, 5, 3], dtype="float32", init="scaled", seed=2)
    X, y = data(net, seed=2)
    result = gradcheck(net, X, y, numerical_dtype=None)
    assert result.numerical_dtype == "float32" and result.eps == pytest.approx(
        default_eps("float32", "central")
    )
    assert result.passed, str(result)


def test_an_example_on_a_relu_kink_is_left_out_and_named_not_failed():
    """z^1_1 = 0 exactly for example 1: its differences straddle the kink, so it is left out of both sides."""
    net = Network([2, 3, 2], activation="relu", dtype="float64", seed=0)
    net.W[1][:] = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    net.b[1][:] = 0
    X = np.array([[0.5, 0.3], [0.0, 1.0], [0.7, 0.2]])
    result = gradcheck(net, X, [1, 0, 1])
    assert [e["example"] for e in result.excluded] == [1] and "z^1" in result.excluded[0]["reason"]
    assert result.status == "passed" and result.n_examples_compared == 2, str(result)
    assert "compared over 2 of 3 examples" in str(result) and "example 1:" in str(result)
    # The same example alone cannot be checked at all: inconclusive, never failed.
    alone = gradcheck(net, X[1:2], [0])
    assert alone.status == "inconclusive" and not alone.passed and "INCONCLUSIVE" in str(alone)

    # Leaving examples out hides no bug: a wrong BP1 still fails on the others.
    class Off(type(net.cost)):
        def delta(self, z, a, y, act):
            return 1.01 * super().delta(z, a, y, act)

    net.cost = Off()
    assert gradcheck(net, X, [1, 0, 1]).status == "failed"


def test_an_example_whose_cost_is_not_finite_is_left_out():
    net = Network([1, 1], activation="identity", output="identity", cost="quadratic", dtype="float64", seed=0)
    net.W[1][:] = 1e200
    net.b[1][:] = 0.5
    result = gradcheck(
        net, np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]])
    )  # example 1: z = 1e200, C = inf
    assert [e["example"] for e in result.excluded] == [1] and "not finite" in result.excluded[0]["reason"]
    assert result.passed and np.isfinite(result.cost), str(result)


def test_the_reported_softmax_case_passes_and_names_its_saturated_examples():
    """Issue 16: [20, 16, 16, 5] ReLU + softmax + cross-entropy, N(0, 1) weights, as the CLI builds it.

    Two examples have p(true class) below machine ε; the clipped cost made the check fail with a
    normwise error of 0.3–0.4. From z in log form the cost is exact there.
    """
    net = Network([20, 16, 16, 5], activation="relu", output="softmax", cost="cross_entropy",
                  init="standard", dtype="float64", seed=0)  # fmt: skip
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (10, 20)), rng.integers(0, 5, 10)
    result = gradcheck(net, X, y)
    assert result.passed and result.max_norm_rel_error < 1e-8, str(result)
    saturated = [note for note in result.notes if "below machine ε" in note]
    assert len(saturated) == 1 and "examples 4 " in saturated[0] and " 9 " in saturated[0]
    # and the cost it reports is the exact mean over the batch, not the clipped one
    p_true = net.predict_proba(X)[np.arange(10), y]
    assert (p_true[[4, 9]] < np.finfo(np.float64).eps).all()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"method": "backward"}, "method"),
        ({"eps": 0.0}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"n_samples": 0}, "n_samples"),
        ({"numerical_dtype": "int32"}, "numerical_dtype"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    net = Network([2, 2], seed=0)
    with pytest.raises(ValueError, match=match):
        gradcheck(net, np.zeros((1, 2)), [0], **kwargs)


def test_bad_data_is_named():
    net = Network([2, 2], seed=0)
    with pytest.raises(ValueError, match="features"):
        gradcheck(net, np.zeros((1, 3)), [0])


OUTPUT_COSTS = [
    (out, "quadratic") for out in ("sigmoid", "tanh", "identity", "relu", "leaky_relu", "softmax")
] + [(out, cost) for out in ("sigmoid", "softmax") for cost in ("cross_entropy", "binary_cross_entropy")]


@pytest.mark.parametrize("output,cost", OUTPUT_COSTS)
def test_random_architectures_pass_to_1e_6_in_float64(output, cost):
    """30 random architectures per output/cost pair, each hidden layer's activation drawn from all of them."""
    hidden = [n for n in activations.names() if activations.get(n).hidden_ok]
    rng = np.random.default_rng(OUTPUT_COSTS.index((output, cost)))
    for trial in range(30):
        n_out = int(rng.integers(2, 4))
        sizes = [int(rng.integers(1, 5)), *rng.integers(1, 5, rng.integers(0, 3)).tolist(), n_out]
        acts = [str(rng.choice(hidden)) for _ in sizes[1:-1]]
        init = str(rng.choice(["scaled", "he"]))
        net = Network(
            sizes, activation=acts, output=output, cost=cost, init=init, dtype="float64", seed=trial
        )
        m = int(rng.integers(1, 5))
        X = rng.normal(0, 1.5, (m, sizes[0]))
        if costs.get(cost).needs_probabilities or output == "softmax":
            Y = rng.integers(0, n_out, m)
        else:
            Y = rng.normal(0, 1, (m, n_out))
        result = gradcheck(net, X, Y)
        case = f"{sizes} {acts}+{output}/{cost}, m={m}"
        assert result.status != "failed", f"{case}\n{result}"
        if result.status == "passed":
            assert result.max_norm_rel_error <= 1e-6, f"{case}\n{result}"
