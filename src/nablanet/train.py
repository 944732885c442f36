"""The training loop: for each epoch, shuffle, split into mini-batches, backprop, step.

``fit`` checks the data and returns a ``History``; it never prints. Watching
training (progress bars, early stopping, checkpoints) is done by callbacks,
which see the whole ``Run`` and may set ``run.stop``.

A step is two parts on purpose: ``backward`` computes the gradient and the
optimizer applies it. Data-parallel training sums the gradients across
processes between the two.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backprop import Workspace, backward, forward
from .batches import batches
from .network import Network, as_rng
from .errors import DivergenceError, NonFiniteUpdate
from .optimizers import SGD, Optimizer, prescale

__all__ = ["fit", "train", "train_step", "History", "Run", "Callback", "DivergenceError"]


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
    history: History = field(default_factory=History)
    epoch: int = 0  # epochs completed
    batch: int = 0  # mini-batches completed in the current epoch
    epoch_rng_state: dict | None = None  # RNG state when this epoch's shuffle was drawn
    cost_sum: float = 0.0  # Σ batch cost × batch size, over this epoch so far
    seconds: float = 0.0  # time spent in this epoch so far
    stop: bool = False  # set by a callback to end training after the current batch


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
    lmbda_n: float,
    weight: np.ndarray | None = None,
    ws: Workspace | None = None,
) -> float:
    """One mini-batch (columns = examples): gradient, then update. Returns the batch cost.

    ``ws``, a ``Workspace`` for this batch size, lets the step reuse its arrays.
    ``x`` must have the network's dtype (``fit`` converts it once, up front).
    """
    if x.dtype != net.dtype:
        raise TypeError(f"x has dtype {x.dtype}; this network computes in {net.dtype}")
    ws = ws if ws is not None else Workspace(net, x.shape[1])
    z, a = forward(net, x, ws)
    cost = net.cost.fn(a[-1], y, weight)
    # Plain SGD's update is −η ∇C: backprop computes that product in the first
    # place (c = −η), and the optimizer only checks and adds it.
    c = prescale(optimizer)
    _gradient(net, z, a, y, lmbda_n, weight, ws, 1.0 if c is None else c)  # into ws.nabla
    # (Data-parallel training sums ws.nabla, one buffer, across processes here;
    # c ∇C sums like ∇C.)
    # The guard: a non-finite cost stops here; a non-finite δ, gradient or update
    # stops in the optimizer, which checks every Δw before it touches the weights.
    try:
        if not math.isfinite(cost):
            raise NonFiniteUpdate("the cost is not finite")
        # The whole network in one update; ws.nabla is refilled next step, so the
        # optimizer may write Δw over it.
        if c is None:
            optimizer.step([net.flat()], [ws.nabla], overwrite_grads=True)
        else:  # ws.nabla holds Δw already
            optimizer.step([net.flat()], [ws.nabla], overwrite_grads=True, prescaled=True)
    except NonFiniteUpdate:
        # The weights are unchanged, but ws.nabla holds c ∇C or Δw: compute ∇C again.
        nabla_b, nabla_w = _gradient(net, z, a, y, lmbda_n, weight, ws)
        raise DivergenceError(_diagnose(z, a, cost, nabla_b, nabla_w)) from None
    return cost


def _gradient(net: Network, z: list, a: list, y: np.ndarray, lmbda_n: float, weight, ws: Workspace, c=1.0):
    """c ∂C/∂b^l and c ∂C/∂W^l into the Workspace: backprop, plus the L2 term."""
    nabla_b, nabla_w = backward(net, z, a, y, weight, ws, c)
    if lmbda_n:  # L2: C = C_0 + (λ/2n) Σ w², so ∂C/∂w gains (λ/n) w
        for nw, W in zip(nabla_w, net.W):
            nw += (c * lmbda_n) * W
    return nabla_b, nabla_w


def _diagnose(z: list, a: list, cost: float, nabla_b: list, nabla_w: list) -> str:
    """Name the first quantity, in the order they were computed, that is not finite."""
    found = "the cost"
    for l in range(1, len(a)):
        if not np.isfinite(z[l]).all():
            found = f"z^{l} (layer {l}'s weighted input)"
            break
        if not np.isfinite(a[l]).all():
            found = f"a^{l} (layer {l}'s activation)"
            break
    else:
        if np.isfinite(cost):
            bad_b = [l for l in range(len(nabla_b), 0, -1) if not np.isfinite(nabla_b[l - 1]).all()]
            bad_w = [l for l in range(len(nabla_w), 0, -1) if not np.isfinite(nabla_w[l - 1]).all()]
            if bad_b:
                found = f"δ^{bad_b[0]} and ∂C/∂b^{bad_b[0]} (layer {bad_b[0]})"
            elif bad_w:
                found = f"∂C/∂W^{bad_w[0]} (layer {bad_w[0]})"
            else:
                found = "the update η·∇C (the gradient was finite; the step overflowed)"
    return (
        f"training diverged: {found} became NaN or inf. Try a smaller learning rate eta, "
        "or an initialisation that keeps z small (init='scaled' or 'he')"
    )


def fit(
    net: Network,
    X: Any,
    y: Any,
    *,
    epochs: int = 30,
    batch_size: int = 10,
    eta: float = 3.0,
    optimizer: Optimizer | None = None,
    lmbda: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    seed: int | np.random.Generator | None = None,
    callbacks: Sequence[Callback] = (),
    sample_weight: Any = None,
    monitor: bool = False,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: str | os.PathLike | None = None,
) -> History:
    """Train ``net`` by mini-batch stochastic gradient descent.

    Parameters
    ----------
    net : Network
    X : array, shape (n, n_0)
        Training inputs, one row per example.
    y : array, shape (n,) or (n, n_L)
        Integer class labels, or target vectors.
    epochs, batch_size : int
    eta : float
        Learning rate η for the default optimizer, ``SGD(eta)``.
    optimizer : Optimizer, optional
        Replaces the default; its own η is used.
    lmbda : float
        L2 regularisation λ: the cost gains (λ/2n) Σ w² over all weights.
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch.
    seed : int or numpy.random.Generator, optional
        Source of the per-epoch shuffles.
    callbacks : sequence of Callback
    sample_weight : array, shape (n,), optional
        Non-negative weight of each training example in the cost.
    monitor : bool
        Record per-layer health each epoch in ``History.layers`` (``nablanet.training.monitor``).
    checkpoint : path, optional
        Write a checkpoint there every ``checkpoint_every`` mini-batches (default:
        at the end of every epoch), and on interruption.
    resume : path, optional
        Continue the run saved in this checkpoint: weights, optimizer state, epoch,
        position within the epoch and RNG state. The run's own optimizer, batch
        size, λ and shuffles are used (passing ``optimizer`` too is an error);
        ``epochs`` may extend it.

    Returns
    -------
    History
    """
    X = net.check_inputs(X)
    Y = net.check_targets(y, X.shape[0])
    validation = None
    if validation_data is not None:
        X_val = net.check_inputs(validation_data[0], "X_val")
        validation = (X_val, net.check_targets(validation_data[1], X_val.shape[0], "y_val"))
    _check_positive_int(epochs, "epochs", minimum=0)
    _check_positive_int(batch_size, "batch_size")
    if not np.isfinite(lmbda) or lmbda < 0:
        raise ValueError(f"lmbda must be a finite number ≥ 0, got {lmbda}")
    weight = _check_sample_weight(sample_weight, X.shape[0])
    if resume is not None:
        from .checkpoint import load_run

        if optimizer is not None:
            raise ValueError("resume continues the checkpoint's own optimizer; do not pass optimizer too")

        run = load_run(resume, net)  # restores the weights in place, and everything else
        run.epochs = epochs
    else:
        optimizer = optimizer if optimizer is not None else SGD(eta)
        run = Run(net, optimizer, as_rng(seed), epochs, batch_size, float(lmbda))
    run.sample_weight = None if weight is None else weight.astype(net.dtype)
    callbacks = list(callbacks)
    if monitor:
        from .monitor import Monitor

        callbacks.append(Monitor(X, Y))
    if checkpoint is not None:
        from .checkpoint import Checkpoint

        callbacks.append(Checkpoint(checkpoint, every=checkpoint_every))
    return train(run, X, Y, validation, callbacks)


def train(
    run: Run, X: np.ndarray, Y: np.ndarray, validation=None, callbacks: Sequence[Callback] = ()
) -> History:
    """Continue ``run`` from where it stands on checked data (rows = examples)."""
    for cb in callbacks:
        cb.on_train_begin(run)
    # NaN and inf are caught by the guard in train_step, with a message that says
    # where; NumPy's own overflow warnings would only come first and say less.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while run.epoch < run.epochs and not run.stop:
            if run.batch == 0:
                for cb in callbacks:
                    cb.on_epoch_begin(run)
            _run_epoch(run, X, Y, callbacks)
            if run.stop and run.batch:  # stopped mid-epoch: leave the epoch open
                break
            _end_epoch(run, X.shape[0], validation)
            for cb in callbacks:
                cb.on_epoch_end(run)
    for cb in callbacks:
        cb.on_train_end(run)
    return run.history


def _run_epoch(run: Run, X: np.ndarray, Y: np.ndarray, callbacks: Sequence[Callback]) -> None:
    """One pass over the rows of X and Y, from ``run.batch`` on."""
    start = time.perf_counter()
    n, m = X.shape[0], run.batch_size
    if run.batch == 0:
        run.epoch_rng_state = run.rng.bit_generator.state
    else:  # resuming mid-epoch: replay the same shuffle
        run.rng.bit_generator.state = run.epoch_rng_state
    order = run.rng.permutation(n)
    lmbda_n = run.lmbda / n
    workspaces: dict[int, Workspace] = {}  # per batch size
    # The batches come gathered ahead by a helper thread (nablanet.batches): x in
    # rows (x.T, a view, is the batch in columns), y already in columns.
    feed = batches(X, Y, run.sample_weight, order, m, first=run.batch)
    try:
        for k, (x, y, w) in enumerate(feed, start=run.batch):
            ws = workspaces.get(len(x))
            if ws is None:
                ws = workspaces[len(x)] = Workspace(run.net, len(x))
            try:
                cost = train_step(run.net, run.optimizer, x.T, y, lmbda_n, w, ws)
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


def _end_epoch(run: Run, n: int, validation) -> None:
    h = run.history
    h.cost.append(run.cost_sum / n)
    h.accuracy.append(None)  # a callback may measure it (the CLI does)
    val_cost = val_accuracy = None
    if validation is not None:
        ev = run.net.evaluate(*validation)
        val_cost, val_accuracy = ev.cost, ev.accuracy
    h.val_cost.append(val_cost)
    h.val_accuracy.append(val_accuracy)
    h.seconds.append(run.seconds)
    h.eta.append(run.optimizer.eta)
    run.epoch += 1
    run.batch, run.cost_sum, run.seconds = 0, 0.0, 0.0


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Weights scaled so that they average 1: the mean-cost gradient stays unbiased."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}; expected ({n},), one weight per example")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError("sample_weight sums to 0: no example would count")
    return w * (n / w.sum())


def _check_positive_int(value: Any, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
