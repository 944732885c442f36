"""ONNX export, checked by running the exported model in onnxruntime against nablanet itself."""

import json

import numpy as np
import pytest

import nablanet as nn

onnx = pytest.importorskip("onnx")  # the [onnx] extra; the test extra installs it
ort = pytest.importorskip("onnxruntime")

from nablanet.export import save_onnx, to_onnx  # noqa: E402

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


def run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": X})))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize(
    "output,cost",
    [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "quadratic")],
)
def test_onnxruntime_agrees_with_nablanet_on_1000_inputs(dtype, hidden, output, cost):
    rng = np.random.default_rng(0)
    net = nn.Network([6, 9, 7, 4], [hidden, hidden], output, cost, dtype=dtype, seed=1)
    X = rng.standard_normal((1000, 6)).astype(dtype)
    got = run(to_onnx(net), X)
    np.testing.assert_allclose(got["output"], net.feedforward(X), rtol=1e-5, atol=1e-5)
    if output != "identity":
        np.testing.assert_array_equal(got["label"], net.predict(X))
    else:
        assert "label" not in got


def test_a_single_sigmoid_output_is_labelled_by_its_half_threshold():
    rng = np.random.default_rng(2)
    net = nn.Network([3, 5, 1], cost="binary_cross_entropy", seed=0)
    X = rng.standard_normal((500, 3)).astype(np.float32)
    got = run(to_onnx(net), X)
    np.testing.assert_array_equal(got["label"], net.predict(X))


def test_save_onnx_writes_a_loadable_file_with_the_class_names(tmp_path):
    net = nn.Network([4, 3], activation=[], seed=0, classes=["cat, wild", "dog", "eel"])
    path = save_onnx(net, tmp_path / "m.onnx")
    model = onnx.load(str(path))
    assert json.loads({p.key: p.value for p in model.metadata_props}["classes"]) == [
        "cat, wild",
        "dog",
        "eel",
    ]
    X = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(run(model, X)["output"], net.feedforward(X), rtol=1e-6)


def test_the_export_command_writes_what_onnxruntime_runs(tmp_path, capsys):
    from nablanet.cli import main

    net = nn.Network([5, 4, 3], seed=0)
    nn.save(net, tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "m.onnx")]) == 0
    X = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    got = run(onnx.load(str(tmp_path / "m.onnx")), X)
    np.testing.assert_allclose(got["output"], net.feedforward(X), rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    (tmp_path / "d.onnx").mkdir()
    assert main(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "d.onnx")]) == 1
    assert "is a folder" in capsys.readouterr().err
