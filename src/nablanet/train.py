"""The training loop: for each epoch, shuffle, split into mini-batches, gradient, update.

``train`` continues a ``Run`` on checked data and returns its ``History``; it
never prints. Watching training (progress, early stopping, checkpoints) is done
by callbacks, which see the whole ``Run`` and may set ``run.stop``.
``nablanet.fit`` (in ``nablanet.training.fit``) checks the arguments, builds the
run and its callbacks, and calls ``train``.

A step is two parts on purpose: ``backward`` computes the gradient ∇C into one
flat buffer, and the optimizer applies it. Between the two is the one place
where data-parallel training sums the processes' gradients (``reduce``):
``train(..., parallel=DataParallel(comm))`` (``nablanet.parallel``) runs the same
loop on every MPI rank, each on its share of every batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .backprop import backward
from .batches import batches
from .blas import axpy
from .buffers import Workspace
from .errors import DivergenceError, NonFiniteUpdate
from .network import Network, forward
from .optimizers import Optimizer

if TYPE_CHECKING:
    from .parallel import DataParallel

__all__ = ["train", "train_step", "dropout_masks", "History", "Run", "Callback", "DivergenceError", "Reduce"]

# Sums the flat gradient in place across processes, and returns the summed cost.
Reduce = Callable[[np.ndarray, float], float]


@dataclass
class History:
    """Per-epoch measurements; validation entries are None without validation data."""

    cost: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)  # on the training set, if measured
    val_cost: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    eta: list[float] = field(default_factory=list)
    layers: list[list[dict]] = field(default_factory=list)  # per epoch, per layer: health (monitor)
    warnings: list[str] = field(default_factory=list)  # what the monitor warned about, in order

    def __len__(self) -> int:
        return len(self.cost)

    def to_dict(self) -> dict[str, list]:
        return {k: list(v) for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, list]) -> History:
        return cls(**{k: list(d.get(k, [])) for k in vars(cls()).keys()})


@dataclass
class Run:
    """Everything a training run needs to continue: enough to checkpoint and resume."""

    net: Network
    optimizer: Optimizer
    rng: np.random.Generator
    epochs: int
    batch_size: int
    lmbda: float = 0.0
    sample_weight: np.ndarray | None = None  # per training example, scaled to mean 1
    l1: float = 0.0  # L1 regularisation λ₁: the cost gains (λ₁/n) Σ |w|
    dropout: list[float] | None = None  # dropout[l-1]: the drop rate p of hidden layer l
    history: History = field(default_factory=History)
    epoch: int = 0  # epochs completed
    batch: int = 0  # mini-batches completed in the current epoch
    epoch_rng_state: dict | None = None  # RNG state when this epoch's shuffle was drawn
    cost_sum: float = 0.0  # Σ batch cost × batch size, over this epoch so far
    seconds: float = 0.0  # time spent in this epoch so far
    stop: bool = False  # set by a callback to end training after the current batch
    error: BaseException | None = None  # the exception that ended training, seen by on_train_end
    checkpoint_every: int | None = None  # mini-batches between checkpoints, kept for resume


class Callback:
    """Hooks into ``train``; override the ones you need. All receive the Run."""

    def on_train_begin(self, run: Run) -> None: ...
    def on_epoch_begin(self, run: Run) -> None: ...
    def on_batch_end(self, run: Run, cost: float) -> None: ...
    def on_epoch_end(self, run: Run) -> None: ...
    def on_train_end(self, run: Run) -> None: ...


def train_step(
    net: Network,
    optimizer: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    lmbda_n: float = 0.0,
    sample_weight: np.ndarray | None = None,
    ws: Workspace | None = None,
    reduce: Reduce | None = None,
    m: int | None = None,
    l1_n: float = 0.0,
    keep: list | None = None,
    layer_done: Callable[[int], None] | None = None,
) -> float:
    """One mini-batch (columns = examples): gradient, then update. Returns the batch cost.

    ``x`` must have the network's dtype (``fit`` converts it once, up front);
    ``ws``, a ``Workspace`` for this batch size, lets the step reuse its arrays.
    ``m`` is the batch size the mean is taken over (the global batch, when
    ``reduce`` sums the gradients of several processes' shares of it). ``keep``
    are dropout masks, indexed by layer (see ``dropout_masks``). ``layer_done(l)``
    is called by backward once layer l's gradient is final: data-parallel
    training starts its sum there. A process's share may be empty: its cost is 0.
    """
    if x.dtype != net.dtype:
        raise TypeError(f"x has dtype {x.dtype}; this network computes in {net.dtype}")
    ws = ws if ws is not None else Workspace(net.sizes, x.shape[1], net.dtype)
    z, a = forward(net, x, ws, keep)
    cost = net.cost.fn(a[-1], y, sample_weight) if x.shape[1] else 0.0
    nabla = backward(net, z, a, y, sample_weight, ws, m, layer_done, keep)  # ∇C, one flat buffer
    if reduce is not None:  # data parallel: the sum over every process's share of the batch
        cost = reduce(nabla, cost)
    if lmbda_n:  # L2: C = C_0 + (λ/2n) Σ w², so ∂C/∂w gains (λ/n) w
        for l in range(1, net.L + 1):
            axpy(lmbda_n, net.W[l], ws.nabla_w[l])
    if l1_n:  # L1: C = C_0 + (λ₁/n) Σ |w|, so ∂C/∂w gains (λ₁/n) sign(w)
        for l in range(1, net.L + 1):
            axpy(l1_n, np.sign(net.W[l]), ws.nabla_w[l])
    # The guard: the optimizer refuses an update that is not finite, or that
    # would make a weight overflow, before it touches anything.
    try:
        if not math.isfinite(cost):
            raise NonFiniteUpdate("the cost is not finite")
        optimizer.step([net.flat], [nabla])
    except NonFiniteUpdate as e:
        raise DivergenceError(_diagnose(z, a, cost, ws, str(e))) from None
    return cost


def dropout_masks(net: Network, rates: list[float], m: int, rng: np.random.Generator) -> list:
    """Inverted dropout: r^l_j = 0 with probability p_l, else 1/(1 − p_l), per unit and example.

    Indexed by layer; None where a layer has no dropout (the input and the output
    never do). Scaling the kept units by 1/(1 − p) keeps the expected input of the
    next layer unchanged, so the trained network is used as it is, without masks.
    """
    keep: list = [None] * (net.L + 1)
    for l, p in enumerate(rates, start=1):
        if p:
            keep[l] = (rng.random((net.sizes[l], m)) >= p).astype(net.dtype) / net.dtype.type(1 - p)
    return keep


def _diagnose(z: list, a: list, cost: float, ws: Workspace, refused: str) -> str:
    """Name the first quantity, in the order they were computed, that is not finite."""
    L = len(a) - 1
    found = None
    for l in range(1, L + 1):
        if not np.isfinite(z[l]).all():
            found = f"z^{l} (layer {l}'s weighted input)"
        elif not np.isfinite(a[l]).all():
            found = f"a^{l} (layer {l}'s activation)"
        if found:
            break
    if found is None and not math.isfinite(cost):
        found = "the cost"
    if found is None:
        for l in range(L, 0, -1):
            if not np.isfinite(ws.nabla_b[l]).all():
                found = f"δ^{l} and ∂C/∂b^{l} (layer {l})"
            elif not np.isfinite(ws.nabla_w[l]).all():
                found = f"∂C/∂W^{l} (layer {l})"
            if found:
                break
    if found is None:
        return (
            f"training diverged: the update η·∇C was refused ({refused}); the gradient was finite, "
            "the step too large. "
            "The weights are those before this step. Try a smaller learning rate eta"
        )
    return (
        f"training diverged: {found} became NaN or inf. The weights are those before this step. "
        "Try a smaller learning rate eta, or an initialisation that keeps z small (init='he' or 'scaled')"
    )


def train(
    run: Run,
    X: np.ndarray,
    Y: np.ndarray,
    validation=None,
    callbacks: Sequence[Callback] = (),
    parallel: DataParallel | None = None,
) -> History:
    """Continue ``run`` from where it stands on checked data (rows = examples).

    Every callback's ``on_train_end`` runs, in a ``finally``, however training
    ends; ``run.error`` is then the exception that ended it, or None.

    With ``parallel`` (a ``nablanet.parallel.DataParallel``), every rank of its
    communicator calls ``train`` with the same data and settings, and each
    computes its share of every batch. An exception on one rank then ends the
    whole job (``MPI.Abort``) after a line naming the rank; Ctrl-C stops every
    rank after the same mini-batch and raises KeyboardInterrupt on each.
    """
    if parallel is None:
        return _train(run, X, Y, validation, callbacks, None)
    parallel.start(run, X, Y, validation)  # collective checks: the same error on every rank
    try:
        history = _train(run, X, Y, validation, callbacks, parallel)
    except KeyboardInterrupt as e:
        if not parallel.interrupted:  # a second Ctrl-C, not the one the ranks agreed on
            parallel.abort(e)
        raise
    except BaseException as e:
        parallel.abort(e)
        raise
    if parallel.must_raise_interrupt():
        raise KeyboardInterrupt("training interrupted on every rank")
    return history


def _train(run: Run, X, Y, validation, callbacks: Sequence[Callback], parallel) -> History:
    run.net.check_parameters()
    run.error = None
    try:
        for cb in callbacks:
            cb.on_train_begin(run)
        if parallel is not None:
            parallel.catch_interrupts()  # after the callbacks' own handlers: ours is called first
        # NaN and inf are caught by the guard in train_step, with a message that says
        # where; NumPy's own overflow warnings would only come first and say less.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while run.epoch < run.epochs and not run.stop:
                if run.batch == 0:
                    for cb in callbacks:
                        cb.on_epoch_begin(run)
                if parallel is None:
                    _run_epoch(run, X, Y, callbacks)
                else:
                    _run_epoch_parallel(run, X, Y, callbacks, parallel)
                if run.stop and run.batch:  # stopped mid-epoch: leave the epoch open
                    break
                _end_epoch(run, X.shape[0], validation, parallel)
                for cb in callbacks:
                    cb.on_epoch_end(run)
            if parallel is not None:
                parallel.agree_on_interrupt(run)  # a Ctrl-C after the last step
    except BaseException as e:
        run.error = e
        raise
    finally:
        if parallel is not None:
            parallel.release_interrupts()
        _end_callbacks(run, callbacks)
    return run.history


def _end_callbacks(run: Run, callbacks: Sequence[Callback]) -> None:
    """Every on_train_end, even after one raises; the first exception is raised after."""
    first = None
    for cb in callbacks:
        try:
            cb.on_train_end(run)
        except BaseException as e:  # noqa: PERF203 - each callback must get its turn
            first = first or e
    if first is not None and first is not run.error:
        raise first


def _run_epoch(run: Run, X: np.ndarray, Y: np.ndarray, callbacks: Sequence[Callback]) -> None:
    """One pass over the rows of X and Y, from ``run.batch`` on."""
    start = time.perf_counter()
    n, m = X.shape[0], run.batch_size
    if run.batch == 0:
        run.epoch_rng_state = run.rng.bit_generator.state
    else:  # resuming mid-epoch: replay the same shuffle
        run.rng.bit_generator.state = run.epoch_rng_state
    order = run.rng.permutation(n)
    lmbda_n, l1_n = run.lmbda / n, run.l1 / n
    # Dropout masks come from a generator of their own, seeded once per epoch from
    # the run's: a run resumed mid-epoch replays the same masks, batch for batch.
    masks_seed = int(run.rng.integers(2**63)) if run.dropout else None
    workspaces: dict[int, Workspace] = {}  # per batch size
    # The batches come gathered ahead by a helper thread (nablanet.batches): x in
    # rows (x.T, a view, is the batch in columns), y already in columns.
    feed = batches(X, Y, run.sample_weight, order, m, first=run.batch)
    try:
        for k, (x, y, w) in enumerate(feed, start=run.batch):
            ws = workspaces.get(len(x))
            if ws is None:
                ws = workspaces[len(x)] = Workspace(run.net.sizes, len(x), run.net.dtype)
            try:
                keep = None
                if masks_seed is not None:
                    keep = dropout_masks(run.net, run.dropout, len(x), np.random.default_rng([masks_seed, k]))
                cost = train_step(run.net, run.optimizer, x.T, y, lmbda_n, w, ws, l1_n=l1_n, keep=keep)
            except DivergenceError as e:
                raise DivergenceError(f"epoch {run.epoch + 1}, mini-batch {k + 1}: {e}") from None
            run.batch = k + 1
            run.cost_sum += cost * len(x)
            for cb in callbacks:
                cb.on_batch_end(run, cost)
            if run.stop:
                break
    finally:
        feed.close()  # stops the helper thread
    run.seconds += time.perf_counter() - start


def _run_epoch_parallel(
    run: Run, X: np.ndarray, Y: np.ndarray, callbacks: Sequence[Callback], parallel: DataParallel
) -> None:
    """``_run_epoch`` on one rank: the same shuffle and masks everywhere, this rank's share of each batch."""
    start = time.perf_counter()
    n = X.shape[0]
    if run.batch == 0:
        run.epoch_rng_state = run.rng.bit_generator.state
    else:
        run.rng.bit_generator.state = run.epoch_rng_state
    order = run.rng.permutation(n)
    lmbda_n, l1_n = run.lmbda / n, run.l1 / n
    masks_seed = int(run.rng.integers(2**63)) if run.dropout else None
    workspaces: dict[int, Workspace] = {}
    feed = parallel.shares(X, Y, run.sample_weight, order, run.batch_size, first=run.batch)
    for k, (x, y, w, m, cols) in enumerate(feed, start=run.batch):
        ws = workspaces.get(len(x))
        if ws is None:
            ws = workspaces[len(x)] = Workspace(run.net.sizes, len(x), run.net.dtype)
        reduce = parallel.reducer(ws)
        reduce.begin(len(x), m)
        try:
            keep = None
            if masks_seed is not None:  # the whole batch's masks, as one process draws them; our columns
                keep = dropout_masks(run.net, run.dropout, m, np.random.default_rng([masks_seed, k]))
                keep = [None if r is None else np.ascontiguousarray(r[:, cols]) for r in keep]
            cost = train_step(
                run.net, run.optimizer, x.T, y, lmbda_n, w, ws, reduce, m, l1_n, keep, reduce.layer_done
            )
        except DivergenceError as e:
            raise DivergenceError(f"epoch {run.epoch + 1}, mini-batch {k + 1}: {e}") from None
        run.batch = k + 1
        run.cost_sum += cost * m
        parallel.interrupt_agreed(run, reduce.flag)
        for cb in callbacks:
            cb.on_batch_end(run, cost)
        if run.stop:
            break
    run.seconds += time.perf_counter() - start


def _end_epoch(run: Run, n: int, validation, parallel: DataParallel | None = None) -> None:
    h = run.history
    h.cost.append(run.cost_sum / n)
    h.accuracy.append(None)  # a callback may measure it (the CLI does)
    val_cost = val_accuracy = None
    if validation is not None and parallel is not None:
        val_cost, val_accuracy = parallel.evaluate(run.net, *validation)
    elif validation is not None:
        ev = run.net.evaluate(*validation)
        val_cost, val_accuracy = ev.cost, ev.accuracy
    h.val_cost.append(val_cost)
    h.val_accuracy.append(val_accuracy)
    h.seconds.append(run.seconds if parallel is None else parallel.maximum(run.seconds))
    h.eta.append(run.optimizer.eta)
    run.net.check_parameters()  # each step kept the weights finite; this names any that were set so
    run.epoch += 1
    run.batch, run.cost_sum, run.seconds = 0, 0.0, 0.0
