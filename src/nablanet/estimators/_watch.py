"""What the estimators record after each epoch, and MLPClassifier's stopping rule.

``Watch`` measures: the loss curve (the cost the steps minimised, with its L2
term) and, with early stopping, the held-out score and cost. Stopping and the
best-weights restore are the core's ``EarlyStopping``, given scikit-learn's
rule: an epoch counts as an improvement when it beats the best value so far by
at least ``tol``, training stops once ``n_iter_no_change`` epochs in a row have
not (a patience of n_iter_no_change + 1), and with early stopping the best
epoch's weights are put back.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..blas import vdot
from ..network import forward
from ..train import Callback, Run
from ..training.callbacks import EarlyStopping

__all__ = ["Watch", "stopping", "store"]


class Watch(Callback):
    """After every epoch: the loss curve and, with validation data, the held-out score and cost.

    ``validation`` is (X_val, Y_val, sw_val): X_val in the network's dtype, Y_val
    the estimator's encoded targets. ``score(a, Y, sw)`` turns outputs into the
    estimator's score (accuracy or R²).
    """

    def __init__(self, lmbda_n: float, l1_n: float, loss_curve: list[float], validation=None, score=None):
        self.lmbda_n, self.l1_n = lmbda_n, l1_n
        self.loss_curve = list(loss_curve)  # continued across warm and partial fits
        self.epochs = 0  # trained since this Watch was made
        self.validation, self.score = validation, score
        self.scores: list[float] | None = None if validation is None else []
        self.val_losses: list[float] | None = None if validation is None else []
        if validation is not None:
            X_val, Y_val, _ = validation
            self._x_val = X_val.T  # columns = examples, as the core's forward takes them
            self._targets = None  # Y_val as the network's targets, made on the first epoch

    def on_epoch_end(self, run: Run) -> None:
        # C = C_0 + (λ/2n) Σ w² + (λ₁/n) Σ |w|: the cost the steps minimised, as MLPClassifier's loss_curve_.
        penalty = 0.5 * self.lmbda_n * sum(float(vdot(W.ravel(), W.ravel())) for W in run.net.W)
        if self.l1_n:
            penalty += self.l1_n * sum(float(np.abs(W).sum()) for W in run.net.W)
        self.loss_curve.append(run.history.cost[-1] + penalty)
        self.epochs += 1
        if self.validation is None:
            return
        _, Y_val, sw_val = self.validation
        net = run.net
        if self._targets is None:  # class indices → one-hot, once
            self._targets = net.check_targets(Y_val, Y_val.shape[0], "y_val").T
        z, a = forward(net, self._x_val)
        self.val_losses.append(net.cost.fn(a[-1], self._targets, z=z[-1], act=net.activations[-1]))
        self.scores.append(float(self.score(a[-1].T, Y_val, sw_val)))

    def latest_loss(self, run: Run) -> float:
        return self.loss_curve[-1]

    def latest_score(self, run: Run) -> float:
        return self.scores[-1]


def stopping(est, watch: Watch, previous_best_loss: float | None) -> EarlyStopping:
    """MLPClassifier's rule as the core's EarlyStopping (see the module docstring)."""
    on_score = watch.validation is not None
    return EarlyStopping(
        watch.latest_score if on_score else watch.latest_loss,
        patience=int(est.n_iter_no_change) + 1,
        min_delta=float(est.tol),
        restore_best=on_score,
        larger_is_better=on_score,
        compare_with="best",
        baseline=None if on_score else previous_best_loss,
    )


def store(est, watch: Watch, stop: EarlyStopping, incremental: bool) -> None:
    """The fitted attributes of one call to fit or partial_fit, and the ConvergenceWarning."""
    epochs = watch.epochs  # trained in this call
    est.n_iter_ = getattr(est, "n_iter_", 0) + epochs if incremental else epochs
    est.loss_curve_ = watch.loss_curve
    est.validation_scores_ = watch.scores
    est.validation_loss_ = watch.val_losses
    est.best_validation_score_ = stop.best if watch.scores is not None else None
    est.best_loss_ = None if watch.scores is not None else stop.best
    if not incremental and stop.stopped_epoch is None and epochs == est.max_iter:
        warnings.warn(
            f"{type(est).__name__}: max_iter={est.max_iter} epochs reached and the "
            f"{'validation score' if watch.scores is not None else 'training loss'} was still "
            f"improving by more than tol={est.tol}",
            ConvergenceWarning,
            stacklevel=6,  # the caller of fit: store, _train, _fit_checked, _fit, fit
        )
