"""Class names end to end: from a CSV's text labels (or a dataset's own) to predict, --proba and info."""

import json

import numpy as np
import pytest

import nablanet
from nablanet.cli import main

NAMES = ["setosa", "versicolor", "virginica"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def flowers(tmp_path_factory):
    """Three well-separated clusters labelled by name, a model trained on them, and raw inputs."""
    tmp = tmp_path_factory.mktemp("classes")
    rng = np.random.default_rng(0)
    centres = np.array([[1.0, 5.0, 2.0, 0.5], [6.0, 1.0, 4.0, 1.5], [3.0, 3.0, 7.0, 2.5]])
    y = np.repeat([0, 1, 2], 60)
    X = centres[y] + rng.normal(0, 0.3, (180, 4))
    rows = "\n".join(",".join(f"{v:.3f}" for v in x) + f",{NAMES[k]}" for x, k in zip(X, y))
    (tmp / "iris.csv").write_text("sl,sw,pl,pw,species\n" + rows + "\n")
    model = tmp / "iris.npz"
    assert (
        main(["train", "--data", str(tmp / "iris.csv"), "--epochs", "20", "--quiet", "-o", str(model)]) == 0
    )
    np.savetxt(tmp / "x.csv", centres, delimiter=",", header="sl,sw,pl,pw", comments="")
    return model, tmp / "x.csv"


def test_predict_prints_the_class_names(flowers, capsys):
    model, inputs = flowers
    assert nablanet.load(model).classes == NAMES
    code, out, _ = run(capsys, "predict", model, inputs)
    assert code == 0 and out.split() == ["label", *NAMES]
    code, out, _ = run(capsys, "predict", model, inputs, "--format", "json")
    assert json.loads(out) == {"labels": NAMES}


def test_proba_headers_are_the_class_names(flowers, capsys):
    model, inputs = flowers
    code, out, _ = run(capsys, "predict", model, inputs, "--proba")
    lines = out.splitlines()
    P = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    assert code == 0 and lines[0] == "setosa,versicolor,virginica"
    assert np.allclose(P.sum(axis=1), 1, atol=1e-5) and list(P.argmax(axis=1)) == [0, 1, 2]
    code, out, _ = run(capsys, "predict", model, inputs, "--proba", "--format", "json")
    assert json.loads(out)["classes"] == NAMES


def test_info_and_the_json_summary_show_the_class_names(flowers, tmp_path, capsys):
    model, _ = flowers
    code, out, _ = run(capsys, "info", model)
    assert code == 0 and "classes      setosa, versicolor, virginica" in out
    code, out, _ = run(capsys, "train", "--data", model.parent / "iris.csv", "--epochs", "1", "--json")
    assert json.loads(out.splitlines()[-1])["classes"] == NAMES


def test_a_models_own_names_are_printed_and_quoted_when_needed(tmp_path, capsys):
    names = list(nablanet.datasets.CLASSES["fashion-mnist"])  # 'T-shirt/top', 'Ankle boot', ...
    net = nablanet.Network([4, 10], seed=0, classes=names)
    nablanet.save(net, tmp_path / "f.npz")
    X = np.random.default_rng(1).uniform(0, 1, (6, 4))
    np.save(tmp_path / "x.npy", X)
    code, out, _ = run(capsys, "predict", tmp_path / "f.npz", tmp_path / "x.npy")
    assert code == 0 and out.splitlines()[1:] == [names[k] for k in net.predict(X)]
    net = nablanet.Network([4, 2], seed=0, classes=["a, b", 'say "c"'])
    nablanet.save(net, tmp_path / "q.npz")
    code, out, _ = run(capsys, "predict", tmp_path / "q.npz", tmp_path / "x.npy", "--proba")
    assert out.splitlines()[0] == '"a, b","say ""c"""'
