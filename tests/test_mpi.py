"""Data-parallel training on MPI (nablanet.parallel): mpiexec -n 2 and -n 3 as subprocesses.

The ranks run tests/mpi_scripts/ranks.py. In CI (CI=true) a missing mpiexec is a
failure, not a skip: `pip install -e ".[test]"` brings mpi4py and MPICH's mpiexec.
Every run is bounded by a timeout; the ranks use one BLAS thread each.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nablanet
import nablanet as nn
from nablanet.training.checkpoint import load_run

SCRIPT = Path(__file__).parent / "mpi_scripts" / "ranks.py"
MPIEXEC = Path(sys.executable).parent / "mpiexec"
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TOLERANCE = 1e-12  # relative, float64, after two epochs


def _ranks_module():
    spec = importlib.util.spec_from_file_location("mpi_ranks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mpiexec():
    if not MPIEXEC.exists() or importlib.util.find_spec("mpi4py") is None:
        message = f"{MPIEXEC} or mpi4py is missing: pip install -e '.[test]' installs mpi4py and mpich"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return str(MPIEXEC)


def _mpirun(mpiexec, k: int, *args, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [mpiexec, "-n", str(k), sys.executable, str(SCRIPT), *map(str, args)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_k_ranks_train_as_one_process_and_checkpoints_move_between_k(mpiexec, tmp_path):
    """K = 3, then K = 2 resuming K = 3's mid-epoch checkpoint; one process resuming both.

    Inside the ranks, after every step, all ranks' weights are compared (a CRC) and the
    History at the end; here every configuration matches the one-process run to 1e-12.
    """
    ranks = _ranks_module()
    one = ranks.train_all(None, tmp_path)
    three = _mpirun(mpiexec, 3, "agree", tmp_path / "three.npz")
    assert three.returncode == 0, three.stderr[-3000:]
    two = _mpirun(mpiexec, 2, "agree", tmp_path / "two.npz", tmp_path / "stopped3.ckpt")
    assert two.returncode == 0, two.stderr[-3000:]
    for k, path in ((3, "three.npz"), (2, "two.npz")):
        got = np.load(tmp_path / path)
        for name in ranks.configs():
            assert _relative(got[name], one[name]) <= TOLERANCE, (k, name)
            h_k, h_1 = json.loads(str(got[name + ".history"])), json.loads(one[name + ".history"])
            assert len(h_k["cost"]) == len(h_1["cost"]) and h_k["eta"] == h_1["eta"], (k, name)
            np.testing.assert_allclose(h_k["cost"], h_1["cost"], rtol=1e-12)
            if h_1["val_cost"][0] is not None:
                np.testing.assert_allclose(h_k["val_cost"], h_1["val_cost"], rtol=1e-12)
                assert h_k["val_accuracy"] == h_1["val_accuracy"]
        assert _relative(got["uninterrupted"], one["uninterrupted"]) <= TOLERANCE
    # Early stopping stopped after epoch 2 of 6 on every K (the configuration is built so).
    stopped = json.loads(one["adam_early_stopping.history"])
    assert len(stopped["cost"]) == 2
    # K = 3's checkpoint, written by rank 0 in the middle of epoch 2, resumed by 2 ranks and by 1.
    saved = load_run(tmp_path / "stopped3.ckpt")
    assert (saved.epoch, saved.batch) == (1, 4)
    resumed_by_two = np.load(tmp_path / "two.npz")["resumed"]
    assert _relative(resumed_by_two, one["uninterrupted"]) <= TOLERANCE
    for ckpt in ("stopped3.ckpt", "stopped2.ckpt"):
        X, y, _ = ranks.data()
        model = ranks.net()
        nablanet.fit(model, X, y, epochs=3, resume=tmp_path / ckpt, health=False)
        assert _relative(model.flat, one["uninterrupted"]) <= TOLERANCE, ckpt


def test_start_checks_raise_the_same_clear_error_on_every_rank(mpiexec, tmp_path):
    done = _mpirun(mpiexec, 3, "checks", tmp_path / "checks.json", timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    per_rank = json.loads((tmp_path / "checks.json").read_text())
    assert len(per_rank) == 3
    for found in per_rank:
        assert "different training rows: rank 0 has 101, rank 1 has 100" in found["rows"]
        assert "different features: rank 0 has 8, rank 1 has 7" in found["features"]
        assert "different classes" in found["classes"] or "different training data" in found["classes"]
        assert "3 ranks share batches of 2 examples" in found["batch"]
        assert "NaN" in found["nan_on_rank_1"]
    assert "rank 1 of 3 refused to start" in per_rank[0]["nan_on_rank_1"]


def test_a_comm_of_one_rank_is_the_one_process_path(tmp_path):
    if importlib.util.find_spec("mpi4py") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("mpi4py is missing")
        pytest.skip("mpi4py is missing")
    env = {k: v for k, v in ENV.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "self", tmp_path / "self.txt"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "self.txt").read_text() == "same"


def test_an_exception_on_one_rank_ends_every_rank(mpiexec):
    start = time.monotonic()
    done = _mpirun(mpiexec, 3, "fail", timeout=30)
    assert time.monotonic() - start < 30
    assert done.returncode != 0
    assert "nablanet: rank 1 of 3 failed: RuntimeError: a deliberate failure in mini-batch 3" in done.stderr


def _start_long(mpiexec, tmp_path):
    ckpt, mark = tmp_path / "long.ckpt", tmp_path / "mark"
    proc = subprocess.Popen(
        [mpiexec, "-n", "2", sys.executable, str(SCRIPT), "long", ckpt, mark],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 30
    while not (Path(f"{mark}.0").exists() and Path(f"{mark}.1").exists()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the ranks did not start training: {err[-3000:]}")
        time.sleep(0.05)
    return proc, ckpt, mark


def _resumes(ckpt):
    """The checkpoint is intact, and one process carries it on for a mini-batch's worth of epoch."""
    run = load_run(ckpt)
    assert run.epoch > 0 or run.batch > 0
    ranks = _ranks_module()
    X, y, _ = ranks.data(4000)
    model = nablanet.Network([8, 64, 64, 3], seed=1)
    history = nablanet.fit(model, X, y, epochs=run.epoch + 1, resume=ckpt, health=False)
    assert len(history) == run.epoch + 1
    return run


def test_ctrl_c_checkpoints_on_rank_0_and_exits_130(mpiexec, tmp_path):
    """SIGINT to the job's process group, as a terminal's Ctrl-C: each rank gets it from the
    terminal and again from mpiexec; the ranks stop after the same mini-batch."""
    proc, ckpt, _ = _start_long(mpiexec, tmp_path)
    before = load_run(ckpt)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the job did not end within 30 s of Ctrl-C")
    assert proc.returncode == 130, err[-3000:]
    run = _resumes(ckpt)
    assert (run.epoch, run.batch) > (before.epoch, before.batch)  # written on the interrupt


def test_a_rank_killed_leaves_an_intact_checkpoint(mpiexec, tmp_path):
    proc, ckpt, mark = _start_long(mpiexec, tmp_path)
    os.kill(int(Path(f"{mark}.1").read_text()), signal.SIGKILL)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the job did not end within 30 s of a rank's SIGKILL")
    assert proc.returncode != 0
    _resumes(ckpt)


def test_grid_search_on_a_dask_cluster_matches_one_process():
    """Many independent trainings: GridSearchCV's fits on two Dask worker processes."""
    if importlib.util.find_spec("distributed") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("dask.distributed is missing: it is in the test extra")
        pytest.skip("dask.distributed is missing")
    import joblib
    from dask import distributed
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from nablanet.estimators import NablaClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    grid = {"hidden_layer_sizes": [(16,), (32,)], "learning_rate": [0.003, 0.01]}

    def search():
        est = NablaClassifier(max_iter=5, random_state=0, batch_size=32, dtype="float64")
        return GridSearchCV(est, grid, cv=2).fit(X, y)

    serial = search()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            spread = search()
        workers = {t["worker"] for t in tasks.data}
        cluster_workers = set(client.scheduler_info()["workers"])
    # joblib batches the 8 fits (4 settings × 2 folds) into as many tasks as its timing suggests
    assert len(tasks.data) >= 1 and workers and workers <= cluster_workers
    assert len(cluster_workers) == 2
    assert spread.best_params_ == serial.best_params_
    np.testing.assert_allclose(
        spread.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"], rtol=0, atol=0
    )


def test_the_train_command_under_mpiexec_writes_once_and_matches_one_process(mpiexec, tmp_path):
    env = ENV
    cmd = ["-m", "nablanet", "train", "--epochs", "2", "--dtype", "float64", "--json"]
    two = subprocess.run(
        [mpiexec, "-n", "2", sys.executable, *cmd, "-o", str(tmp_path / "two.npz")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    summaries = [line for line in two.stdout.splitlines() if '"event": "summary"' in line]
    assert len(summaries) == 1  # rank 0 alone speaks
    one = subprocess.run(
        [sys.executable, *cmd, "-o", str(tmp_path / "one.npz")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    a, b = nn.load(tmp_path / "two.npz"), nn.load(tmp_path / "one.npz")
    assert _relative(a.flat, b.flat) <= 1e-12
