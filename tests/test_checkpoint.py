"""Checkpoints: exact resume (bit for bit), fallback to the previous file, Ctrl-C."""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import warnings
import zipfile

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nablanet
from nablanet import Adam, ModelFileError, Momentum, Network
from nablanet.io import atomic
from nablanet.io.model import save
from nablanet.train import Callback
from nablanet.training import checkpoint as checkpoint_module
from nablanet.training.checkpoint import Checkpoint, load_run, previous_path, read_checkpoint

RNG = np.random.default_rng(0)
X = RNG.random((53, 5))
Y = RNG.integers(0, 3, 53)
VAL = (X[:15], Y[:15])
# 8 mini-batches an epoch; the collapse warnings are not what these tests are about
RUN = {"epochs": 4, "batch_size": 7, "seed": 11, "lmbda": 0.3, "validation_data": VAL, "health": False}


def make_net():
    return Network([5, 6, 3], activation="tanh", cost="cross_entropy", dtype=np.float64, seed=3)


class StopAt(Callback):
    """Stop training after mini-batch ``batch`` of epoch ``epoch`` (1-based epoch)."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, run, cost):
        if run.epoch + 1 == self.epoch and run.batch == self.batch:
            run.stop = True


def assert_same(a, b):
    for p, q in zip(a.params, b.params):
        assert p.dtype == q.dtype and np.array_equal(p, q)


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize(
    "make_optimizer", [lambda: nablanet.SGD(0.5), lambda: Momentum(0.2), lambda: Adam(0.01)]
)
def test_mid_epoch_resume_is_bit_identical(tmp_path, make_optimizer):
    reference = make_net()
    expected = nablanet.fit(reference, X, Y, optimizer=make_optimizer(), **RUN)

    net = make_net()
    ckpt = tmp_path / "run.npz"
    stopped = nablanet.fit(
        net, X, Y, optimizer=make_optimizer(), callbacks=[StopAt(2, 5)], checkpoint=ckpt, **RUN
    )
    assert len(stopped) == 1
    state = read_checkpoint(ckpt)[0]["run"]
    assert (state["epoch"], state["batch"]) == (1, 5)

    resumed = make_net()  # fresh weights: the checkpoint must replace them
    history = nablanet.fit(resumed, X, Y, resume=ckpt, **{**RUN, "seed": 999})
    assert_same(resumed, reference)
    assert history.cost == expected.cost and history.val_accuracy == expected.val_accuracy
    assert history.eta == expected.eta


def test_resume_from_periodic_checkpoint_every_n_batches(tmp_path):
    reference = make_net()
    nablanet.fit(reference, X, Y, optimizer=Momentum(0.2), **RUN)
    net = make_net()
    ckpt = tmp_path / "run.npz"
    saves = []

    class Snapshot(Callback):  # keep a copy of what was on disk after epoch 3, batch 6
        def on_batch_end(self, run, cost):
            if run.epoch == 2 and run.batch == 7:
                saves.append(ckpt.read_bytes())

    nablanet.fit(
        net, X, Y, optimizer=Momentum(0.2), checkpoint=ckpt, checkpoint_every=3, callbacks=[Snapshot()], **RUN
    )
    old = tmp_path / "old.npz"  # not over run.npz: its .prev is newer, and resume takes the newest
    old.write_bytes(saves[0])
    assert read_checkpoint(old)[0]["run"]["batch"] == 6
    resumed = make_net()
    nablanet.fit(resumed, X, Y, resume=old, **RUN)
    assert_same(resumed, reference)


def test_resume_can_extend_the_run(tmp_path):
    reference = make_net()
    nablanet.fit(reference, X, Y, optimizer=Adam(0.01), **{**RUN, "epochs": 6})
    net = make_net()
    nablanet.fit(net, X, Y, optimizer=Adam(0.01), checkpoint=tmp_path / "c.npz", **RUN)
    assert read_checkpoint(tmp_path / "c.npz")[0]["run"]["epoch"] == 4
    history = nablanet.fit(net, X, Y, resume=tmp_path / "c.npz", **{**RUN, "epochs": 6})
    assert len(history) == 6
    assert_same(net, reference)


def test_corrupt_latest_falls_back_to_previous_with_a_warning(tmp_path):
    reference = make_net()
    nablanet.fit(reference, X, Y, optimizer=Adam(0.01), **RUN)
    net = make_net()
    ckpt = tmp_path / "run.npz"
    nablanet.fit(net, X, Y, optimizer=Adam(0.01), checkpoint=ckpt, callbacks=[StopAt(3, 2)], **RUN)
    assert read_checkpoint(previous_path(ckpt))[0]["run"]["epoch"] == 2  # the end of epoch 2
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0x10
    ckpt.write_bytes(bytes(data))
    resumed = make_net()
    with pytest.warns(UserWarning, match="resuming from the previous checkpoint"):
        nablanet.fit(resumed, X, Y, resume=ckpt, **RUN)
    assert_same(resumed, reference)  # an earlier point of the same run leads to the same end

    previous_path(ckpt).write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="the previous checkpoint is bad too"):
        load_run(ckpt, make_net())


def test_missing_latest_falls_back_too(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, **RUN)
    os.replace(ckpt, tmp_path / "elsewhere.npz")
    with pytest.warns(UserWarning):
        run = load_run(ckpt, make_net())
    assert run.epoch == 3


def test_load_run_restores_everything(tmp_path):
    net = make_net()
    ckpt = tmp_path / "run.npz"
    nablanet.fit(net, X, Y, optimizer=Momentum(0.2, mu=0.5), checkpoint=ckpt, callbacks=[StopAt(2, 3)], **RUN)
    run = load_run(ckpt)  # no network given: built from the checkpoint
    assert run.net.sizes == [5, 6, 3] and run.net.dtype == np.float64
    assert_same(run.net, net)
    assert isinstance(run.optimizer, Momentum) and run.optimizer.mu == 0.5 and run.optimizer.t == 8 + 3
    assert (run.epoch, run.batch, run.batch_size, run.lmbda, run.epochs) == (1, 3, 7, 0.3, 4)
    assert run.epoch_rng_state["bit_generator"] == "PCG64" and run.cost_sum > 0
    assert len(run.history) == 1


def test_architecture_mismatch_is_a_clear_error(tmp_path):
    nablanet.fit(make_net(), X, Y, checkpoint=tmp_path / "c.npz", **RUN)
    other = Network([5, 7, 3], activation="tanh", cost="cross_entropy", dtype=np.float64)
    with pytest.raises(ValueError, match=r"checkpoint .* is for Network\(sizes=\[5, 6, 3\]"):
        load_run(tmp_path / "c.npz", other)
    with pytest.raises(ValueError, match="float64"):
        load_run(tmp_path / "c.npz", Network([5, 6, 3], activation="tanh", cost="cross_entropy"))


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    save(make_net(), tmp_path / "m.npz")
    with pytest.raises(ModelFileError, match="not a checkpoint"):
        load_run(tmp_path / "m.npz", make_net())


def test_checkpoint_arguments(tmp_path):
    with pytest.raises(ValueError, match="checkpoint_every must be an integer ≥ 1"):
        Checkpoint(tmp_path / "c.npz", every=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Checkpoint(tmp_path / "no" / "c.npz")


class SendSigint(Callback):
    """Press Ctrl-C (deliver SIGINT to this process) during a mini-batch."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, run, cost):
        if run.epoch + 1 == self.epoch and run.batch == self.batch:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_finishes_the_batch_writes_a_checkpoint_and_raises(tmp_path):
    reference = make_net()
    nablanet.fit(reference, X, Y, optimizer=Adam(0.01), **RUN)
    net = make_net()
    ckpt = tmp_path / "run.npz"
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="checkpoint written to"):
        nablanet.fit(net, X, Y, optimizer=Adam(0.01), checkpoint=ckpt, callbacks=[SendSigint(3, 4)], **RUN)
    assert signal.getsignal(signal.SIGINT) is handler  # the handler is restored
    state = read_checkpoint(ckpt)[0]["run"]
    assert (state["epoch"], state["batch"]) == (2, 4)
    resumed = make_net()
    nablanet.fit(resumed, X, Y, resume=ckpt, **RUN)
    assert_same(resumed, reference)


def test_interrupt_only_checkpoint_writes_nothing_until_ctrl_c(tmp_path):
    ckpt = Checkpoint(tmp_path / "c.npz", periodic=False)
    nablanet.fit(make_net(), X, Y, callbacks=[ckpt], **RUN)
    assert not (tmp_path / "c.npz").exists() and ckpt.saves == 0
    with pytest.raises(KeyboardInterrupt):
        nablanet.fit(make_net(), X, Y, callbacks=[SendSigint(1, 2), ckpt], **RUN)
    assert ckpt.interrupted and ckpt.saves == 1 and (tmp_path / "c.npz").exists()


def test_the_ctrl_c_handler_is_restored_when_training_raises(tmp_path):
    handler = signal.getsignal(signal.SIGINT)

    class Fail(Callback):
        def on_batch_end(self, run, cost):
            raise RuntimeError("boom")

    ckpt = tmp_path / "c.npz"
    with pytest.raises(RuntimeError, match="boom"):
        nablanet.fit(make_net(), X, Y, checkpoint=ckpt, checkpoint_every=2, callbacks=[Fail()], **RUN)
    assert signal.getsignal(signal.SIGINT) is handler
    assert not ckpt.exists()  # a failing run writes nothing more
    with pytest.raises(KeyboardInterrupt):  # and Ctrl-C is an ordinary interrupt again
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):  # the handler runs at the next bytecode boundary
            time.sleep(0.01)


def test_a_second_ctrl_c_stops_at_once_without_a_checkpoint(tmp_path):
    handler = signal.getsignal(signal.SIGINT)

    class TwoPresses(Callback):
        def on_batch_end(self, run, cost):
            if run.epoch == 1 and run.batch == 2:
                for _ in range(2):
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.05)  # the handler runs at the next bytecode boundary

    ckpt = Checkpoint(tmp_path / "c.npz", periodic=False)
    with pytest.raises(KeyboardInterrupt):
        nablanet.fit(make_net(), X, Y, callbacks=[TwoPresses(), ckpt], **RUN)
    assert signal.getsignal(signal.SIGINT) is handler
    assert ckpt.interrupted and ckpt.saves == 0 and not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("bit_generator", ["MT19937", "Philox", "SFC64", "PCG64DXSM"])
def test_resume_with_any_bit_generator(tmp_path, bit_generator):
    def rng():
        return np.random.Generator(getattr(np.random, bit_generator)(7))

    reference = make_net()
    nablanet.fit(reference, X, Y, **{**RUN, "seed": rng()})
    net = make_net()
    nablanet.fit(net, X, Y, checkpoint=tmp_path / "c.npz", callbacks=[StopAt(2, 6)], **{**RUN, "seed": rng()})
    resumed = make_net()
    nablanet.fit(resumed, X, Y, resume=tmp_path / "c.npz", **RUN)
    assert_same(resumed, reference)


def _edit_run_state(path, edit, reseal=True):
    """Rewrite a checkpoint's run state as a valid zip, with a matching SHA-256 (a deliberate
    edit), so that what is tested is the run state's own validation."""
    from nablanet.io.container import payload_digest, read_container

    _, arrays = read_container(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(members["header.json"])
    edit(header["run"])
    if reseal:
        header["sha256"] = payload_digest(header, arrays)
    members["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r["rng_state"].update(bit_generator="Evil"),
        lambda r: r.update(batch=-1),
        lambda r: r.update(batch_size=2.5),
        lambda r: r["optimizer"].update(name="rmsprop"),
        lambda r: r["optimizer"]["slots"].update(v=3),
        lambda r: r.pop("cost_sum"),
        lambda r: r["optimizer"]["state"].update(mu=1.0),  # out of range for momentum
        lambda r: r["optimizer"]["state"].update(updates=1),  # not a hyperparameter
        # the checks fit makes of its arguments, made of the saved run state too
        lambda r: r.update(lmbda=-50.0),
        lambda r: r.update(lmbda=float("inf")),
        lambda r: r.update(lmbda="0.1"),
        lambda r: r.update(epochs=-1),
        lambda r: r.update(epochs=True),
        lambda r: r.update(batch_size=0),
        lambda r: r["optimizer"]["state"].update(eta=-1.0),
        lambda r: r["optimizer"]["state"].update(eta=float("nan")),
        lambda r: r["optimizer"]["state"].update(t=-3),
        lambda r: r.update(checkpoint_every=0),
        lambda r: r.update(sequence=-1),
        lambda r: r.update(epoch=9),  # past the run's 4 epochs
        lambda r: r.update(cost_sum=float("inf")),
        lambda r: r.update(l1=-1.0),
        lambda r: r.update(dropout=[1.5]),
        lambda r: r.update(dropout=[0.1, 0.2]),  # two rates for one hidden layer
    ],
)
def test_a_run_state_that_does_not_rebuild_falls_back_to_previous(tmp_path, edit):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, optimizer=Momentum(0.2), checkpoint=ckpt, **RUN)
    _edit_run_state(ckpt, edit)
    with pytest.warns(
        UserWarning, match=r"(run state is invalid|run\[.*\] is).*resuming from the previous checkpoint"
    ):
        run = load_run(ckpt, make_net())
    assert run.epoch == 3  # the .prev file: the end of epoch 3 of 4


def test_an_edited_run_state_fails_the_sha256(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, optimizer=Momentum(0.2), checkpoint=ckpt, **RUN)
    _edit_run_state(ckpt, lambda r: r.update(batch_size=3), reseal=False)
    with pytest.warns(UserWarning, match="SHA-256 of the contents does not match"):
        run = load_run(ckpt, make_net())
    assert run.epoch == 3 and run.batch_size == 7


def test_checkpoint_before_the_first_step(tmp_path):
    run = nablanet.train.Run(make_net(), Momentum(0.2), np.random.default_rng(0), epochs=2, batch_size=5)
    Checkpoint(tmp_path / "c.npz").save(run)
    restored = load_run(tmp_path / "c.npz")
    assert isinstance(restored.optimizer, Momentum) and restored.optimizer.t == 0
    assert_same(restored.net, run.net)


# -- saving survives a crash at any instant ----------------------------------------------------

FS_CALLS = ("open", "fsync", "link", "replace", "rename", "unlink")


class Crash(BaseException):
    """Stands for the process dying; a BaseException, so that nothing catches it on the way."""


def a_run(batch=0):
    run = nablanet.train.Run(make_net(), Momentum(0.2), np.random.default_rng(0), epochs=2, batch_size=5)
    run.batch, run.epoch_rng_state = batch, run.rng.bit_generator.state
    return run


def crash_before_call(monkeypatch, k, folder):
    """Patch the filesystem calls in ``os``: at the k-th, copy the folder (what kill -9 at that
    instant leaves on disk: the page cache survives it) and raise Crash. Returns the copy and
    the number of calls seen."""
    left, seen, copying = {}, [0], [False]

    def wrap(name, real):
        def call(*args, **kwargs):
            if not copying[0]:
                seen[0] += 1
                if seen[0] == k:
                    copying[0] = True
                    left.update({p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})
                    raise Crash(name)
            return real(*args, **kwargs)

        return call

    for name in FS_CALLS:
        monkeypatch.setattr(os, name, wrap(name, getattr(os, name)))
    return left, seen


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


DEAD = _dead_pid()


def found_in(files, folder):
    """What resume finds in a folder holding ``files``: its sequence (or None), and the sequence
    of every intact checkpoint there, by name."""
    for p in folder.iterdir():
        p.unlink()
    for name, data in files.items():  # as after a kill: the temps' writer is dead
        (folder / name.replace(f"-{os.getpid()}-", f"-{DEAD}-")).write_bytes(data)
    intact = {}
    for name in os.listdir(folder):
        try:
            intact[name] = checkpoint_module._read_checkpoint_file(folder / name).sequence  # each on its own
        except ModelFileError:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_checkpoint(folder / "run.npz")[0]["run"]["sequence"], intact
        except ModelFileError:
            return None, intact


def prepare(case, folder):
    """The folder before the save under test, and the sequence of its newest intact checkpoint."""
    ckpt = Checkpoint(folder / "run.npz")
    if case == "first save":
        return ckpt, None
    ckpt.save(a_run(1))
    if case == "one file":
        return ckpt, 1
    ckpt.save(a_run(2))
    if case == "warm":  # the writer that made the files saves again: nothing needs reading
        return ckpt, 2
    if case == "damaged latest":
        data = bytearray((folder / "run.npz").read_bytes())
        data[len(data) // 2] ^= 0x40
        (folder / "run.npz").write_bytes(bytes(data))
        return Checkpoint(folder / "run.npz"), 1
    if case == "latest missing":
        (folder / "run.npz").unlink()
        return Checkpoint(folder / "run.npz"), 1
    if case == "prev is latest":  # as a crash after step 1 leaves them
        atomic.keep_as(folder / "run.npz", folder / "run.npz.prev")
        return Checkpoint(folder / "run.npz"), 2
    return Checkpoint(folder / "run.npz"), 2  # "cold": a resumed run's first save


@pytest.mark.parametrize(
    "case", ["first save", "one file", "warm", "cold", "damaged latest", "latest missing", "prev is latest"]
)
def test_a_crash_after_any_step_of_a_save_leaves_the_newest_completed_checkpoint(tmp_path, monkeypatch, case):
    work, look = tmp_path / "work", tmp_path / "look"
    look.mkdir()
    # What a kill leaves does not depend on fsync (the page cache survives it): skip the
    # disk waits, but count the calls, as steps of the save.
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    outcomes = []
    for k in range(1, 100):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        ckpt, before = prepare(case, work)
        new = (before or 0) + 1
        with monkeypatch.context() as m:
            left, seen = crash_before_call(m, k, work)
            try:
                ckpt.save(a_run(3))
            except Crash:
                pass
        if not left:  # the save made fewer than k calls: it completed
            left = {p.name: p.read_bytes() for p in work.iterdir()}
        found, intact = found_in(left, look)
        # the newest whole checkpoint on disk, also one that a kill kept from being renamed
        assert found == max(intact.values(), default=None), f"crash before call {k}: found {found}"
        assert found in (before, new), f"crash before call {k}: found {found}"
        assert found is not None or before is None, f"crash before call {k}: nothing to resume from"
        temps = [n for n in left if n not in ("run.npz", "run.npz.prev")]
        assert len(temps) <= 1 and all(atomic._TEMP.match(n) for n in temps)  # all removable
        completed = seen[0] < k
        assert temps == [] or not completed
        outcomes.append(found)
        # and the next writer finishes a whole save left unrenamed, and removes every temp
        after = Checkpoint(look / "run.npz")
        after.save(a_run(4))
        assert sorted(os.listdir(look)) == ["run.npz", "run.npz.prev"][: 1 + (found is not None)]
        assert sequence(look / "run.npz") == (found or 0) + 1
        if completed:
            break
    assert len(outcomes) >= 6  # every step of the save was tried (5 calls at least), and the last completed
    assert outcomes == sorted(outcomes, key=lambda s: s == new) and outcomes[-1] == new  # old, then new
    if case == "damaged latest":  # the damaged file was replaced; the only good copy was kept
        assert read_checkpoint(previous_path(work / "run.npz"))[0]["run"]["sequence"] == 1


def test_a_save_that_raises_leaves_the_files_as_they_were(tmp_path, monkeypatch):
    ckpt = Checkpoint(tmp_path / "run.npz")
    ckpt.save(a_run(1))
    ckpt.save(a_run(2))
    for k in range(1, 12):
        with monkeypatch.context() as m:
            crash_before_call(m, k, tmp_path)
            try:
                ckpt.save(a_run(3))
            except Crash:
                pass
        found = read_checkpoint(tmp_path / "run.npz")[0]["run"]["sequence"]
        assert found >= 2
    ckpt.save(a_run(4))  # and the next save works
    assert read_checkpoint(tmp_path / "run.npz")[0]["run"]["batch"] == 4


# -- what the files keep -----------------------------------------------------------------------


def sequence(path):
    return read_checkpoint(path)[0]["run"]["sequence"]


def test_a_damaged_latest_is_never_kept_as_prev(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, callbacks=[StopAt(3, 2)], **RUN)  # saves 1, 2, 3
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0x10
    ckpt.write_bytes(bytes(data))
    good = previous_path(ckpt).read_bytes()
    with pytest.warns(UserWarning, match="resuming from the previous checkpoint"):
        nablanet.fit(make_net(), X, Y, resume=ckpt, checkpoint=ckpt, callbacks=[StopAt(3, 1)], **RUN)
    assert previous_path(ckpt).read_bytes() == good  # the good copy stayed
    assert sequence(ckpt) == 3 and read_checkpoint(ckpt)[0]["run"]["epoch"] == 2


def test_a_new_run_on_an_old_checkpoint_path_is_the_newest(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, **RUN)  # saves 1 … 4
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, callbacks=[StopAt(1, 3)], **RUN)  # stops mid-epoch 1
    assert sequence(ckpt) == 5 and sequence(previous_path(ckpt)) == 4
    assert load_run(ckpt).batch == 3


def test_checkpoint_every_is_kept_and_reused_on_resume(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, checkpoint_every=3, callbacks=[StopAt(2, 1)], **RUN)
    assert read_checkpoint(ckpt)[0]["run"]["checkpoint_every"] == 3
    run = load_run(ckpt)
    assert run.checkpoint_every == 3

    class Saves(Checkpoint):
        at = []

        def save(self, run):
            super().save(run)
            self.at.append((run.epoch, run.batch))

    nablanet.fit(make_net(), X, Y, resume=ckpt, callbacks=[Saves(ckpt)], **RUN)
    assert Saves.at[:4] == [(1, 3), (1, 6), (2, 0), (2, 3)]
    assert read_checkpoint(ckpt)[0]["run"]["checkpoint_every"] == 3


def test_saving_keeps_the_mode_and_writes_through_a_symlink(tmp_path):
    (tmp_path / "store").mkdir()
    link = tmp_path / "run.npz"
    link.symlink_to("store/real.npz")
    ckpt = Checkpoint(link)
    ckpt.save(a_run(1))
    (tmp_path / "store" / "real.npz").chmod(0o600)
    ckpt.save(a_run(2))
    ckpt.save(a_run(3))
    assert link.is_symlink() and sorted(os.listdir(tmp_path / "store")) == ["real.npz", "real.npz.prev"]
    assert stat.S_IMODE((tmp_path / "store" / "real.npz").stat().st_mode) == 0o600
    assert load_run(link).batch == 3 and previous_path(link) == tmp_path / "store" / "real.npz.prev"


def test_a_name_at_the_filesystem_limit_works(tmp_path):
    name = "r" * os.pathconf(tmp_path, "PC_NAME_MAX")
    ckpt = Checkpoint(tmp_path / name)
    for batch in (1, 2, 3):
        ckpt.save(a_run(batch))
    prev = previous_path(tmp_path / name)
    assert prev.exists() and prev.name.endswith(".prev") and len(os.fsencode(prev.name)) <= len(name)
    assert sorted(os.listdir(tmp_path)) == sorted([name, prev.name])
    (tmp_path / name).write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="previous checkpoint"):
        assert load_run(tmp_path / name).batch == 2


def test_stale_temps_of_a_dead_writer_are_removed(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    stale = tmp_path / f".run.npz.nablanet-{atomic._HOST}-{p.pid}-00000000.tmp"
    stale.write_bytes(b"half a checkpoint")
    nablanet.fit(make_net(), X, Y, checkpoint=tmp_path / "run.npz", **{**RUN, "epochs": 1})
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]


# -- reading: once, and nothing changes until all is checked -----------------------------------


def test_load_run_reads_each_file_once(tmp_path, monkeypatch):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, callbacks=[StopAt(2, 3)], **RUN)
    reads = []
    real = checkpoint_module.read_container
    monkeypatch.setattr(checkpoint_module, "read_container", lambda p: reads.append(p.name) or real(p))
    load_run(ckpt, make_net())
    assert sorted(reads) == ["run.npz", "run.npz.prev"]


def test_a_bad_run_state_leaves_the_callers_network_alone(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, **{**RUN, "epochs": 1})  # one file, no .prev
    _edit_run_state(ckpt, lambda r: r.update(lmbda=-50.0))
    net = make_net()
    before = [p.copy() for p in net.params]
    with pytest.raises(ModelFileError, match="lmbda must be a finite number ≥ 0"):
        nablanet.fit(net, X, Y, resume=ckpt, **RUN)
    assert all(np.array_equal(p, q) for p, q in zip(net.params, before))


def test_fit_refuses_a_bad_checkpoint_argument_before_it_changes_the_network(tmp_path):
    ckpt = tmp_path / "run.npz"
    nablanet.fit(make_net(), X, Y, checkpoint=ckpt, **RUN)
    net = make_net()
    before = [p.copy() for p in net.params]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nablanet.fit(net, X, Y, resume=ckpt, checkpoint=tmp_path / "no" / "c.npz", **RUN)
    with pytest.raises(ValueError, match="checkpoint_every must be an integer ≥ 1"):
        nablanet.fit(net, X, Y, resume=ckpt, checkpoint=ckpt, checkpoint_every=0, **RUN)
    assert all(np.array_equal(p, q) for p, q in zip(net.params, before))


def test_without_hard_links_prev_is_a_copy(tmp_path, monkeypatch):
    def no_links(src, dst, *args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # as on FAT or some network filesystems
    ckpt = Checkpoint(tmp_path / "run.npz")
    for batch in (1, 2, 3):
        ckpt.save(a_run(batch))
    assert sorted(os.listdir(tmp_path)) == ["run.npz", "run.npz.prev"]
    assert sequence(tmp_path / "run.npz") == 3 and sequence(previous_path(tmp_path / "run.npz")) == 2


def test_two_processes_saving_one_checkpoint_both_succeed(tmp_path):
    ckpt, go = tmp_path / "run.npz", tmp_path / "go"
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # a second writer of the same path, with its own Checkpoint
            code = 1
            try:
                saver = Checkpoint(ckpt)
                while not go.exists():
                    time.sleep(0.001)
                for batch in range(25):
                    saver.save(a_run(batch))
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    go.touch()
    deadline = time.monotonic() + 60
    for pid in pids:
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
        assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
    go.unlink()
    assert sorted(os.listdir(tmp_path)) == ["run.npz", "run.npz.prev"]
    assert load_run(ckpt).batch == 24 and sequence(ckpt) >= 25
