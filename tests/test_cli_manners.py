"""How the command line behaves around the work: pipes, --debug, bad paths, failed saves, missing extras.

Ctrl-C (a checkpoint, the resume command, and a JSON event) is in test_cli.py.
"""

import json
import os
import subprocess
import sys
import time

import pytest

import nablanet
from nablanet.cli import main
from nablanet.cli._save import save_model

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_into_a_pipe_that_closes_ends_quietly():
    argv = [sys.executable, "-m", "nablanet", "train", "--json", "--epochs", "200", "--layers", "16"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    start = time.monotonic()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert json.loads(first)["event"] == "start"
    assert proc.returncode in (0, 141), err
    assert "Errno 32" not in err and "Broken pipe" not in err and "Traceback" not in err, err
    assert time.monotonic() - start < 30  # it stopped, rather than training 200 epochs into nothing


def test_debug_may_follow_the_subcommand(tmp_path, capsys):
    with pytest.raises(nablanet.ModelFileError):
        main(["info", str(tmp_path / "absent.npz"), "--debug"])
    with pytest.raises(nablanet.ModelFileError):
        main(["--debug", "info", str(tmp_path / "absent.npz")])
    code, _, err = run(capsys, "info", tmp_path / "absent.npz")
    assert code == 1 and "Traceback" not in err


def test_output_paths_are_checked_before_training(tmp_path, capsys):
    for argv, message in [
        (["-o", tmp_path], "is a folder"),
        (["--checkpoint", tmp_path], "is a folder"),
        (["--report", tmp_path / "r.png"], "must end in .html"),
        (["-o", tmp_path / "no" / "m.npz"], "does not exist"),
    ]:
        code, out, err = run(capsys, "train", "--json", *argv)
        events = [json.loads(line)["event"] for line in out.splitlines()]
        assert code == 1 and message in err and events == ["error"], err  # not a single epoch was trained
    code, _, err = run(capsys, "predict", tmp_path / "m.npz", tmp_path / "x.npy", "-o", tmp_path)
    assert code == 1 and "-o" in err and "is a folder" in err


def test_a_failed_save_falls_back_to_a_named_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = nablanet.Network([4, 3, 2], seed=0)
    said = []
    target = tmp_path / "gone" / "m.npz"  # its folder vanished during training
    saved = save_model(net, target, said.append)
    assert saved.parent == tmp_path and saved.name.startswith("nablanet-model-") and saved.is_file()
    assert str(target) in said[0] and str(saved) in said[0] and ".tmp" not in said[0]
    assert (nablanet.load(saved).flat == net.flat).all()


def _without(monkeypatch, *modules):
    for name in modules:  # as if the library were not installed: importing it fails
        monkeypatch.setitem(sys.modules, name, None)


def test_each_missing_extra_names_its_install_line(tmp_path, capsys, monkeypatch):
    model = tmp_path / "m.npz"
    assert main(["train", "--epochs", "1", "--quiet", "-o", str(model)]) == 0
    _without(monkeypatch, "matplotlib", "matplotlib.pyplot")
    code, _, err = run(capsys, "plot", model, "--what", "curves", "-o", tmp_path / "c.png")
    assert code == 1 and 'pip install "nablanet[plot]"' in err and not (tmp_path / "c.png").exists()
    code, _, err = run(capsys, "experiment", "costs", "--plot", tmp_path / "x.png")
    assert code == 1 and 'pip install "nablanet[plot]"' in err
    code, _, err = run(capsys, "train", "--epochs", "1", "--quiet", "--report", tmp_path / "r.html")
    assert code == 0 and "no plots" in err and 'pip install "nablanet[plot]"' in err
    assert "matplotlib" in (tmp_path / "r.html").read_text()  # the report says so too
    _without(monkeypatch, "rich", "rich.console", "rich.progress", "rich.table")
    code, _, err = run(capsys, "train", "--epochs", "1")
    assert code == 1 and 'pip install "nablanet[cli]"' in err
    _without(monkeypatch, "sklearn", "sklearn.datasets")
    code, out, err = run(capsys, "train", "--epochs", "1", "--json")
    message = 'train needs sklearn.datasets: pip install "nablanet[cli]"'
    assert code == 1 and err.strip() == f"nablanet: error: {message}"
    assert json.loads(out) == {"event": "error", "message": message}  # for scripts, on stdout too


def test_help_imports_no_optional_library():
    code = (
        "import sys; from nablanet.cli import build_parser; build_parser().format_help(); "
        "optional = ('matplotlib', 'rich', 'sklearn', 'starlette', 'uvicorn', 'onnx', 'mpi4py'); "
        "print(sorted(m for m in optional if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True)
    assert out.stdout.strip() == "[]"


def test_inputs_that_are_not_regular_files_are_refused_at_once(tmp_path, capsys):
    import os

    from nablanet.cli import main

    assert main(["train", "--epochs", "1", "--quiet", "-o", str(tmp_path / "m.npz")]) == 0
    for name in ("in.npy", "in.csv"):
        os.mkfifo(tmp_path / name)  # opening a FIFO for reading would wait for a writer forever
        capsys.readouterr()
        assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / name)]) == 1
        assert "not a regular file" in capsys.readouterr().err
