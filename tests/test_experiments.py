"""The experiments' data: each checks the claim it was built to show, on small seeded runs."""

import math

import numpy as np
import pytest

from nablanet.teaching import experiments
from nablanet.teaching.experiments import costs, paths, saturation, speed, vanishing
from nablanet.teaching.experiments._common import jsonable, load_data


@pytest.fixture(scope="module")
def vanishing_result():
    return vanishing.run(dataset="digits", n_train=300, n_probe=200, epochs=1, seed=0)


@pytest.fixture(scope="module")
def speed_result():
    return speed.run(dataset="digits", n_samples=5, repeat=1)


@pytest.fixture(scope="module")
def saturation_result():
    return saturation.run(dataset="digits", n_train=300, n_probe=200, epochs=1, seed=0)


# -- paths ------------------------------------------------------------------------------------


def test_sum_over_paths_equals_backprop():
    r = paths.run()
    assert len(r.paths) == 3 * 2  # from w^1_11 of [2, 3, 3, 2]: one path per neuron of layers 2 and 3
    assert r.difference < 1e-10 and r.max_difference < 1e-10
    assert abs(r.path_sum) > 1e-4  # a real number, not two zeros agreeing
    for p in r.paths:
        assert p.product == pytest.approx(math.prod(v for _, v in p.factors), rel=1e-12)
        assert p.neurons[0] == 1
    assert r.n_paths_total == 6 * 6 + 9 * 2 + 6 * 1  # W^1: 6 weights × 6 paths, W^2: 9 × 2, W^3: 6 × 1


def test_paths_deeper_tanh_network():
    r = paths.run(sizes=(3, 4, 4, 4, 2), weight=(1, 2, 3), activation="tanh", seed=5)
    assert len(r.paths) == 4 * 4 * 2
    assert r.max_difference < 1e-10


def test_one_path_by_hand():
    """[1, 1, 1]: one path, ∂C/∂w^1 = x σ'(z^1) w^2 σ'(z^2) (a^2 − y)."""
    r = paths.run(sizes=(1, 1, 1), seed=3)
    (p,) = r.paths
    names = [name for name, _ in p.factors]
    assert names == ["a^0_1", "σ'(z^1_1)", "w^2_11", "σ'(z^2_1)", "∂C/∂a^2_1"]
    assert p.product == pytest.approx(r.backprop, abs=1e-15)


def test_paths_rejects_what_it_cannot_do():
    with pytest.raises(ValueError, match="does not exist"):
        paths.run(weight=(4, 1, 1))
    with pytest.raises(ValueError, match="elementwise"):
        paths.run(sizes=(2, 2), cost="cross_entropy")


# -- costs ------------------------------------------------------------------------------------


def test_cross_entropy_beats_quadratic_on_a_saturated_neuron():
    r = costs.run(epochs=150)
    q, ce = r.curves["quadratic"], r.curves["cross-entropy"]
    s = 1 / (1 + math.exp(-4.0))
    assert q.output[0] == ce.output[0] == pytest.approx(s)
    assert q.sigma_prime[0] == pytest.approx(s * (1 - s))
    assert q.delta[0] == pytest.approx((s - 0) * s * (1 - s))  # BP1 with σ'(z)
    assert ce.delta[0] == pytest.approx(s - 0)  # BP1 without it
    assert ce.epochs_to(0.1) is not None and ce.epochs_to(0.1) < 80
    assert q.epochs_to(0.1) is None  # still above 0.1 after 150 epochs
    assert q.output[50] > 0.9 > ce.output[50]
    assert len(q.cost) == 151 and np.all(np.diff(ce.cost) < 0)


# -- vanishing --------------------------------------------------------------------------------


def test_early_sigmoid_layers_learn_more_slowly_at_init(vanishing_result):
    r = vanishing_result
    assert [len(s.sizes) for s in r.sigmoid] == [3, 4, 5, 6]
    for s in r.sigmoid[1:]:
        at_init = s.norms[0]
        assert all(a < b for a, b in zip(at_init, at_init[1:])), (s.label, at_init)
    deep = r.sigmoid[-1].norms[0]
    assert deep[-1] / deep[0] > 20  # the seeds' [784,30,30,30,30,10] shows about 100×


def test_relu_he_is_even_and_large_weights_explode(vanishing_result):
    r = vanishing_result
    relu = r.relu[-1].norms[0]
    assert max(relu) / min(relu) < 10
    exploding = r.exploding.norms[0]
    assert all(a > b for a, b in zip(exploding, exploding[1:]))
    assert exploding[0] / exploding[-1] > 10


def test_vanishing_records_every_epoch_and_is_reproducible(vanishing_result):
    r = vanishing_result
    assert all(len(s.norms) == 2 and len(s.cost) == 1 for s in r.sigmoid + r.relu)
    again = vanishing.run(dataset="digits", n_train=300, n_probe=200, epochs=1, seed=0, depths=([30, 30],))
    assert again.sigmoid[0].norms == r.sigmoid[1].norms
    assert r.dataset == "digits" and "digits" in r.note


# -- saturation -------------------------------------------------------------------------------


def test_zero_input_means_zero_gradient_and_bigger_inputs_learn_faster(saturation_result):
    for t in saturation_result.runs.values():
        for snap in t.snapshots:
            first = snap.layers[0]
            assert first.bin_counts[0] > 0  # digits have many blank pixels
            assert first.grad_by_ain[0] == 0.0  # BP4: a_in = 0 gives ∂C/∂w = 0 exactly
            means = [g for g in first.grad_by_ain[1:] if g is not None]
            assert means[-1] > 3 * means[0]
            assert sum(first.bin_counts) == 200 * 64


def test_saturation_fractions(saturation_result):
    sig, relu = saturation_result.runs["sigmoid"], saturation_result.runs["relu"]
    assert sig.init == "standard" and relu.init == "he"
    # N(0, 1) weights on 64 inputs: |z| is often > 4.6, where σ'(z) < 0.01
    assert sig.snapshots[0].layers[0].saturated > 0.1
    for snap in relu.snapshots:
        for ls in snap.layers[:-1]:
            assert ls.saturated is None and 0 <= ls.dead <= ls.off <= 1
    assert len(sig.snapshots) == 2 and sig.snapshots[1].accuracy > sig.snapshots[0].accuracy


# -- speed ------------------------------------------------------------------------------------


def test_speed_ratios(speed_result):
    r = speed_result
    assert r.sizes == [64, 30, 10] and r.n_params == 64 * 30 + 30 + 30 * 10 + 10
    assert r.numerical_evals == r.n_params + 1  # (46): one per parameter and C(w)
    assert r.extrapolated and r.measured_evals == 4 * 5 + 1
    assert r.forward_seconds > 0 and r.backprop_seconds > 0
    assert r.backprop_over_forward > 0
    assert r.numerical_over_backprop > 10  # ≈ n_params / 2: 2,260 forward passes against ~2
    assert "extrapolated" in speed.summary(r)


# -- shared -----------------------------------------------------------------------------------


def test_every_experiment_is_listed_and_plots(tmp_path, vanishing_result, saturation_result, speed_result):
    assert set(experiments.NAMES) == {"speed", "saturation", "vanishing", "paths", "costs"}
    small = {
        "vanishing": vanishing_result,
        "saturation": saturation_result,
        "paths": paths.run(),
        "costs": costs.run(epochs=20),
        "speed": speed_result,
    }
    for name, result in small.items():
        module = experiments.get(name)
        path = tmp_path / f"{name}.png"
        module.plot(result, path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert module.summary(result)
        import json

        json.dumps(jsonable(result))
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.get("nope")


def test_auto_falls_back_to_digits_and_says_so(monkeypatch):
    from nablanet import datasets

    real = datasets.load

    def no_fashion(name, *args, **kwargs):
        if name == "fashion-mnist":
            raise datasets.DatasetError("fashion-mnist not found")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(datasets, "load", no_fashion)
    d = load_data("auto", 20)
    assert d.name == "digits" and d.X.shape == (20, 64)
    assert "Fashion-MNIST is not installed" in d.note and "784 inputs become its 64" in d.note


def test_load_data_checks_its_arguments():
    d = load_data("digits", 50, seed=1)
    assert d.X.shape == (50, 64) and d.y.shape == (50,) and d.n_classes == 10
    assert np.array_equal(d.X, load_data("digits", 50, seed=1).X)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_data("cifar")
    with pytest.raises(ValueError, match="n_train"):
        load_data("digits", 0)
