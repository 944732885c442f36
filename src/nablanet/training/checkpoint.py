"""Checkpoints: save a training run as it goes, and resume it exactly.

``Checkpoint`` is a training callback. It writes everything ``train`` needs to
carry on (the weights, the optimizer's state, the epoch, the position within the
epoch, the random generator's state, the epoch's running cost, the history and
the settings) to a model-format file, every ``every`` mini-batches or at the end
of each epoch, and when you press Ctrl-C.

A save survives ``kill -9`` at any instant (docs/checkpoints.md):

1. if the current latest file is intact, it is kept as ``<path>.prev`` by a hard
   link (the latest name is never without a file);
2. the new checkpoint is written whole under a fresh temp name and fsynced;
3. one rename makes the new file the latest: the save is complete.

Every file carries a sequence number, and ``load_run`` resumes from the newest
intact one of the latest and ``.prev``. A damaged latest is never kept as
``.prev``, so it cannot push out the only good copy.

Training a run from ``load_run`` gives the same weights, bit for bit, as if it
had never stopped: the mid-epoch shuffle is replayed from the saved generator
state, and every float is stored exactly.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .. import optimizers
from .._version import __version__
from ..errors import ModelFileError
from ..io.atomic import fit_name, keep_as, publish, remove_stale_temps, resolve_target, stale_temps
from ..io.container import FORMAT, FORMAT_VERSION, plain, read_container, write_container
from ..io.model import check_header, check_weights, network_from_spec, network_spec, weight_arrays
from ..network import Network
from ..train import Callback, History, Run
from .checks import check_count, check_dropout, check_lmbda

__all__ = ["Checkpoint", "load_run", "previous_path", "read_checkpoint"]

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_PER_EPOCH = ("cost", "accuracy", "val_cost", "val_accuracy", "seconds", "eta")  # one entry an epoch


def previous_path(path: str | os.PathLike) -> Path:
    """Where the checkpoint before the latest is kept: ``<path>.prev`` beside the file ``path`` names.

    A name too long for ``.prev`` is shortened and given a hash of the full name.
    """
    latest = Path(os.path.realpath(path))
    name = latest.name + ".prev"
    if fit_name(name, 0, latest.parent) != name:
        digest = hashlib.sha256(os.fsencode(latest.name)).hexdigest()[:8]
        name = f"{fit_name(latest.name, 14, latest.parent)}~{digest}.prev"
    return latest.with_name(name)


def _check_every(every: Any) -> int | None:
    """None (each epoch's end), or a number of mini-batches ≥ 1."""
    return None if every is None else check_count(every, "checkpoint_every")


class Checkpoint(Callback):
    """Save the run every ``every`` mini-batches (default: each epoch's end) and on Ctrl-C.

    Parameters
    ----------
    path : path
        The checkpoint file; the one before it is kept as ``<path>.prev``. A
        symlink is written through: the file it points to is replaced.
    every : int, optional
        Also save after every ``every``-th mini-batch of an epoch. Without it, a
        resumed run keeps the ``every`` it was saved with.
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
        self.every = _check_every(every)
        self.path = Path(path)
        try:
            self._latest = resolve_target(self.path)
        except OSError as e:
            raise type(e)(e.errno, f"cannot write checkpoints: {e.strerror}", e.filename) from None
        self._prev = previous_path(self._latest)
        if not os.access(self._latest.parent, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write checkpoints to {self.path}: the folder is not writable")
        self.periodic, self.config = periodic, dict(config or {})
        self.interrupted = False
        self.saves = 0
        self._every: int | None = every
        self._sequence: int | None = None  # of the newest intact file, once looked at
        self._known: dict[tuple, int | None] = {}  # file identity → its sequence (None: not intact)
        self._previous_handler: Any = None

    # -- Ctrl-C ----------------------------------------------------------------------------

    def on_train_begin(self, run: Run) -> None:
        self.interrupted = False
        self._run = run
        self._every = self.every if self.every is not None else getattr(run, "checkpoint_every", None)
        run.checkpoint_every = self._every
        self._look()
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame) -> None:
        if self.interrupted:  # the second Ctrl-C: stop now, without a checkpoint
            raise KeyboardInterrupt
        self.interrupted = True
        self._run.stop = True

    def on_train_end(self, run: Run) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None
        if getattr(run, "error", None) is not None:  # training is failing: leave the last save be
            return
        if self.interrupted:
            self.save(run)
            raise KeyboardInterrupt(f"training interrupted; checkpoint written to {self.path}")
        if self.periodic and run.stop:  # stopped early by a callback: keep where it stopped
            self.save(run)

    # -- periodic saves ----------------------------------------------------------------------

    def on_batch_end(self, run: Run, cost: float) -> None:
        if self.periodic and self._every and run.batch % self._every == 0 and not run.stop:
            self.save(run)

    def on_epoch_end(self, run: Run) -> None:
        if self.periodic:
            self.save(run)

    def save(self, run: Run) -> None:
        """Write the run now; the intact file it replaces becomes ``<path>.prev``."""
        if self._sequence is None:
            self._look()
        header, arrays = _checkpoint_contents(run, self.config, self._sequence + 1)
        # Keep the latest as .prev first, so that nothing stands between the new file's
        # last byte and the rename that publishes it.
        self._keep_latest()
        write_container(self._latest, header, arrays)
        self._sequence += 1
        self._known[_identity(self._latest)] = self._sequence
        self.saves += 1

    def _keep_latest(self) -> None:
        """Link the latest to ``.prev`` if it is intact and not older: never a damaged one."""
        latest, prev = self._intact(self._latest), self._intact(self._prev)
        if latest is not None and (prev is None or latest >= prev):
            keep_as(self._latest, self._prev)
            self._known = {_identity(self._prev): latest}

    def _look(self) -> None:
        """Before this writer's first save: finish the save a killed writer left whole, remove
        the temps of writers that died, and find the newest sequence number."""
        published = (self._intact(self._latest), self._intact(self._prev))
        newest = max((s for s in published if s is not None), default=0)
        whole = [(s, tmp) for tmp in stale_temps(self._latest) if (s := self._intact(tmp) or 0) > newest]
        if whole:  # killed between its last byte and its rename: the rename is all it lacks
            newest, tmp = max(whole)
            _fsync(tmp)
            self._keep_latest()
            publish(tmp, self._latest)
        remove_stale_temps(self._latest)
        self._sequence = newest

    @property
    def sequence(self) -> int | None:
        """The sequence number of this writer's last save (None before it has looked at the files)."""
        return self._sequence

    def _intact(self, path: Path) -> int | None:
        """The sequence number of the checkpoint at ``path``; None if it is missing or damaged.

        A file this writer made or checked, unchanged since, is not read again.
        """
        try:
            key = _identity(path)
        except FileNotFoundError:
            return None
        if key not in self._known:
            try:
                self._known[key] = _read_checkpoint_file(path).sequence
            except ModelFileError:
                self._known[key] = None
        return self._known[key]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _identity(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _checkpoint_contents(run: Run, config: dict, sequence: int) -> tuple[dict, dict[str, np.ndarray]]:
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
            "sequence": sequence,
            "epoch": run.epoch,
            "batch": run.batch,
            "epochs": run.epochs,
            "batch_size": run.batch_size,
            "lmbda": run.lmbda,
            "checkpoint_every": getattr(run, "checkpoint_every", None),
            "l1": run.l1,
            "dropout": run.dropout,
            "cost_sum": run.cost_sum,
            "seconds": run.seconds,
            "rng_state": plain(run.rng.bit_generator.state),
            "epoch_rng_state": plain(run.epoch_rng_state),
            "optimizer": {
                "name": run.optimizer.name,
                "state": scalars,
                "slots": {k: len(v) for k, v in slots.items()},
            },
        },
    }
    return header, arrays


# -- reading back ----------------------------------------------------------------------------


class _Saved(NamedTuple):
    """One checked checkpoint file: what it holds, rebuilt."""

    header: dict
    arrays: dict
    net: Network  # the saved architecture, weights not yet filled in
    state: dict  # the Run's fields but net
    sequence: int


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray], Path]:
    """The newest intact checkpoint of ``path`` and ``<path>.prev``: header, arrays, and which file.

    "Intact" includes a run state that passes the checks ``fit`` makes of its
    arguments and rebuilds: a known optimizer with valid hyperparameters whose
    arrays fit the network, a known bit generator, whole numbers where they belong.
    Warns when the file used is ``.prev``.
    """
    saved, source = _newest(path)
    return saved.header, saved.arrays, source


def _newest(path: str | os.PathLike) -> tuple[_Saved, Path]:
    """The checkpoint with the highest sequence number among the intact ones: the latest file,
    ``.prev``, and any whole file a killed writer left before its rename."""
    latest = Path(os.path.realpath(path))
    prev = previous_path(latest)
    found, errors = [], []
    for candidate in (latest, *(p for p in (prev,) if p.exists()), *stale_temps(latest)):
        try:
            found.append((_read_checkpoint_file(candidate), candidate))
        except ModelFileError as e:
            errors.append(e)
    if not found:
        if len(errors) > 1 and prev.exists():
            raise ModelFileError(f"{errors[0]}; the previous checkpoint is bad too: {errors[1]}")
        raise errors[0]
    saved, source = max(found, key=lambda f: f[0].sequence)  # the first of equals: the latest
    if source == prev:
        if found[0][1] == latest:
            why = f"{latest} is save {found[0][0].sequence}, older than {prev.name}'s {saved.sequence}"
        else:
            why = str(errors[0])
        warnings.warn(f"{why}; resuming from the previous checkpoint {prev}", stacklevel=3)
    elif source != latest:
        warnings.warn(
            f"resuming from {source.name}, a whole checkpoint that a killed writer had not yet "
            f"renamed to {latest.name}",
            stacklevel=3,
        )
    return saved, source


def _read_checkpoint_file(path: Path) -> _Saved:
    header, arrays = read_container(path)
    if header.get("kind") != "checkpoint" or not isinstance(header.get("run"), dict):
        raise ModelFileError(f"{path}: this is a {header.get('kind')!r} file, not a checkpoint")
    check_header(header, path)  # every field's type, and the parameter count capped, before allocating
    net = network_from_spec(header["network"], path)
    check_weights(net, arrays, path)
    if not all(np.isfinite(arrays[name]).all() for name in weight_arrays(net)):
        raise ModelFileError(f"{path}: the checkpoint's weights hold NaN or inf")
    state, sequence = _run_state(header, arrays, net, path)
    return _Saved(header, arrays, net, state, sequence)


def _run_state(header: dict, arrays: dict, net: Network, source: Path) -> tuple[dict, int]:
    """Everything in a Run but the network, rebuilt from the file and checked as ``fit`` checks
    its arguments (ModelFileError if it cannot be)."""
    try:
        state = header["run"]
        run = {
            "optimizer": _optimizer(state["optimizer"], arrays, net),
            "rng": _generator(state["rng_state"]),
            "epochs": check_count(state["epochs"], "epochs", minimum=0),
            "batch_size": check_count(state["batch_size"], "batch_size"),
            "lmbda": check_lmbda(state["lmbda"]),
            "history": _history(header["history"], state["epoch"]),
            "epoch": check_count(state["epoch"], "epoch", minimum=0),
            "batch": check_count(state["batch"], "batch", minimum=0),
            "epoch_rng_state": state["epoch_rng_state"],
            "cost_sum": _finite(state["cost_sum"], "cost_sum"),
            "seconds": _finite(state["seconds"], "seconds", minimum=0),
            "checkpoint_every": _check_every(state.get("checkpoint_every")),
            "l1": check_lmbda(state.get("l1", 0.0), "l1"),
            "dropout": check_dropout(state.get("dropout") or 0.0, net.L - 1),
        }
        sequence = check_count(state.get("sequence", 0), "sequence", minimum=0)
        if run["epoch"] > run["epochs"]:
            raise ValueError(f"epoch {run['epoch']} is past the run's {run['epochs']} epochs")
        if run["epoch_rng_state"] is not None:
            _generator(run["epoch_rng_state"])
        elif run["batch"]:
            raise ValueError("a mid-epoch checkpoint has no shuffle state")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise ModelFileError(
            f"{source}: the checkpoint's run state is invalid ({type(e).__name__}: {e})"
        ) from None
    return run, sequence


def _finite(value, name: str, minimum: float = -math.inf) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number ≥ {minimum}, got {value!r}")
    return float(value)


def _history(d: dict, epochs: Any) -> History:
    """The saved History: one entry an epoch in each per-epoch list, numbers or None."""
    history = History.from_dict(d)
    for name in (n for n in _PER_EPOCH if n in d):  # older files may lack a list
        values = getattr(history, name)
        if len(values) != epochs or not all(v is None or type(v) in (int, float) for v in values):
            raise ValueError(f"the history's {name} is not one number per completed epoch")
    return history


def load_run(path: str | os.PathLike, net: Network | None = None) -> Run:
    """The training run saved in ``path`` (or its ``.prev``, if newer or ``path`` is bad), ready
    for ``nablanet.train.train``.

    The file is read and checked once, in full, before anything changes; then
    the weights are copied into ``net`` (whose architecture must match), or into
    a network built from the checkpoint if ``net`` is None.
    """
    saved, source = _newest(path)
    if net is None:
        net = saved.net
    elif network_spec(net) | {"init": ""} != network_spec(saved.net) | {"init": ""}:
        raise ValueError(
            f"the checkpoint {source} is for {saved.net!r}, but the network to resume is {net!r}; "
            "build the network with the same sizes, activations, cost and dtype"
        )
    for l, (W, b) in enumerate(zip(net.W, net.b), start=1):
        W[...] = saved.arrays[f"W{l}"]
        b[...] = saved.arrays[f"b{l}"]
    state = dict(saved.state)
    every = state.pop("checkpoint_every")
    run = Run(net, **state)
    run.checkpoint_every = every
    return run


def _optimizer(spec: dict, arrays: dict, net: Network) -> optimizers.Optimizer:
    """The optimizer by name, with its hyperparameters, step count and per-parameter arrays."""
    state = dict(spec["state"])
    if not all(type(v) in (int, float) for v in state.values()):
        raise ValueError(f"the {spec['name']} optimizer's saved state holds values that are not numbers")
    # Rebuild through the constructor, so that its checks apply to the saved hyperparameters;
    # only the constructor's own names and the step count t are accepted.
    hyper = {k: v for k, v in state.items() if k != "t"}
    opt = optimizers.get(spec["name"], **hyper)
    if not {opt._renamed.get(k, k) for k in spec["slots"]} <= set(opt._slots):  # earlier names too
        raise ValueError(f"the {opt.name} optimizer's saved state does not fit it")
    shapes = [W.shape for W in net.W] + [b.shape for b in net.b]
    for slot, n in spec["slots"].items():
        state[slot] = [arrays[f"opt.{slot}.{i}"] for i in range(n)]
        # Training keeps one array per slot, shaped like the flat parameter buffer; an
        # optimizer stepped by hand may keep one per parameter.
        got = [a.shape for a in state[slot]]
        if got not in ([(sum(math.prod(s) for s in shapes),)], shapes):
            raise ValueError(f"the optimizer's {slot} arrays do not match the network's parameters")
        if not all(np.isfinite(a).all() for a in state[slot]):
            raise ValueError(f"the optimizer's {slot} arrays hold NaN or inf")
    check_count(state.get("t"), "the optimizer's step count t", minimum=0)
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
