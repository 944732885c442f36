"""``nablanet train``'s options: presets, sizes, schedules, early stopping, validation, regression."""

import json

import numpy as np
import pytest

import nablanet
from nablanet.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def train_json(capsys, *argv):
    code, out, err = run(capsys, "train", "--json", *argv)
    assert code == 0, err
    events = records(out)
    return events[0], [r for r in events if r["event"] == "epoch"], events[-1], err


def test_preset_nielsen_is_the_seeds_setup(capsys):
    start, epochs, summary, _ = train_json(capsys, "--preset", "nielsen", "--epochs", "3")
    s = start["settings"]
    assert (s["activation"], s["cost"], s["init"], s["optimizer"], s["eta"], s["batch_size"]) == (
        "sigmoid", "quadratic", "standard", "sgd", 3.0, 10,
    )  # fmt: skip
    assert epochs[0]["eta"] == 3.0 and epochs[-1]["cost"] < epochs[0]["cost"]
    assert summary["sizes"] == [64, 30, 10]


def test_a_wide_relu_network_with_the_defaults_does_not_diverge(capsys):
    _, epochs, summary, err = train_json(capsys, "--layers", "1024,1024", "--epochs", "2")
    assert summary["sizes"] == [64, 1024, 1024, 10] and np.isfinite([e["cost"] for e in epochs]).all()
    assert summary["test_accuracy"] > 0.9 and "warning" not in err


def test_layers_are_hidden_sizes_and_sizes_every_layer(capsys):
    code, _, err = run(capsys, "train", "--layers", "64,30,10", "--epochs", "1")
    assert code == 1 and "--layers takes the hidden sizes only" in err and "--layers 30" in err
    assert "--sizes 64,30,10" in err
    _, _, summary, _ = train_json(capsys, "--sizes", "64,30,10", "--epochs", "1")
    assert summary["sizes"] == [64, 30, 10]
    _, _, summary, err = train_json(capsys, "--layers", "32,10", "--epochs", "1")
    assert summary["sizes"] == [64, 32, 10, 10] and "64 → 32 → 10 → 10" in err  # built, and said
    code, _, err = run(capsys, "train", "--sizes", "64,30,3", "--epochs", "1")
    assert code == 1 and "does not fit the data" in err
    code, _, err = run(capsys, "train", "--sizes", "64,30,10", "--layers", "30")
    assert code == 1 and "not both" in err


@pytest.mark.parametrize("command", [["gradcheck"], ["trace"], ["experiment", "paths"]])
def test_full_size_lists_are_sizes_everywhere(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command, "--layers", "4,3,2"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--sizes" in err and "--layers means hidden sizes only" in err
    with pytest.raises(SystemExit):
        main([*command, "--sizes", "4,,2"])
    assert "empty entry" in capsys.readouterr().err


def test_schedules_set_eta_each_epoch(capsys):
    _, epochs, _, _ = train_json(capsys, "--schedule", "step", "--step-every", "2", "--epochs", "5")
    assert [e["eta"] for e in epochs] == pytest.approx([0.05, 0.05, 0.025, 0.025, 0.0125])
    _, epochs, _, _ = train_json(capsys, "--schedule", "inverse", "--eta-decay", "1", "--epochs", "2")
    assert [e["eta"] for e in epochs] == pytest.approx([0.05, 0.025])
    argv = ["--schedule", "halve", "--patience", "1", "--epochs", "8", "--eta", "0.5", "--optimizer", "sgd"]
    _, epochs, _, _ = train_json(capsys, *argv)
    etas = [e["eta"] for e in epochs]
    assert etas[0] == 0.5 and min(etas) < 0.5 and all(b in (a, a / 2) for a, b in zip(etas, etas[1:]))
    code, _, err = run(capsys, "train", "--schedule", "step", "--eta-decay", "1")
    assert code == 1 and "--eta-decay sets --schedule inverse" in err


def test_early_stopping_stops_and_says_so(capsys):
    argv = ["--early-stopping", "--patience", "2", "--epochs", "200", "--layers", "16"]
    _, epochs, summary, _ = train_json(capsys, *argv)
    assert len(epochs) < 200 and summary["stopped"] == f"after epoch {len(epochs)}"
    code, _, err = run(capsys, "train", "--early-stopping", "--validate-on", "none")
    assert code == 1 and "watch the validation set, and this run has none" in err


def test_validation_on_the_test_set_or_clearly_none(capsys):
    start, epochs, summary, err = train_json(capsys, "--validation-split", "0", "--epochs", "2")
    assert start["validation"] == "test" and "measured on the test set" in err
    assert epochs[-1]["val_accuracy"] == summary["test_accuracy"]  # the same data, the same weights
    start, epochs, _, _ = train_json(capsys, "--validate-on", "none", "--epochs", "1")
    assert start["validation"] == "none" and epochs[0]["val_cost"] is None
    code, _, err = run(capsys, "train", "--validate-on", "split", "--validation-split", "0")
    assert code == 1 and "needs --validation-split > 0" in err
    code, _, err = run(capsys, "train", "--validate-on", "test", "--validation-split", "0.2")
    assert code == 1 and "holds nothing out" in err


def test_regression_on_a_float_target(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 3))
    y = 50 + 20 * X[:, 0] - 10 * X[:, 1] ** 2 + rng.normal(0, 0.5, 300)  # far from [0, 1]
    rows = "\n".join(",".join(f"{v:.6f}" for v in (*x, t)) for x, t in zip(X, y))
    (tmp_path / "r.csv").write_text("a,b,c,price\n" + rows + "\n")
    model = tmp_path / "r.npz"
    start, epochs, summary, _ = train_json(
        capsys, "--data", tmp_path / "r.csv", "--epochs", "60", "--layers", "32", "-o", model
    )
    s = start["settings"]
    assert start["task"] == "regression" and (s["output"], s["cost"]) == ("identity", "quadratic")
    assert summary["sizes"] == [3, 32, 1] and summary["test_accuracy"] is None
    assert summary["test_r2"] > 0.9 and summary["test_rmse"] < 0.3 * np.std(y)
    code, out, _ = run(capsys, "evaluate", model, "--json")
    result = json.loads(out)
    assert code == 0 and result["rmse"] == pytest.approx(summary["test_rmse"], rel=1e-5)
    np.savetxt(tmp_path / "x.csv", X[:4], delimiter=",")
    code, out, _ = run(capsys, "predict", model, tmp_path / "x.csv")
    values = [float(v) for v in out.split()[1:]]
    assert code == 0 and out.split()[0] == "value" and np.allclose(values, y[:4], atol=4)
    code, out, _ = run(capsys, "info", model)
    assert "predicts     a number (regression)" in out
    code, _, err = run(capsys, "train", "--data", tmp_path / "r.csv", "--task", "classification")
    assert code == 1 and "--task regression" in err


def test_dropout_and_l1_reach_fit(capsys, tmp_path):
    base = ["--epochs", "2", "--layers", "32,16", "--dtype", "float64", "--quiet"]
    paths = {}
    for name, extra in {"plain": [], "dropout": ["--dropout", "0.5,0.2"], "l1": ["--l1", "5"]}.items():
        paths[name] = tmp_path / f"{name}.npz"
        assert main(["train", *base, *extra, "-o", str(paths[name])]) == 0
    nets = {k: nablanet.load(p) for k, p in paths.items()}
    assert not np.array_equal(nets["plain"].flat, nets["dropout"].flat)
    # L1 pulls weights to 0: a smaller Σ|w| than the same run without it
    assert np.abs(nets["l1"].flat).sum() < np.abs(nets["plain"].flat).sum()
    _, meta = nablanet.io.model.load_model(paths["dropout"])
    assert meta["hyperparameters"]["dropout"] == [0.5, 0.2]
    code, _, err = run(capsys, "train", "--layers", "32,16", "--dropout", "0.5,0.2,0.1", "--epochs", "1")
    assert code == 1 and "3 rates for 2 hidden layers" in err
    with pytest.raises(SystemExit):
        main(["train", "--dropout", "1"])
