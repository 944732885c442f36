"""Built-in callbacks: early stopping and learning-rate schedules.

Each is a ``train.Callback`` that reads ``run.history`` after an epoch and may
change ``run.optimizer.eta`` or set ``run.stop``. A schedule sets η at the start
of an epoch, so ``History.eta[e]`` is the η that epoch e was trained with.

    fit(net, X, y, validation_data=(X_val, y_val),
        callbacks=[HalveOnPlateau(patience=10, max_halvings=7)])

A resumed run (``fit(..., resume=checkpoint)``) carries its History, and the
callbacks replay it when training begins, so fresh instances carry on exactly
where the saved run was: same η, same patience count, same stop. The one thing
a checkpoint cannot give back is the weights of a best epoch before it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..train import Callback, Run

__all__ = ["EarlyStopping", "HalveOnPlateau", "StepDecay", "InverseScaling"]

# What each monitored quantity means: is larger better?
_MONITORS = {"val_cost": False, "val_accuracy": True, "cost": False}


class _Plateau:
    """Tracks the best value of one measurement and the epochs since it improved.

    ``monitor`` names a History entry, or is a function of the Run (then
    ``larger_is_better`` must say which way is better). ``compare_with`` picks
    the rule for "improved":

    - ``"last_improvement"`` (Keras's rule, the default): better than the value
      of the last improvement by more than ``min_delta``; ``best`` is that value.
    - ``"best"`` (scikit-learn's MLP rule for ``tol`` and ``n_iter_no_change``):
      better than the best value seen by at least ``min_delta``; ``best`` is the
      best value seen, by whatever margin.

    ``baseline``, if given, is the best value to start from (an earlier run's).
    """

    def __init__(
        self,
        monitor: str | Callable[[Run], float],
        min_delta: float,
        larger_is_better: bool | None = None,
        compare_with: str = "last_improvement",
        baseline: float | None = None,
    ):
        if callable(monitor):
            if not isinstance(larger_is_better, bool):
                raise ValueError("a monitor function needs larger_is_better=True or False")
        elif monitor not in _MONITORS:
            raise ValueError(f"cannot monitor {monitor!r}; choose one of {', '.join(_MONITORS)}")
        elif larger_is_better is None:
            larger_is_better = _MONITORS[monitor]
        if not np.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number ≥ 0, got {min_delta}")
        if compare_with not in ("last_improvement", "best"):
            raise ValueError(f"compare_with must be 'last_improvement' or 'best', got {compare_with!r}")
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self._sign = -1.0 if larger_is_better else 1.0  # compare as "smaller is better"
        self.compare_with = compare_with
        self.baseline = None if baseline is None else float(baseline)
        self.reset()

    def reset(self) -> None:
        self.best: float | None = self.baseline
        self.best_epoch = 0  # epochs completed when the best value was seen
        self.wait = 0  # epochs since the last improvement

    def latest(self, run: Run) -> float:
        if callable(self.monitor):
            return float(self.monitor(run))
        value = getattr(run.history, self.monitor)[-1]
        if value is None:
            raise ValueError(f"{self.monitor} was not recorded: pass validation_data to fit to monitor it")
        return value

    def recorded(self, run: Run) -> list[tuple[int, float]]:
        """(epoch, value) already in the history: a resumed run's past, replayed by the callbacks."""
        if callable(self.monitor):  # a function of the run has no recorded past
            return []
        values = getattr(run.history, self.monitor)[: run.epoch]
        return [(e, v) for e, v in enumerate(values, start=1) if v is not None]

    def update(self, value: float, epoch: int) -> bool:
        """True when ``value`` improved on the best by more than (or, with "best", at least) min_delta."""
        v = self._sign * value
        if self.best is None:
            improved = new_best = True
        elif self.compare_with == "best":
            ref = self._sign * self.best
            improved, new_best = v <= ref - self.min_delta, v < ref
        else:
            improved = new_best = v < self._sign * self.best - self.min_delta
        if new_best:
            self.best, self.best_epoch = float(value), epoch
        self.wait = 0 if improved else self.wait + 1
        return improved


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``monitor`` is ``"val_cost"`` (smaller is better) or ``"val_accuracy"``
    (larger is better), both recorded by ``fit`` when it has validation data.
    With ``restore_best`` the weights of the best epoch are put back at the end
    of training, in place, whether training stopped early or ran out of epochs.
    ``monitor`` may also be a function of the Run, with ``larger_is_better``;
    ``compare_with`` and ``baseline`` are those of the plateau rule (``_Plateau``):
    the estimators use them for MLPClassifier's ``tol`` and ``n_iter_no_change``.

    Attributes
    ----------
    best, best_epoch : the best value seen, and the epoch (1-based) it was seen after.
    stopped_epoch : the epoch after which training was stopped, or None.
    """

    def __init__(
        self,
        monitor: str | Callable[[Run], float] = "val_cost",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        *,
        larger_is_better: bool | None = None,
        compare_with: str = "last_improvement",
        baseline: float | None = None,
    ):
        self._plateau = _Plateau(monitor, min_delta, larger_is_better, compare_with, baseline)
        self.patience = _check_int(patience, "patience", 1)
        self.restore_best = bool(restore_best)
        self.stopped_epoch: int | None = None
        self._best: np.ndarray | None = None  # a copy of net.flat at the best epoch

    @property
    def best(self) -> float | None:
        return self._plateau.best

    @property
    def best_epoch(self) -> int:
        return self._plateau.best_epoch

    def on_train_begin(self, run: Run) -> None:
        self._plateau.reset()
        self.stopped_epoch = None
        for epoch, value in self._plateau.recorded(run):  # resuming: the best so far
            self._plateau.update(value, epoch)
        # Weights of an earlier best epoch are gone; the current ones are kept if they are the best.
        best_now = self.restore_best and self._plateau.best_epoch == run.epoch > 0
        self._best = run.net.flat.copy() if best_now else None
        if self._plateau.wait >= self.patience:  # it had already run out of patience
            run.stop = True
            self.stopped_epoch = run.epoch

    def on_epoch_end(self, run: Run) -> None:
        improved = self._plateau.update(self._plateau.latest(run), run.epoch)
        if self.restore_best and self._plateau.best_epoch == run.epoch:  # a new best
            self._best = run.net.flat.copy()
        if not improved and self._plateau.wait >= self.patience:
            run.stop = True
            self.stopped_epoch = run.epoch

    def on_train_end(self, run: Run) -> None:
        if self.restore_best and self._best is not None and self.best_epoch != run.epoch:
            run.net.flat[...] = self._best


class HalveOnPlateau(Callback):
    """Nielsen's schedule: halve η after ``patience`` epochs without improvement.

    η → η/2 each time ``monitor`` has not improved for ``patience`` epochs; the
    count starts again after every halving. Once η has been halved
    ``max_halvings`` times (K), the next plateau ends training, so the smallest
    η trained with is η_0 / 2^K. Nielsen stops when η reaches η_0/128, that is
    ``max_halvings=6``.
    """

    def __init__(
        self,
        monitor: str = "val_accuracy",
        patience: int = 10,
        max_halvings: int = 7,
        min_delta: float = 0.0,
    ):
        self._plateau = _Plateau(monitor, min_delta)
        self.patience = _check_int(patience, "patience", 1)
        self.max_halvings = _check_int(max_halvings, "max_halvings", 0)
        self.halvings = 0

    def on_train_begin(self, run: Run) -> None:
        self._plateau.reset()
        self.halvings = 0
        for epoch, value in self._plateau.recorded(run):  # resuming: replay the count, not η
            if self._plateau_reached(value, epoch):
                if self.halvings == self.max_halvings:
                    run.stop = True  # it had already stopped
                    return
                self._halved()

    def on_epoch_end(self, run: Run) -> None:
        if not self._plateau_reached(self._plateau.latest(run), run.epoch):
            return
        if self.halvings == self.max_halvings:
            run.stop = True
            return
        run.optimizer.eta /= 2
        self._halved()

    def _plateau_reached(self, value: float, epoch: int) -> bool:
        return not self._plateau.update(value, epoch) and self._plateau.wait >= self.patience

    def _halved(self) -> None:
        self.halvings += 1
        self._plateau.wait = 0


class _Schedule(Callback):
    """η as a function of the epochs completed, t; η_0 is the optimizer's η when training begins."""

    def __init__(self, eta0: float | None = None):
        if eta0 is not None and (not np.isfinite(eta0) or eta0 <= 0):
            raise ValueError(f"eta0 must be a positive number, got {eta0}")
        self.eta0 = eta0

    def on_train_begin(self, run: Run) -> None:
        if self.eta0 is None:  # a resumed run's η has moved on; its first epoch's has not
            self.eta0 = run.history.eta[0] if run.history.eta else run.optimizer.eta

    def on_epoch_begin(self, run: Run) -> None:
        run.optimizer.eta = float(self.eta(run.epoch))

    def eta(self, t: int) -> float:
        raise NotImplementedError


class StepDecay(_Schedule):
    """η_t = η_0 · factor^⌊t / step⌋: multiply η by ``factor`` every ``step`` epochs."""

    def __init__(self, step: int = 10, factor: float = 0.5, eta0: float | None = None):
        super().__init__(eta0)
        self.step = _check_int(step, "step", 1)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        self.factor = float(factor)

    def eta(self, t: int) -> float:
        return self.eta0 * self.factor ** (t // self.step)


class InverseScaling(_Schedule):
    """η_t = η_0 / (1 + decay·t)^power, with t the epochs completed.

    ``power=1`` (the default) is the classic 1/t decay, η halving once
    decay·t = 1. ``decay=1, power=0.5`` is scikit-learn's ``invscaling`` rule
    η_0 / (t + 1)^power_t, with t counted in epochs rather than in samples.
    """

    def __init__(self, decay: float = 0.1, power: float = 1.0, eta0: float | None = None):
        super().__init__(eta0)
        if not np.isfinite(decay) or decay <= 0:
            raise ValueError(f"decay must be a positive number, got {decay}")
        if not np.isfinite(power) or power <= 0:
            raise ValueError(f"power must be a positive number, got {power}")
        self.decay, self.power = float(decay), float(power)

    def eta(self, t: int) -> float:
        return self.eta0 / (1 + self.decay * t) ** self.power
