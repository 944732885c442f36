"""``fit``: check every argument, build the run and its callbacks, and train.

Everything is validated before anything changes: the data, the numbers, the
checkpoint's folder and, when resuming, the whole checkpoint. Only then are the
caller's network and optimizer touched.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import defaults
from ..network import Network, as_rng
from ..optimizers import SGD, Momentum, Optimizer
from ..parallel import DataParallel
from ..train import Callback, History, Run, train
from .checkpoint import Checkpoint, load_run
from .checks import check_count, check_dropout, check_lmbda, check_sample_weight
from .health import Health
from .monitor import Monitor
from .progress import Progress

__all__ = ["fit"]


def fit(
    net: Network,
    X: Any,
    y: Any,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    eta: float | None = None,
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
    preset: str | None = None,
    l1: float | None = None,
    dropout: float | Sequence[float] | None = None,
    health: bool = True,
    verbose: int = 0,
    comm: Any = None,
) -> History:
    """Train ``net`` by mini-batch stochastic gradient descent.

    Parameters
    ----------
    net : Network
    X : array, shape (n, n_0)
        Training inputs, one row per example.
    y : array, shape (n,) or (n, n_L)
        Integer class labels, or target vectors.
    epochs, batch_size : int, optional
        From the preset when left out (30 and 32 by default).
    eta : float, optional
        Learning rate η of the preset's optimizer: SGD with momentum 0.9 and
        η = 0.05 by default, plain SGD with η = 3 for ``preset="nielsen"``.
    optimizer : Optimizer, optional
        Replaces the preset's; its own η is used (passing ``eta`` too is an error).
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
        position within the epoch and RNG state. The run's own optimizer (η
        included), batch size, λ and shuffles are used (passing ``optimizer`` too
        is an error); ``epochs`` may extend it.
    preset : str, optional
        ``"default"`` or ``"nielsen"``: where the arguments left out come from
        (default: the preset the network was built with).
    l1 : float
        L1 regularisation λ₁: the cost gains (λ₁/n) Σ |w| over all weights.
    dropout : float or sequence of float
        The drop rate p of every hidden layer, or one per hidden layer (inverted
        dropout: only in training; the trained network is used without masks).
    health : bool
        Warn when the run collapses (``nablanet.training.health``): on by default.
    verbose : int
        1 shows a progress bar per epoch (rich; in a terminal or a notebook).
    comm : mpi4py.MPI.Comm or nablanet.parallel.DataParallel, optional
        Data-parallel training on MPI (``nablanet.parallel``, docs/distributed.md):
        every rank of ``comm`` calls ``fit`` with the same data and arguments and
        takes its share of every mini-batch of ``batch_size`` examples; the
        result is that of one process. Only rank 0 writes checkpoints and shows
        progress (Checkpoint callbacks run on rank 0 alone). A comm of one rank
        is the one-process path. A ``DataParallel(comm, overlap=False)`` sums the
        gradient in one blocking all-reduce instead of overlapping it with backprop.

    Returns
    -------
    History
    """
    settings = {k: v for k, v in locals().items() if k not in ("net", "X", "y", "comm")}
    parallel = _data_parallel(comm)
    if parallel is None:
        return train(*_prepare(net, X, y, 0, **settings))
    # Every rank checks its arguments; if one fails, every rank raises (none is left waiting).
    try:
        prepared = _prepare(net, X, y, parallel.rank, **settings)
    except Exception as e:
        parallel.agree(e)
    parallel.agree(None)
    with warnings.catch_warnings():
        if parallel.rank:  # rank 0 speaks for the run; the others' warnings are the same
            warnings.simplefilter("ignore")
        return train(*prepared, parallel=parallel)


def _data_parallel(comm) -> DataParallel | None:
    if comm is None:
        return None
    if isinstance(comm, DataParallel):
        return comm if comm.size > 1 else None
    if not all(hasattr(comm, a) for a in ("Get_size", "Get_rank", "Allreduce", "Iallreduce")):
        raise TypeError(f"comm must be an mpi4py communicator, got {type(comm).__name__}")
    return DataParallel(comm) if comm.Get_size() > 1 else None


def _prepare(
    net: Network,
    X: Any,
    y: Any,
    rank: int,
    *,
    epochs,
    batch_size,
    eta,
    optimizer,
    lmbda,
    validation_data,
    seed,
    callbacks,
    sample_weight,
    monitor,
    checkpoint,
    checkpoint_every,
    resume,
    preset,
    l1,
    dropout,
    health,
    verbose,
) -> tuple:
    """(run, X, Y, validation, callbacks) for ``train``, every argument checked; on rank ``rank``."""
    if not isinstance(net, Network):
        raise TypeError(f"fit trains a nablanet Network, got {type(net).__name__}")
    chosen = defaults.preset(net.preset if preset is None else preset)
    if not isinstance(health, bool):
        raise TypeError(f"health must be True or False, got {health!r}")
    if resume is not None and optimizer is not None:
        raise ValueError("resume continues the checkpoint's own optimizer; do not pass optimizer too")
    if checkpoint_every is not None and checkpoint is None and resume is None:
        raise ValueError("checkpoint_every needs checkpoint=, the file to write")
    epochs = check_count(chosen["epochs"] if epochs is None else epochs, "epochs", minimum=0)
    batch_size = check_count(chosen["batch_size"] if batch_size is None else batch_size, "batch_size")
    lmbda, l1 = check_lmbda(lmbda), check_lmbda(0.0 if l1 is None else l1, "l1")
    rates = check_dropout(0.0 if dropout is None else dropout, len(net.sizes) - 2)
    if checkpoint_every is not None:
        check_count(checkpoint_every, "checkpoint_every")
    X = net.check_inputs(X)
    Y = net.check_targets(y, X.shape[0])
    validation = _check_validation(net, validation_data)
    weight = check_sample_weight(sample_weight, X.shape[0])
    if optimizer is not None and eta is not None:
        raise ValueError("pass eta or an optimizer, not both: the optimizer has its own eta")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a nablanet Optimizer, got {type(optimizer).__name__}")
    callbacks = list(callbacks)
    if not all(isinstance(cb, Callback) for cb in callbacks):
        raise TypeError("every callback must be a nablanet.Callback")
    if rank:  # only rank 0 writes: the run state is global, its checkpoint serves every rank
        callbacks = [cb for cb in callbacks if not isinstance(cb, Checkpoint)]
        checkpoint = None
    # Made now, so that a bad folder or interval fails before training; it goes last,
    # so that what it saves includes every other callback's record of the epoch.
    saver = None if checkpoint is None else Checkpoint(checkpoint, every=checkpoint_every)
    if resume is not None:
        run = load_run(resume, net)
        _warn_ignored(
            run, eta=eta, batch_size=batch_size, l1=l1, dropout=dropout
        )  # validates the whole checkpoint, then restores the weights
        run.epochs = epochs
    else:
        if optimizer is None:
            optimizer = _preset_optimizer(chosen, eta)
        run = Run(net, optimizer, as_rng(seed), epochs, batch_size, lmbda)
    run.checkpoint_every = checkpoint_every if checkpoint_every is not None else run.checkpoint_every
    run.sample_weight = None if weight is None else weight.astype(net.dtype)
    if resume is None:
        run.l1, run.dropout = l1, rates
    if health:
        callbacks.append(Health(X, Y))
    if verbose and not rank:
        callbacks.append(Progress(X.shape[0], run.batch_size))
    if monitor:
        callbacks.append(Monitor(X, Y))
    if saver is not None:
        callbacks.append(saver)
    return run, X, Y, validation, callbacks


def _warn_ignored(run: Run, **given) -> None:
    """A setting passed with resume that differs from the checkpoint's is said, not silently dropped."""
    saved = {"eta": run.optimizer.eta, "batch_size": run.batch_size, "l1": run.l1, "dropout": run.dropout}
    for name, value in given.items():
        if value is None:
            continue
        same = (
            value == saved[name] if name != "dropout" else check_dropout(value, run.net.L - 1) == saved[name]
        )
        if not same:
            warnings.warn(
                f"resume continues the checkpoint's run: {name}={value!r} is ignored, "
                f"the checkpoint's {saved[name]!r} is used",
                UserWarning,
                stacklevel=4,
            )


def _preset_optimizer(chosen, eta: float | None) -> Optimizer:
    eta = chosen["eta"] if eta is None else eta
    if chosen["optimizer"] == "momentum":
        return Momentum(eta, chosen["mu"])
    return SGD(eta)


def _check_validation(net: Network, validation_data) -> tuple[np.ndarray, np.ndarray] | None:
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError("validation_data must be a pair (X_val, y_val)")
    X_val = net.check_inputs(validation_data[0], "X_val")
    return X_val, net.check_targets(validation_data[1], X_val.shape[0], "y_val")
