"""Checkpoints: save a training run as it goes, and resume it exactly.

``Checkpoint`` is a training callback. It writes everything ``train`` needs to
carry on (the weights, the optimizer's state, the epoch, the position within the
epoch, the random generator's state, the epoch's running cost, the history and
the settings) to a model-format file, every ``every`` mini-batches or at the end
of each epoch, and when you press Ctrl-C. The file before the latest is kept as
``<path>.prev``, so a damaged latest checkpoint costs one interval, not the run.

``load_run`` reads a checkpoint back into a ``Run``. Training that run gives the
same weights, bit for bit, as if it had never stopped: the mid-epoch shuffle is
replayed from the saved generator state, and every float is stored exactly.
"""

from __future__ import annotations

import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import optimizers
from ..errors import ModelFileError
from ..io.container import FORMAT, FORMAT_VERSION, read_container, write_container
from ..io.model import check_weights, network_from_spec, network_spec, weight_arrays
from ..network import Network
from ..train import Callback, History, Run, train

__all__ = ["Checkpoint", "load_run", "previous_path", "read_checkpoint"]

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def previous_path(path: str | os.PathLike) -> Path:
    """Where the checkpoint before the latest is kept: ``<path>.prev``."""
    path = Path(path)
    return path.with_name(path.name + ".prev")


class Checkpoint(Callback):
    """Save the run every ``every`` mini-batches (default: each epoch's end) and on Ctrl-C.

    Parameters
    ----------
    path : path
        The checkpoint file; the one before it is kept as ``<path>.prev``.
    every : int, optional
        Also save after every ``every``-th mini-batch of an epoch.
    periodic : bool
        False: save only when interrupted (the CLI's default without --checkpoint).
    config : dict, optional
        Extra JSON settings stored with the run (the CLI keeps its options here).

    Ctrl-C (SIGINT) sets ``run.stop``: the current mini-batch finishes, a
    checkpoint is written, and ``KeyboardInterrupt`` is raised from
    ``on_train_end``. A second Ctrl-C interrupts at once.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        every: int | None = None,
        periodic: bool = True,
        config: dict | None = None,
    ):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"checkpoint every must be a positive number of mini-batches, got {every!r}")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(
                f"cannot write checkpoints to {self.path}: {self.path.parent} does not exist"
            )
        self.every, self.periodic, self.config = every, periodic, dict(config or {})
        self.interrupted = False
        self.saves = 0
        self._previous_handler: Any = None

    # -- Ctrl-C ----------------------------------------------------------------------------

    def on_train_begin(self, run: Run) -> None:
        self.interrupted = False
        self._run = run
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame) -> None:
        if not _inside_train(frame):  # training ended by an exception: step aside
            previous = self._restore_handler()
            if callable(previous):
                return previous(signum, frame)
            raise KeyboardInterrupt
        if self.interrupted:  # the second Ctrl-C: stop now, without a checkpoint
            raise KeyboardInterrupt
        self.interrupted = True
        self._run.stop = True

    def _restore_handler(self):
        previous = self._previous_handler
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            self._previous_handler = None
        return previous

    def on_train_end(self, run: Run) -> None:
        self._restore_handler()
        if self.interrupted:
            self.save(run)
            raise KeyboardInterrupt(f"training interrupted; checkpoint written to {self.path}")
        if self.periodic and run.stop:  # stopped early by a callback: keep where it stopped
            self.save(run)

    # -- periodic saves ----------------------------------------------------------------------

    def on_batch_end(self, run: Run, cost: float) -> None:
        if self.periodic and self.every and run.batch % self.every == 0 and not run.stop:
            self.save(run)

    def on_epoch_end(self, run: Run) -> None:
        if self.periodic:
            self.save(run)

    def save(self, run: Run) -> None:
        """Write the run now; the file it replaces becomes ``<path>.prev``."""
        header, arrays = _checkpoint_contents(run, self.config)
        tmp = self.path.with_name(f".{self.path.name}.new")
        write_container(tmp, header, arrays)
        if self.path.exists():
            os.replace(self.path, previous_path(self.path))
        os.replace(tmp, self.path)
        self.saves += 1


def _plain(state):
    """A bit generator's state as JSON: MT19937, Philox and SFC64 keep arrays in it."""
    if isinstance(state, dict):
        return {k: _plain(v) for k, v in state.items()}
    return state.tolist() if isinstance(state, np.ndarray) else state


def _inside_train(frame) -> bool:
    """Is ``nablanet.train.train`` on the stack? (It is not once training has raised.)"""
    while frame is not None:
        if frame.f_code is train.__code__:
            return True
        frame = frame.f_back
    return False


def _checkpoint_contents(run: Run, config: dict) -> tuple[dict, dict[str, np.ndarray]]:
    from .._version import __version__

    opt_state = run.optimizer.state_dict()
    slots = {k: v for k, v in opt_state.items() if isinstance(v, list)}
    scalars = {k: v for k, v in opt_state.items() if k not in slots}
    arrays = weight_arrays(run.net)
    for slot, values in slots.items():
        arrays.update({f"opt.{slot}.{i}": np.asarray(v) for i, v in enumerate(values)})
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": "checkpoint",
        "library_version": __version__,
        "network": network_spec(run.net),
        "history": run.history.to_dict(),
        "hyperparameters": config,
        "run": {
            "epoch": run.epoch,
            "batch": run.batch,
            "epochs": run.epochs,
            "batch_size": run.batch_size,
            "lmbda": run.lmbda,
            "cost_sum": run.cost_sum,
            "seconds": run.seconds,
            "rng_state": _plain(run.rng.bit_generator.state),
            "epoch_rng_state": _plain(run.epoch_rng_state),
            "optimizer": {
                "name": run.optimizer.name,
                "state": scalars,
                "slots": {k: len(v) for k, v in slots.items()},
            },
        },
    }
    return header, arrays


# -- reading back ----------------------------------------------------------------------------


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray], Path]:
    """The latest intact checkpoint: ``path``, or ``<path>.prev`` with a warning if ``path`` is bad.

    Returns the header, the arrays and the file they came from. "Intact" includes
    a run state that rebuilds: a known optimizer whose arrays fit the network, a
    known bit generator, whole numbers where they belong.
    """
    path = Path(path)
    try:
        return (*_read_checkpoint_file(path), path)
    except ModelFileError as latest_error:
        prev = previous_path(path)
        if not prev.exists():
            raise
        try:
            header, arrays = _read_checkpoint_file(prev)
        except ModelFileError as prev_error:
            raise ModelFileError(
                f"{latest_error}; the previous checkpoint is bad too: {prev_error}"
            ) from None
        warnings.warn(f"{latest_error}; resuming from the previous checkpoint {prev}", stacklevel=2)
        return header, arrays, prev


def _read_checkpoint_file(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    header, arrays = read_container(path)
    if header.get("kind") != "checkpoint" or not isinstance(header.get("run"), dict):
        raise ModelFileError(f"{path}: this is a {header.get('kind')!r} file, not a checkpoint")
    _run_state(header, arrays, path)  # rebuild once, so that a bad state counts as a bad file
    return header, arrays


def _run_state(header: dict, arrays: dict, source: Path) -> dict:
    """Everything in a Run but the network, rebuilt from the file (ModelFileError if it cannot be)."""
    saved = network_from_spec(header["network"], source)
    check_weights(saved, arrays, source)
    try:
        state = header["run"]
        run = {
            "optimizer": _optimizer(state["optimizer"], arrays, saved.params),
            "rng": _generator(state["rng_state"]),
            "epochs": _whole(state["epochs"]),
            "batch_size": _whole(state["batch_size"], minimum=1),
            "lmbda": float(state["lmbda"]),
            "history": History.from_dict(header["history"]),
            "epoch": _whole(state["epoch"]),
            "batch": _whole(state["batch"]),
            "epoch_rng_state": state["epoch_rng_state"],
            "cost_sum": float(state["cost_sum"]),
            "seconds": float(state["seconds"]),
        }
        if run["epoch_rng_state"] is not None:
            _generator(run["epoch_rng_state"])
        elif run["batch"]:
            raise ValueError("a mid-epoch checkpoint has no shuffle state")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise ModelFileError(
            f"{source}: the checkpoint's run state is invalid ({type(e).__name__}: {e})"
        ) from None
    return run


def _whole(value, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise ValueError(f"expected a whole number ≥ {minimum}, got {value!r}")
    return value


def load_run(path: str | os.PathLike, net: Network | None = None) -> Run:
    """The training run saved in ``path``, ready for ``nablanet.train.train``.

    The weights are restored into ``net`` in place (its architecture must match);
    without ``net``, a network is built from the checkpoint. Falls back to
    ``<path>.prev``, with a warning, if ``path`` is damaged.
    """
    header, arrays, source = read_checkpoint(path)
    saved = network_from_spec(header["network"], source)
    if net is None:
        net = saved
    elif network_spec(net) | {"init": ""} != network_spec(saved) | {"init": ""}:
        raise ValueError(
            f"the checkpoint {source} is for {saved!r}, but the network to resume is {net!r}; "
            "build the network with the same sizes, activations, cost and dtype"
        )
    for l in range(1, net.L + 1):
        net.W[l - 1][...] = arrays[f"W{l}"]
        net.b[l - 1][...] = arrays[f"b{l}"]
    return Run(net, **_run_state(header, arrays, source))


def _optimizer(spec: dict, arrays: dict, params: list[np.ndarray]) -> optimizers.Optimizer:
    """The optimizer by name, with its hyperparameters, step count and per-parameter arrays."""
    state = dict(spec["state"])
    if not all(type(v) in (int, float) for v in state.values()):
        raise ValueError(f"the {spec['name']} optimizer's saved state holds values that are not numbers")
    # Rebuild through the constructor, so that its checks apply to the saved hyperparameters;
    # only the constructor's own names and the step count t are accepted.
    hyper = {k: v for k, v in state.items() if k != "t"}
    opt = optimizers.get(spec["name"], **hyper)
    if not set(spec["slots"]) <= set(opt._slots):
        raise ValueError(f"the {opt.name} optimizer's saved state does not fit it")
    for slot, n in spec["slots"].items():
        state[slot] = [arrays[f"opt.{slot}.{i}"] for i in range(n)]
        # Training keeps one array per slot, shaped like Network.flat(); an optimizer
        # stepped by hand may keep one per parameter.
        shapes = [a.shape for a in state[slot]]
        if shapes not in ([(sum(p.size for p in params),)], [p.shape for p in params]):
            raise ValueError(f"the optimizer's {slot} arrays do not match the network's parameters")
    _whole(state.get("t"))
    opt.load_state_dict(state)
    return opt


def _generator(state: dict) -> np.random.Generator:
    """A Generator whose bit generator continues exactly from ``state``."""
    name = state["bit_generator"]
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
