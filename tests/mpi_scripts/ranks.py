"""Run under ``mpiexec -n K python ranks.py MODE OUT ...`` by tests/test_mpi.py (or plainly, in-process).

Modes:
  agree OUT [RESUME]  the configurations of ``CONFIGS``, 2 epochs each; every rank checks after every
                      step that all ranks hold bit-identical weights and, at the end, the same History.
                      Also trains the "stopped" run to mid-epoch 2 with a checkpoint in OUT's folder,
                      and, given RESUME (a checkpoint from another K), resumes it to the end.
                      Rank 0 writes OUT (an .npz of final weights and histories as JSON).
  checks OUT          the start-up errors: different data, more ranks than a batch, one rank's bad input.
  self OUT            (plainly, not under mpiexec) fit with MPI.COMM_SELF gives the one-process weights.
  fail                rank 1 raises in its third mini-batch.
  long CKPT MARK      trains "forever" with a checkpoint every 5 mini-batches; writes MARK.<rank> (its pid)
                      once the first checkpoint exists; exits 130 on KeyboardInterrupt, as the CLI does.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path

import numpy as np

import nablanet
from nablanet.optimizers import SGD, Adam, Momentum
from nablanet.parallel import DataParallel, world
from nablanet.train import Callback
from nablanet.training.callbacks import EarlyStopping, HalveOnPlateau, StepDecay


def data(n=101, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 0.5)
    return X, y, rng.random(n) + 0.1


def net():
    return nablanet.Network([8, 12, 6, 3], dtype="float64", seed=1)


# name -> (fit keyword arguments, callbacks); batch 10 on 101 rows: the last batch has 1 row,
# so with K = 2 or 3 a rank's share of it is empty.
def configs():
    X, y, w = data()
    val = (X[:23], y[:23])
    return {
        "sgd_weights_l2": (dict(optimizer=SGD(0.3), sample_weight=w, lmbda=0.5, validation_data=val), []),
        "momentum_step_decay": (
            dict(optimizer=Momentum(0.05, 0.9), lmbda=0.1, batch_size=7),
            [StepDecay(step=1, factor=0.5)],
        ),
        "adam_early_stopping": (
            dict(optimizer=Adam(0.01), validation_data=val, epochs=6, sample_weight=w),
            # min_delta huge: no epoch improves on the first, so it stops after epoch 2 and restores epoch 1
            [EarlyStopping("val_cost", patience=1, min_delta=1e9), HalveOnPlateau("val_cost", patience=1)],
        ),
        "dropout_momentum": (dict(optimizer=Momentum(0.05), dropout=0.3, validation_data=val), []),
        # the whole gradient in one blocking Allreduce after backprop, instead of overlapped
        "blocking_adam": (dict(optimizer=Adam(0.01), lmbda=0.3, blocking=True), []),
    }


class SameOnEveryRank(Callback):
    """After every step: the ranks' weights are bit-identical (a CRC of net.flat, allgathered)."""

    def __init__(self, comm):
        self.comm, self.steps = comm, 0

    def on_batch_end(self, run, cost):
        crcs = self.comm.allgather((zlib.crc32(run.net.flat.tobytes()), cost))
        assert len(set(crcs)) == 1, f"step {self.steps}: the ranks' weights or costs differ: {crcs}"
        self.steps += 1


class StopAt(Callback):
    """Stop after mini-batch ``batch`` of epoch ``epoch`` (1-based), the same on every rank."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, run, cost):
        if run.epoch + 1 == self.epoch and run.batch == self.batch:
            run.stop = True


def train_all(comm, folder: Path, resume: str | None = None) -> dict:
    X, y, _ = data()
    out = {}
    for name, (kw, cbs) in configs().items():
        kw = dict(epochs=2, batch_size=10, seed=3, health=False) | kw
        check = [SameOnEveryRank(comm)] if comm is not None else []
        model = net()
        ranks = DataParallel(comm, overlap=False) if kw.pop("blocking", False) and comm else comm
        h = nablanet.fit(model, X, y, callbacks=[*cbs, *check], comm=ranks, **kw)
        out[name] = model.flat.copy()
        out[name + ".history"] = json.dumps(h.to_dict())
        if comm is not None:
            everyone = comm.allgather(json.dumps(h.to_dict()))
            assert len(set(everyone)) == 1, f"{name}: the History differs between ranks"
            assert check[0].steps > 0
    # A run stopped in the middle of epoch 2 writes a checkpoint (rank 0); another K resumes it.
    kw = dict(epochs=3, batch_size=10, seed=5, lmbda=0.2, health=False, comm=comm)
    K = 1 if comm is None else comm.Get_size()
    stopped = folder / f"stopped{K}.ckpt"
    nablanet.fit(net(), X, y, optimizer=Momentum(0.05), callbacks=[StopAt(2, 4)], checkpoint=stopped, **kw)
    full = net()
    nablanet.fit(full, X, y, optimizer=Momentum(0.05), **kw)
    out["uninterrupted"] = full.flat.copy()
    if resume:
        model = net()
        nablanet.fit(model, X, y, epochs=3, resume=resume, health=False, comm=comm)
        out["resumed"] = model.flat.copy()
    return out


def checks(comm, out: Path) -> None:
    rank, found = comm.Get_rank(), {}
    X, y, _ = data()
    cases = {
        "rows": lambda: nablanet.fit(net(), X[: 101 - rank], y[: 101 - rank], epochs=1, comm=comm),
        "features": lambda: nablanet.fit(
            nablanet.Network([8 - rank, 4, 3], seed=1), X[:, : 8 - rank], y, epochs=1, comm=comm
        ),
        "classes": lambda: nablanet.fit(net(), X, np.where(y == 2, 2 - (rank == 1), y), epochs=1, comm=comm),
        "batch": lambda: nablanet.fit(net(), X, y, epochs=1, batch_size=2, comm=comm),
        "nan_on_rank_1": lambda: nablanet.fit(net(), np.where(rank == 1, np.nan, X), y, epochs=1, comm=comm),
    }
    for name, case in cases.items():
        try:
            case()
            found[name] = None
        except Exception as e:  # every rank must raise, and none hang
            found[name] = f"{type(e).__name__}: {e}"
    everyone = comm.gather(found)
    if rank == 0:
        out.write_text(json.dumps(everyone))


class FailOnRank(Callback):
    def __init__(self, rank):
        self.rank = rank

    def on_batch_end(self, run, cost):
        if run.batch == 3 and self.rank == 1:
            raise RuntimeError("a deliberate failure in mini-batch 3")


class Mark(Callback):
    """Write MARK.<rank> with this process's pid once a checkpoint exists (rank 0 writes it)."""

    def __init__(self, ckpt, mark, rank):
        self.ckpt, self.mark, self.rank, self.done = Path(ckpt), mark, rank, False

    def on_batch_end(self, run, cost):
        if not self.done and run.batch % 5 == 1 and (run.epoch or run.batch > 5):
            Path(f"{self.mark}.{self.rank}").write_text(str(os.getpid()))
            self.done = True


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    comm = world()
    rank = 0 if comm is None else comm.Get_rank()
    if mode == "agree":
        out = train_all(comm, Path(args[0]).parent, args[1] if len(args) > 1 else None)
        if rank == 0:
            np.savez(args[0], **out)
    elif mode == "checks":
        checks(comm, Path(args[0]))
    elif mode == "self":  # not under mpiexec: a comm of one rank is the one-process path, bit for bit
        from mpi4py import MPI

        assert comm is None
        X, y, w = data()
        a, b = net(), net()
        for model, c in ((a, None), (b, MPI.COMM_SELF)):
            nablanet.fit(model, X, y, epochs=2, batch_size=10, seed=3, sample_weight=w, lmbda=0.1, comm=c)
        assert np.array_equal(a.flat, b.flat)
        Path(args[0]).write_text("same")
    elif mode == "fail":
        X, y, _ = data()
        nablanet.fit(net(), X, y, epochs=2, batch_size=10, callbacks=[FailOnRank(rank)], comm=comm)
    elif mode == "long":
        X, y, _ = data(4000)
        try:
            nablanet.fit(
                nablanet.Network([8, 64, 64, 3], seed=1),
                X,
                y,
                epochs=10_000,
                batch_size=16,
                checkpoint=args[0],
                checkpoint_every=5,
                callbacks=[Mark(args[0], args[1], rank)],
                health=False,
                comm=comm,
            )
        except KeyboardInterrupt:
            sys.exit(130)


if __name__ == "__main__":
    main()
