"""Cheap checks, on by default, that a run has not collapsed: no training ends silently at chance.

``fit`` adds a ``Health`` callback unless ``health=False``. After every epoch it
runs one forward and one backward pass on a fixed sample of at most 256
training examples (a few per cent of an epoch's work on the smallest data
sets, far less on real ones) and warns when

- the accuracy on that sample is no better than always answering the most
  common class;
- a whole layer is dead (every ReLU off on every example) or saturated (its
  sigmoid or tanh units in their flat tails on 99 % or more of the examples);
- the gradient is exactly zero, so no step can change anything;
- the training cost has risen for ``rising`` epochs in a row.

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

    def on_epoch_end(self, run: Run) -> None:
        found = self._findings(run)
        for key, message in found:
            if key not in self._seen:
                text = f"epoch {run.epoch}: {message}"
                run.history.warnings.append(text)
                warnings.warn(text, TrainingWarning, stacklevel=2)
        self._seen = {key for key, _ in found}  # one that ends is reported again if it comes back

    def _findings(self, run: Run) -> list[tuple[tuple, str]]:
        net = run.net
        found = []
        with np.errstate(all="ignore"):
            ws = Workspace(net.sizes, self.x.shape[1], net.dtype)
            z, a = forward(net, self.x.astype(net.dtype, copy=False), ws)
            nabla = backward(net, z, a, self.y.astype(net.dtype, copy=False), None, ws)
        if self._classes and net.sizes[-1] > 1:
            accuracy = float(np.mean(labels(a[-1].T) == labels(self.y.T)))
            if accuracy <= self._chance + 0.01:
                found.append(
                    (
                        ("chance",),
                        f"accuracy {accuracy:.1%} is at chance (always guessing the most common class "
                        f"gives {self._chance:.1%}); try a smaller learning rate eta, or check the labels",
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
