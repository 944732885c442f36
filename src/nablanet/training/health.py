"""Cheap checks, on by default, that a run has not collapsed: no training ends silently at chance.

``fit`` adds a ``Health`` callback unless ``health=False``. After epochs 1, 2,
4, 8, … and the last, it runs one forward and one backward pass on a fixed
sample of at most 256 training examples (on a real data set far less than an
epoch's work; on the smallest, a few passes over a run) and warns when

- the accuracy on that sample is no better than always answering the most
  common class, and the cost has not fallen by a tenth since training began;
- a whole layer is dead (every ReLU off on every example) or saturated (its
  sigmoid or tanh units in their flat tails on 99 % or more of the examples);
- the gradient is exactly zero, so no step can change anything;
- the training cost has risen for ``rising`` epochs in a row (checked every epoch).

Each warning names what was seen and suggests a fix. It is appended to
``History.warnings`` (where the CLI prints it, and writes it as a JSON event),
and raised as a ``TrainingWarning`` so that Python users see it too. A
condition is reported when it starts, not again every epoch while it lasts.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..backprop import backward
from ..buffers import Workspace
from ..network import forward, is_class_target, labels
from ..train import Callback, Run
from .monitor import dead_fraction, saturated_fraction

__all__ = ["Health", "TrainingWarning"]

SATURATED = 0.99  # a layer counts as saturated when σ'(z) is in its tails this often


class TrainingWarning(UserWarning):
    """A training run that looks collapsed or stuck; the message suggests a fix."""


class Health(Callback):
    """Warn when a run collapses: accuracy at chance, a dead or saturated layer, ∇C = 0, a rising cost.

    Parameters
    ----------
    X, Y : arrays
        Checked training data, rows = examples (``fit`` passes its own).
    sample : int
        How many examples (a fixed, seeded choice) the checks look at.
    rising : int
        Warn once the cost has risen this many epochs in a row.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, sample: int = 256, rising: int = 3, seed: int = 0):
        idx = np.sort(np.random.default_rng(seed).permutation(len(X))[:sample])
        self.x = np.ascontiguousarray(X[idx].T)
        self.y = np.ascontiguousarray(Y[idx].T)
        self.rising = int(rising)
        self._classes = is_class_target(self.y.T)
        if self._classes:
            counts = np.bincount(labels(self.y.T), minlength=self.y.shape[0])
            self._chance = float(counts.max() / counts.sum())  # always the most common class
        self._seen: set = set()
        self._ws: Workspace | None = None
        self._start_cost: float | None = None

    def on_batch_end(self, run: Run, cost: float) -> None:
        # The run's first mini-batch cost stands for the cost before training, for free
        # (a pass of its own on the sample would cost as much as a few steps).
        if self._start_cost is None:
            self._start_cost = cost

    def on_epoch_end(self, run: Run) -> None:
        due = run.epoch & (run.epoch - 1) == 0 or run.epoch == run.epochs  # 1, 2, 4, 8, ... and the last
        found = self._findings(run) if due else self._rising(run)
        for key, message in found:
            if key not in self._seen:
                text = f"epoch {run.epoch}: {message}"
                run.history.warnings.append(text)
                warnings.warn(text, TrainingWarning, stacklevel=2)
        # A condition that ends is reported again if it comes back; between the full
        # checks only the rising cost is looked at, so the others stay as they were.
        kept = set() if due else self._seen - {("rising",)}
        self._seen = kept | {key for key, _ in found}

    def _pass(self, net) -> tuple[float, list, list, np.ndarray]:
        """The sample's cost, z, a and ∇C, by one forward and one backward pass."""
        if self._ws is None or self._ws.z[1].dtype != net.dtype:
            self._ws = Workspace(net.sizes, self.x.shape[1], net.dtype)
        x, y = self.x.astype(net.dtype, copy=False), self.y.astype(net.dtype, copy=False)
        with np.errstate(all="ignore"):
            z, a = forward(net, x, self._ws)
            nabla = backward(net, z, a, y, None, self._ws)
            cost = net.cost.fn(a[-1], y)
        return cost, z, a, nabla

    def _findings(self, run: Run) -> list[tuple[tuple, str]]:
        net = run.net
        found = []
        cost, z, a, nabla = self._pass(net)
        if self._classes and net.sizes[-1] > 1:
            accuracy = float(np.mean(labels(a[-1].T) == labels(self.y.T)))
            start = self._start_cost
            stuck = start is None or not np.isfinite(cost) or cost > 0.9 * start
            if accuracy <= self._chance + 0.01 and stuck:
                moved = "rose" if start is not None and cost > start else "barely moved"
                fix = "a smaller learning rate eta" if moved == "rose" else "a larger eta or more epochs"
                found.append(
                    (
                        ("chance",),
                        f"accuracy {accuracy:.1%} is at chance (always guessing the most common class "
                        f"gives {self._chance:.1%}) and the cost {moved} since training began; try {fix}, "
                        "or check the labels",
                    )
                )
        for l in range(1, net.L):  # hidden layers: the output layer has no units to lose
            act = net.activations[l]
            if dead_fraction(act, z[l]) == 1.0:
                found.append(
                    (
                        ("dead", l),
                        f"every ReLU of layer {l} is off on every example (a dead layer: no gradient "
                        "reaches below it); try a smaller eta, or init='he'",
                    )
                )
            elif (saturated_fraction(act, z[l], a[l]) or 0) >= SATURATED:
                found.append(
                    (
                        ("saturated", l),
                        f"layer {l}'s {act.name} units are saturated (σ'(z) ≈ 0 on {SATURATED:.0%} or more "
                        "of units and examples): it learns "
                        "no more; try init='scaled' or 'he', inputs scaled to about [0, 1], or relu",
                    )
                )
        if not np.any(nabla):
            found.append(
                (("zero gradient",), "the gradient ∂C/∂w is exactly 0: no step can change the network")
            )
        return found + self._rising(run)

    def _rising(self, run: Run) -> list[tuple[tuple, str]]:
        found = []
        cost = run.history.cost
        k = self.rising
        if len(cost) > k and all(cost[-i] > cost[-i - 1] for i in range(1, k + 1)):
            found.append(
                (
                    ("rising",),
                    f"the training cost has risen {k} epochs in a row ({cost[-k - 1]:.4g} → {cost[-1]:.4g}); "
                    "try a smaller learning rate eta",
                )
            )
        return found
