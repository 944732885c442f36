"""The command line: train / evaluate / predict / info, end to end on the bundled digits."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nablanet
from nablanet.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A digits model trained once by the no-argument defaults (plus -o)."""
    path = tmp_path_factory.mktemp("cli") / "digits.npz"
    assert main(["train", "--quiet", "-o", str(path)]) == 0
    return path


def test_default_train_uses_the_library_defaults_and_learns_digits(capsys):
    code, out, err = run(capsys, "train", "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    epochs = [r for r in records if r["event"] == "epoch"]
    start, summary = records[0], records[-1]
    d = nablanet.defaults.DEFAULTS
    assert start["event"] == "start" and start["validation"] == "split"
    settings = start["settings"]
    assert {
        k: settings[k] for k in ("activation", "cost", "init", "optimizer", "eta", "batch_size", "epochs")
    } == {k: d[k] for k in ("activation", "cost", "init", "optimizer", "eta", "batch_size", "epochs")}
    assert settings["momentum"] == d["mu"]
    assert len(epochs) == d["epochs"] and [r["epoch"] for r in epochs] == list(range(1, d["epochs"] + 1))
    assert {"cost", "accuracy", "val_accuracy", "examples_per_second", "eta"} <= set(epochs[0])
    assert summary["event"] == "summary" and summary["sizes"] == [64, 64, 10]
    assert summary["test_accuracy"] >= 0.95 and summary["warnings"] == []
    assert epochs[-1]["cost"] < epochs[0]["cost"]


def test_train_shows_progress_and_a_summary_table(capsys):
    code, out, err = run(capsys, "train", "--epochs", "2", "--layers", "16")
    assert code == 0
    assert "epoch   1/2" in err and "ex/s" in err and "val accuracy" in err
    assert "test accuracy" in out and "64 → 16 → 10" in out


def test_quiet_prints_nothing(capsys):
    code, out, err = run(capsys, "train", "--epochs", "1", "--quiet")
    assert code == 0 and out == "" and err == ""


def test_saved_model_evaluate_predict_info(model, tmp_path, capsys):
    code, out, _ = run(capsys, "evaluate", model, "--data", "digits", "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 359 and result["accuracy"] >= 0.95
    net = nablanet.load(model)
    data = nablanet.datasets.load("digits")
    assert result["accuracy"] == net.evaluate(data.X_test, data.y_test).accuracy
    code, out, _ = run(capsys, "evaluate", model, "--json")  # the data it was trained on, by default
    assert code == 0 and json.loads(out) == result

    raw = data.X_test * 16  # the digits file's own units, 0 … 16
    np.save(tmp_path / "x.npy", raw[:5])
    code, out, _ = run(capsys, "predict", model, tmp_path / "x.npy")
    assert code == 0 and out.split() == ["label", *map(str, net.predict(data.X_test[:5]))]
    np.save(tmp_path / "scaled.npy", data.X_test[:5])
    code, out, _ = run(
        capsys, "predict", model, tmp_path / "scaled.npy", "--scaled", "--proba", "--format", "json"
    )
    P = np.array(json.loads(out)["probabilities"])
    assert P.shape == (5, 10) and np.allclose(P, net.predict_proba(data.X_test[:5]), atol=1e-6)
    header = ",".join(f"p{i}" for i in range(64))
    rows = "\n".join(",".join(map(str, r)) for r in raw[:3])
    (tmp_path / "x.csv").write_text(header + "\n" + rows + "\n")
    code, _, _ = run(capsys, "predict", model, tmp_path / "x.csv", "-o", tmp_path / "out.csv")
    labels = (tmp_path / "out.csv").read_text().split()
    assert code == 0 and labels == ["label", *map(str, net.predict(data.X_test[:3]))]

    code, out, _ = run(capsys, "info", model)
    assert code == 0 and "64 → 64 → 10" in out and "30 epochs" in out and "relu, softmax" in out
    assert "classes      0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in out
    code, out, _ = run(capsys, "info", model, "--json")
    assert json.loads(out)["network"]["sizes"] == [64, 64, 10]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "{tmp}/absent.npz", "--data", "digits"], "absent.npz: no such file"),
        (["evaluate", "{tmp}/bare.npz"], "does not record its training data; pass --data"),
        (["evaluate", "{tmp}/bad.npz", "--data", "digits"], "damaged or not a nablanet file"),
        (["info", "{tmp}/bad.npz"], "damaged"),
        (["train", "--data", "cifar"], "unknown dataset 'cifar'"),
        (
            ["train", "--report", "{tmp}/nowhere/r.html"],
            "--report .*nowhere/r.html: the folder .* does not exist",
        ),
        (["train", "-o", "{tmp}/nowhere/m.npz"], "-o .*nowhere/m.npz: the folder .* does not exist"),
        (["train", "-o", "{tmp}"], "-o .*: is a folder; give a file name"),
        (["train", "--resume", "{tmp}/absent.npz"], "no such file"),
        (["predict", "{model}", "{tmp}/absent.npy"], "no such file"),
        (["predict", "{model}", "{tmp}/bad.npz"], "must be a .npy or .csv"),
        (["train", "--data", "{tmp}/t.csv", "--quiet"], "row 3 has 1 columns"),
    ],
)
def test_errors_are_one_line_and_exit_1(argv, message, model, tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really")
    nablanet.save(nablanet.Network([64, 10]), tmp_path / "bare.npz")
    (tmp_path / "t.csv").write_text("a,y\n1,0\n2\n")
    code, out, err = run(capsys, *[a.format(tmp=tmp_path, model=model) for a in argv])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nablanet: error: ")
    assert __import__("re").search(message, lines[0]), lines[0]


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(nablanet.ModelFileError):
        main(["--debug", "info", str(tmp_path / "absent.npz")])


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["train", "--layers", "x"],
        ["train", "--epochs", "0"],
        ["train", "--activation", "swish"],
        ["train", "--validation-split", "1.5"],
        ["train", "--layers", "64,,10"],
        ["train", "--seed", "-1"],
        ["evaluate"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2


def test_checkpoint_and_resume_match_an_uninterrupted_run(tmp_path, capsys):
    common = ["--epochs", "5", "--layers", "16", "--dtype", "float64", "--quiet", "--optimizer", "adam"]
    common += ["--eta", "0.01"]
    with threadpool_limits(1):
        assert main(["train", *common, "-o", str(tmp_path / "straight.npz")]) == 0
        short = [a if a != "5" else "3" for a in common]
        assert (
            main(["train", *short, "--checkpoint", str(tmp_path / "c.npz"), "--checkpoint-every", "7"]) == 0
        )
        code, _, _ = run(
            capsys, "train", "--resume", tmp_path / "c.npz", "--epochs", "5", "-o", tmp_path / "b.npz"
        )
    assert code == 0
    a, meta = nablanet.io.model.load_model(tmp_path / "straight.npz")
    b, meta_b = nablanet.io.model.load_model(tmp_path / "b.npz")
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))
    assert meta["history"]["cost"] == meta_b["history"]["cost"] and len(meta_b["history"]["cost"]) == 5
    code, _, err = run(capsys, "train", "--resume", tmp_path / "c.npz", "--eta", "0.5")
    assert code == 1 and "only --epochs may change (not eta)" in err
    code, out, _ = run(capsys, "info", tmp_path / "c.npz")
    assert "nablanet checkpoint" in out and "position     after epoch 5 of 5" in out
    code, _, err = run(capsys, "train", "--resume", tmp_path / "c.npz", "--epochs", "5")
    assert code == 0 and "already completed 5 epochs" in err


def test_ctrl_c_writes_a_checkpoint_prints_how_to_resume_and_exits_130(tmp_path):
    ckpt = tmp_path / "c.npz"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    argv = [
        sys.executable,
        "-m",
        "nablanet",
        "train",
        "--epochs",
        "100000",
        "--checkpoint",
        str(ckpt),
        "--json",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"resume with: nablanet train --resume {ckpt}" in err
    last = json.loads(out.splitlines()[-1])  # with --json, an event too
    resume = f"nablanet train --resume {ckpt}"
    assert last == {"event": "interrupted", "checkpoint": str(ckpt), "resume": resume}
    header = nablanet.io.model.read_header(ckpt)
    assert header["kind"] == "checkpoint" and header["run"]["epoch"] >= 1
    assert header["hyperparameters"]["epochs"] == 100000


def test_monitor_puts_each_layers_health_in_the_json_records(capsys):
    code, out, _ = run(capsys, "train", "--epochs", "2", "--monitor", "--json")
    epochs = [json.loads(line) for line in out.splitlines() if '"epoch"' in line]
    epochs = [r for r in epochs if r["event"] == "epoch"]
    assert code == 0 and len(epochs) == 2
    for r in epochs:  # that epoch's measurement, for every layer
        assert [d["layer"] for d in r["layers"]] == [1, 2] and {d["epoch"] for d in r["layers"]} == {
            r["epoch"]
        }
        assert r["layers"][0]["grad_w_norm"] > 0 and "dead" in r["layers"][0]
    code, out, _ = run(capsys, "train", "--epochs", "1", "--json")
    assert "layers" not in json.loads(out.splitlines()[1])


def test_a_collapsed_run_is_not_silent(capsys):
    code, out, err = run(capsys, "train", "--eta", "100", "--epochs", "3", "--monitor", "--json")
    events = [json.loads(line) for line in out.splitlines()]
    warned = [e for e in events if e["event"] == "warning"]
    assert code == 0 and warned and all("try" in e["message"] for e in warned)
    assert any("at chance" in e["message"] for e in warned)
    assert events[-1]["warnings"] == [e["message"] for e in warned]
    assert err.count("nablanet: warning: ") == len(warned)  # on stderr too, each once
    code, out, err = run(capsys, "train", "--eta", "100", "--epochs", "2", "--quiet")
    assert code == 0 and out == "" and "at chance" in err  # --quiet does not hide a collapse


def test_the_monitors_warnings_from_before_training_are_shown(capsys):
    argv = [
        "--init",
        "standard",
        "--layers",
        "256,256,256",
        "--eta",
        "1e-4",
        "--epochs",
        "1",
        "--monitor",
        "--json",
    ]
    code, out, err = run(capsys, "train", *argv)
    events = [json.loads(line) for line in out.splitlines()]
    before = [e for e in events if e["event"] == "warning" and e["message"].startswith("before training")]
    assert code == 0 and before and before[0]["epoch"] == 0 and "exploding gradient" in before[0]["message"]
    assert err.count("warning: before training") == len(before)


def test_csv_training_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.random((120, 3))
    y = (X[:, 0] > 0.5).astype(int)
    rows = "\n".join(f"{a},{b},{c},{'yes' if t else 'no'}" for (a, b, c), t in zip(X, y))
    (tmp_path / "d.csv").write_text("a,b,c,answer\n" + rows + "\n")
    code, out, _ = run(
        capsys, "train", "--data", tmp_path / "d.csv", "--target", "answer", "--json", "--epochs", "30"
    )
    summary = json.loads(out.splitlines()[-1])
    assert code == 0 and summary["sizes"] == [3, 64, 2] and summary["test_accuracy"] >= 0.8
    assert summary["classes"] == ["no", "yes"]


def test_eta_decay_is_recorded_in_the_history(tmp_path, capsys):
    code, _, _ = run(
        capsys, "train", "--epochs", "3", "--eta-decay", "1", "--quiet", "-o", tmp_path / "m.npz"
    )
    _, meta = nablanet.io.model.load_model(tmp_path / "m.npz")
    assert code == 0 and meta["history"]["eta"] == pytest.approx([0.05, 0.025, 0.05 / 3])
    assert meta["hyperparameters"]["eta_decay"] == 1.0
    assert len(meta["history"]["accuracy"]) == 3  # training accuracy, for the plots


def test_report_is_written_after_training(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--epochs", "1", "--json", "--report", tmp_path / "run.html")
    assert code == 0 and json.loads(out.splitlines()[-1])["report"] == str(tmp_path / "run.html")
    assert (tmp_path / "run.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_new_warnings_are_shown_once_as_they_appear(capsys):
    from nablanet.cli._display import JsonLines, RichProgress, Warnings
    from nablanet.train import Run

    for display in (RichProgress(4, 2), JsonLines(4), Warnings()):
        run = Run(
            nablanet.Network([2, 3, 2]), nablanet.SGD(0.1), np.random.default_rng(0), epochs=2, batch_size=2
        )
        display.on_train_begin(run)
        for epoch, warning in enumerate(["layer 1: gradients vanishing; try relu", None]):
            display.on_epoch_begin(run)
            run.batch, run.cost_sum = 2, 1.0
            display.on_batch_end(run, 0.5)
            h = run.history
            h.cost.append(0.5), h.val_cost.append(None), h.val_accuracy.append(None)
            h.seconds.append(0.1), h.eta.append(0.1)
            if warning:
                h.warnings.append(warning)
            run.epoch, run.batch = epoch + 1, 0
            display.on_epoch_end(run)
        display.on_train_end(run)
    out, err = capsys.readouterr()
    assert err.count("warning: layer 1: gradients vanishing; try relu") == 3  # once per display
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["event"] for r in records] == ["epoch", "warning", "epoch"]
    assert records[1] == {"event": "warning", "epoch": 1, "message": "layer 1: gradients vanishing; try relu"}
    assert records[0]["examples_per_second"] == pytest.approx(40)


def test_evaluate_preprocesses_as_the_model_was_trained(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--epochs", "2", "--standardize", "--json", "-o", tmp_path / "m.npz")
    trained = json.loads(out.splitlines()[-1])["test_accuracy"]
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", "--json")
    assert code == 0 and json.loads(out)["accuracy"] == trained
    code, out, _ = run(capsys, "info", tmp_path / "m.npz")
    assert "input_scaling {shift: [64 values], scale: [64 values]}" in out
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.npz", "--json", "--no-standardize")
    assert json.loads(out)["accuracy"] != trained  # [0, 1] inputs to a network trained on z-scores


def test_momentum_and_optimizer_flags_agree():
    from nablanet.cli._settings import _optimizer_choice, base, build_optimizer

    def chosen(preset="default", **given):
        settings = {**base(preset), **given}
        settings["optimizer"], settings["momentum"] = _optimizer_choice(settings, given)
        return build_optimizer(settings)

    assert type(chosen()).__name__ == "Momentum" and chosen().mu == 0.9 and chosen().eta == 0.05
    assert chosen(optimizer="momentum", momentum=0.0).mu == 0.0
    assert chosen(momentum=0.5).mu == 0.5
    assert type(chosen(momentum=0.0)).__name__ == "SGD"
    assert type(chosen(optimizer="adam")).__name__ == "Adam"  # the preset's μ does not get in the way
    assert type(chosen("nielsen")).__name__ == "SGD" and chosen("nielsen").eta == 3.0
    assert chosen("nielsen", momentum=0.5).mu == 0.5
    with pytest.raises(ValueError, match="applies to the momentum optimizer, not --optimizer adam"):
        chosen(optimizer="adam", momentum=0.5)
