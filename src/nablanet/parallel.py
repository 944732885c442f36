"""Data-parallel training on MPI: K processes share every mini-batch, one all-reduce adds their gradients.

The gradient of the mean cost over a mini-batch of m examples is a sum over
the examples, ∇C = (1/m) Σ_x ∇C_x, so it splits across K processes (ranks):

    ∇C = Σ_r (1/m) Σ_{x in share r} ∇C_x

Every rank draws the same shuffle from the same generator, takes its share of
each global batch (a contiguous slice of it, sizes differing by at most one,
the last short batch included), backpropagates it with the mean taken over the
global m (``backward(..., m=)``), and one all-reduce (a sum) of the flat
gradient buffer gives every rank ∇C of the whole batch. The L2 term is added
after the sum, once, and every rank applies the same update to the same
weights: the ranks stay bit-identical, and the run is the one-process run with
the same global batch, up to the order of the floating-point sums.

The all-reduce overlaps backpropagation, as PyTorch DDP and Horovod do: as
soon as ``backward`` reports ``layer_done(l)`` (∂C/∂W^l and ∂C/∂b^l final), a
non-blocking all-reduce of ∂C/∂W^l starts while BP2 goes on to layer l − 1;
the biases, a few kilobytes, go in one message after layer 1; the step waits
for all of them just before the update.

Each rank holds the whole data set (every rank loads it: docs/distributed.md
measures the memory). At the start the ranks compare a fingerprint of their
data and settings, and rank 0's weights, optimizer state and run state
(shuffle generator, position, History) are broadcast, so a run whose ranks
built their networks differently still starts from one state.

mpi4py is imported here only, when a ``DataParallel`` is made or ``world()``
asked: ``import nablanet`` needs NumPy alone.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from .network import Network

__all__ = ["DataParallel", "world", "evaluate"]

# Set by an MPI launcher in every rank it starts: MPICH/Hydra and Intel MPI (PMI_*),
# Open MPI (OMPI_*), PMIx-based launchers and Slurm's srun.
_SAME_CTRL_C = 2.0  # seconds within which a rank's second SIGINT is the same Ctrl-C
_LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


def world():
    """``MPI.COMM_WORLD`` when this process is one of several MPI ranks; None otherwise.

    Outside an MPI launcher mpi4py is not imported (importing it starts MPI).
    Under ``mpiexec -n K`` with K > 1 and no mpi4py, K copies would each train
    alone and write the same files, so that is an error.
    """
    launched = {k: os.environ[k] for k in _LAUNCHER_SIZE if os.environ.get(k, "").isdigit()}
    if not launched or all(int(v) <= 1 for v in launched.values()):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        name, value = next(iter(launched.items()))
        raise RuntimeError(
            f"started by an MPI launcher ({name}={value}) but mpi4py is not installed: "
            "pip install 'nablanet[mpi]'"
        ) from None
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def _share(m: int, size: int, rank: int) -> tuple[int, int]:
    """Rows [lo, hi) of a batch of m that rank takes: contiguous, sizes m//K or m//K + 1."""
    q, r = divmod(m, size)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (rank < r)


def _digest(*arrays: np.ndarray | None) -> str:
    """A short hash of the arrays' shapes, dtypes and about 64 evenly spaced rows of each."""
    h = hashlib.sha256()
    for A in arrays:
        if A is None:
            h.update(b"-")
            continue
        h.update(f"{A.shape}{A.dtype.str}".encode())
        step = max(1, len(A) // 64)
        h.update(np.ascontiguousarray(A[::step]).tobytes())
    return h.hexdigest()[:16]


class DataParallel:
    """The ranks of ``comm`` training one network together; ``train(..., parallel=)`` takes it.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        Its ranks share every mini-batch (``nablanet.fit(..., comm=)`` makes this).
    overlap : bool
        Start each layer's all-reduce while backpropagation goes on (the default),
        or sum the whole flat gradient in one blocking all-reduce after it.

    Attributes
    ----------
    rank, size : this process's rank and the number of ranks K.
    wait_seconds : time spent waiting for the gradient's all-reduce, summed over steps.
    steps : steps taken.
    """

    def __init__(self, comm, overlap: bool = True):
        from mpi4py import MPI

        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.overlap = bool(overlap)
        self.wait_seconds = 0.0
        self.steps = 0
        self.interrupted = False  # the ranks agreed to stop on Ctrl-C
        self._sigint = 0.0  # 1.0 once this rank got SIGINT, until the ranks agree on it
        self._sigint_at = 0.0
        self._previous_handler: Any = None
        self._reducers: dict[int, _Reducer] = {}
        self._gathered: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}

    def __repr__(self) -> str:
        return f"DataParallel(rank {self.rank} of {self.size}, overlap={self.overlap})"

    # -- errors ---------------------------------------------------------------------------

    def agree(self, error: BaseException | None) -> None:
        """Collective: raise on every rank if any rank has an error (its own, else the first one's).

        For the checks made before training: every rank raises, none is left waiting.
        """
        found = self.comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
        if error is not None:
            raise error
        for r, text in enumerate(found):
            if text is not None:
                raise RuntimeError(f"rank {r} of {self.size} refused to start: {text}")

    def abort(self, error: BaseException) -> None:
        """One line naming this rank and the error, on stderr; then end every rank of the job."""
        text = str(error).splitlines()[0] if str(error) else ""
        print(
            f"nablanet: rank {self.rank} of {self.size} failed: {type(error).__name__}"
            f"{': ' + text if text else ''}; ending the job",
            file=sys.stderr,
            flush=True,
        )
        self.comm.Abort(1)

    # -- the start ------------------------------------------------------------------------

    def start(self, run, X: np.ndarray, Y: np.ndarray, validation) -> None:
        """Collective, before the first step: check that the ranks agree, then share rank 0's state.

        Raises the same ValueError on every rank if the ranks were given different
        data or settings, or if there are more ranks than examples in a batch.
        """
        net, opt = run.net, run.optimizer
        mine = {
            "training rows": X.shape[0],
            "features": X.shape[1],
            "outputs": Y.shape[1],
            "classes (outputs with a target)": int(np.count_nonzero(Y.any(axis=0))),
            "training data": _digest(X, Y),
            "sample weights": _digest(run.sample_weight),
            "validation data": "none" if validation is None else _digest(*validation),
            "network": f"{net!r} {net.sizes} {net.dtype}",
            "optimizer": repr(opt),
            "batch size": run.batch_size,
            "epochs": run.epochs,
            "lmbda": run.lmbda,
            "l1": run.l1,
            "dropout": run.dropout,
        }
        everyone = self.comm.allgather(mine)
        for key in mine:
            for r, theirs in enumerate(everyone):
                if theirs[key] != everyone[0][key]:
                    raise ValueError(
                        f"the ranks were given different {key}: rank 0 has {everyone[0][key]!r}, "
                        f"rank {r} has {theirs[key]!r}. Every rank must load the same data and "
                        "settings: each takes its share of every batch"
                    )
        if self.size > run.batch_size:
            raise ValueError(
                f"{self.size} ranks share batches of {run.batch_size} examples: each rank needs at "
                f"least one; use at most {run.batch_size} ranks or a batch size of at least {self.size}"
            )
        # Rank 0's state for everyone: its weights, its optimizer's state, its run state.
        self.comm.Bcast(net.flat, root=0)
        state = self.comm.bcast(opt.state_dict() if self.rank == 0 else None, root=0)
        if self.rank:
            opt.load_state_dict(state)
        fields = ("epoch", "batch", "epoch_rng_state", "cost_sum", "seconds")
        shared = self.comm.bcast(
            (run.rng.bit_generator.state, {k: getattr(run, k) for k in fields}, run.history.to_dict())
            if self.rank == 0
            else None,
            root=0,
        )
        if self.rank:
            run.rng.bit_generator.state = shared[0]
            for k, v in shared[1].items():
                setattr(run, k, v)
            run.history = type(run.history).from_dict(shared[2])

    # -- the batches ----------------------------------------------------------------------

    def shares(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        weight: np.ndarray | None,
        order: np.ndarray,
        m: int,
        first: int = 0,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None, int]]:
        """This rank's share of mini-batches ``first``, ``first`` + 1, ... of ``m`` rows in ``order``.

        Yields (x, y, w, size, cols): x the share's rows of X, y its targets in
        columns, w its weights or None, size the global batch's size (the last
        batch may be short; a share may then be empty), and cols the share's
        columns within the batch (a slice). Arrays are reused per share size.
        """
        n = len(order)
        for k in range(first, -(-n // m)):
            batch = order[k * m : min((k + 1) * m, n)]
            lo, hi = _share(len(batch), self.size, self.rank)
            rows = batch[lo:hi]
            kept = self._gathered.get(len(rows))
            if kept is None:
                w = None if weight is None else np.empty(len(rows), weight.dtype)
                kept = (
                    np.empty((len(rows), X.shape[1]), X.dtype),
                    np.empty((Y.shape[1], len(rows)), Y.dtype),
                    w,
                )
                self._gathered[len(rows)] = kept
            x, y, w = kept
            X.take(rows, axis=0, out=x, mode="clip")
            np.copyto(y, Y[rows].T)
            if w is not None:
                weight.take(rows, out=w, mode="clip")
            yield x, y, w, len(batch), slice(lo, hi)

    def reducer(self, ws) -> _Reducer:
        """The all-reduce of one workspace's gradient (its slices are views of ``ws.nabla``)."""
        r = self._reducers.get(ws.m)  # one per share size: an epoch's workspaces replace the last's
        if r is None or r.ws is not ws:
            r = self._reducers[ws.m] = _Reducer(self, ws)
        return r

    # -- across ranks ---------------------------------------------------------------------

    def evaluate(self, net: Network, X: np.ndarray, Y: np.ndarray) -> tuple[float, float | None]:
        """(cost, accuracy) on (X, Y), each rank evaluating its share; the same on every rank."""
        n = X.shape[0]
        lo, hi = _share(n, self.size, self.rank)
        sums = np.zeros(3)
        if hi > lo:
            ev = net.evaluate(X[lo:hi], Y[lo:hi])
            sums[0] = ev.cost * (hi - lo)
            if ev.accuracy is not None:
                sums[1], sums[2] = round(ev.accuracy * (hi - lo)), 1
        self.comm.Allreduce(self.MPI.IN_PLACE, sums, op=self.MPI.SUM)
        return float(sums[0] / n), (float(sums[1] / n) if sums[2] else None)

    def maximum(self, value: float) -> float:
        """The largest of the ranks' values (an epoch's seconds: the slowest rank's)."""
        return float(self.comm.allreduce(float(value), op=self.MPI.MAX))

    # -- Ctrl-C -----------------------------------------------------------------------------

    def catch_interrupts(self) -> None:
        """Hold Ctrl-C until the ranks agree on it (``interrupt_agreed``); call after callbacks begin.

        mpiexec forwards SIGINT to every rank, each at its own moment; the flag
        travels with the next step's all-reduce, so all ranks stop after the same
        mini-batch. The handler found here (a Checkpoint's, on rank 0) is then
        called, as if the signal had come just then.
        """
        self.interrupted, self._sigint = False, 0.0
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame) -> None:
        # A Ctrl-C in a terminal reaches a rank twice: from the terminal (mpiexec's process
        # group) and forwarded by mpiexec. Only a second one a while later means "stop now".
        now = time.monotonic()
        if self._sigint and now - self._sigint_at > _SAME_CTRL_C:
            raise KeyboardInterrupt
        if not self._sigint:
            self._sigint, self._sigint_at = 1.0, now

    def release_interrupts(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def interrupt_agreed(self, run, flag: float) -> None:
        """After a step whose all-reduce carried ``flag`` (how many ranks got Ctrl-C): stop together."""
        if not flag or self.interrupted:
            return
        self.interrupted = True
        run.stop = True
        handler = self._previous_handler
        if callable(handler) and handler is not signal.default_int_handler:
            handler(signal.SIGINT, None)  # a Checkpoint: it saves in on_train_end and raises

    def agree_on_interrupt(self, run) -> None:
        """Collective, once training ends: a Ctrl-C that came after the last step."""
        self.interrupt_agreed(run, self.comm.allreduce(self._sigint, op=self.MPI.SUM))

    def must_raise_interrupt(self) -> bool:
        """True where the ranks stopped on Ctrl-C and no handler of this rank raised for it."""
        handler = self._previous_handler
        return self.interrupted and not (callable(handler) and handler is not signal.default_int_handler)


class _Reducer:
    """Sums one workspace's flat gradient across the ranks, layer by layer as backward finishes them.

    ``train_step`` calls ``layer_done(l)`` from inside ``backward`` and the
    reducer itself with (∇C, cost) after it: that waits for the sums and returns
    the global batch's cost, after ``begin`` gave it the share's and the batch's sizes.
    """

    def __init__(self, par: DataParallel, ws):
        self.par, self.ws = par, ws
        self.comm, self.MPI = par.comm, par.MPI
        L = len(ws.nabla_w) - 1
        self.n_w = sum(ws.nabla_w[l].size for l in range(1, L + 1))
        self.biases = ws.nabla[self.n_w :]  # [∂C/∂b^1, ..., ∂C/∂b^L]: one contiguous block
        self.scalars = np.zeros(2)  # the share's Σ cost, and how many ranks got Ctrl-C
        self.requests: list = []
        self.share = self.m = 0
        self.layer_done = self._start if par.overlap else None

    def begin(self, share: int, m: int) -> None:
        self.share, self.m = share, m

    def _start(self, l: int) -> None:
        comm, MPI = self.comm, self.MPI
        self.requests.append(comm.Iallreduce(MPI.IN_PLACE, self.ws.nabla_w[l], MPI.SUM))
        if l == 1:
            self.requests.append(comm.Iallreduce(MPI.IN_PLACE, self.biases, MPI.SUM))
        else:
            MPI.Request.Testall(self.requests)  # MPICH moves a message on only inside its calls

    def __call__(self, nabla: np.ndarray, cost: float) -> float:
        MPI, par = self.MPI, self.par
        self.scalars[0] = cost * self.share
        self.scalars[1] = par._sigint
        start = time.perf_counter()
        if self.layer_done is not None:
            self.requests.append(self.comm.Iallreduce(MPI.IN_PLACE, self.scalars, MPI.SUM))
            MPI.Request.Waitall(self.requests)
            self.requests.clear()
        else:
            self.comm.Allreduce(MPI.IN_PLACE, nabla, MPI.SUM)
            self.comm.Allreduce(MPI.IN_PLACE, self.scalars, MPI.SUM)
        par.wait_seconds += time.perf_counter() - start
        par.steps += 1
        self.flag = float(self.scalars[1])
        return float(self.scalars[0]) / self.m


def evaluate(net: Network, X: Any, y: Any, comm=None) -> tuple[float, float | None]:
    """(cost, accuracy) of ``net`` on (X, y), split across the ranks of ``comm`` (None: this process).

    Every rank must pass the same X and y; each evaluates its share, and the
    sums are all-reduced, so every rank gets the same numbers.
    """
    X = net.check_inputs(X)
    Y = net.check_targets(y, X.shape[0])
    if comm is None or comm.Get_size() == 1:
        ev = net.evaluate(X, Y)
        return ev.cost, ev.accuracy
    return DataParallel(comm).evaluate(net, X, Y)
