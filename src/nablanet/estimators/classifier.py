"""NablaClassifier: a nablanet network as a scikit-learn classifier (MLPClassifier's drop-in)."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ..network import labels
from ._base import BaseNabla
from ._params import check_choice

__all__ = ["NablaClassifier"]


class NablaClassifier(ClassifierMixin, BaseNabla):
    """A feed-forward network classifier trained by nablanet's backpropagation.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same parameter
    names and defaults where the two agree, the same fitted attributes, plus
    ``network_``, the trained ``nablanet.Network``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Neurons in each hidden layer; ``()`` gives no hidden layer.
    activation : str, default="relu"
        The hidden layers' activation: relu, leaky_relu, sigmoid (alias logistic),
        tanh or identity. The default is ``nablanet.defaults.DEFAULTS``'.
    output : {None, "softmax", "sigmoid"}, default=None
        The output layer. None chooses: one sigmoid unit for two classes (like
        MLPClassifier), a softmax over k units for k > 2 classes, k sigmoid units
        for multilabel targets. ``"softmax"`` on two classes gives two softmax
        units instead; ``"sigmoid"`` on k classes gives k independent units.
    cost : {None, "cross_entropy", "binary_cross_entropy", "quadratic"}, default=None
        None and ``"cross_entropy"`` mean the cross-entropy that matches the
        output (categorical for softmax, binary for sigmoid), for which the
        output error is simply δ^L = a − y. ``"quadratic"`` is the seeds' cost.
    solver : {"momentum", "adam", "sgd"}, default="momentum"
        The optimizer: the shared default, gradient descent with ``momentum``;
        ``"adam"`` (MLPClassifier's default); ``"sgd"``, plain gradient descent.
    learning_rate : float or None, default=None
        The learning rate η (MLPClassifier calls it ``learning_rate_init``).
        None is the solver's default: the shared η = 0.05 for momentum and sgd,
        0.001 for Adam (as MLPClassifier).
    alpha : float, default=0.0001
        L2 penalty with scikit-learn's meaning: each mini-batch's gradient gains
        (alpha / w_B) W, w_B being the batch's total weight (module docstring: λ).
    momentum : float, default=0.9
        μ of the ``"momentum"`` solver (the shared default).
    beta_1, beta_2, epsilon : float
        Adam's β₁, β₂ and ε.
    batch_size : int or "auto", default="auto"
        Mini-batch size m; "auto" is the shared default, min(32, n_samples)
        (MLPClassifier's "auto" is min(200, n_samples)).
    max_iter : int, default=200
        The most epochs a call to ``fit`` trains for.
    tol, n_iter_no_change : float, int
        Stop once the training loss (or with early stopping the validation
        score) has not improved by ``tol`` for more than ``n_iter_no_change`` epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop on its
        accuracy and keep the best epoch's weights.
    validation_fraction : float, default=0.1
    warm_start : bool, default=False
        Continue from the previous fit: same network, optimizer state and random stream.
        Learning rate, momentum and Adam's β₁, β₂, ε changed by ``set_params`` take effect.
    init : str, callable or None, default=None
        ``nablanet.initializers``: "he", "glorot" (as MLPClassifier), "scaled" or
        "standard". None is He for ReLU and leaky ReLU (the shared default), Glorot
        for the other activations.
    random_state : int, RandomState or None
        Seeds the initial weights, the validation split and the shuffles.
    dtype : {None, "float32", "float64"}, default=None
        The network's floating-point type. None follows scikit-learn's convention:
        the dtype of X, float32 for float32 input and float64 otherwise. float32
        trained 1.6–2× faster in the benchmark: pass ``X.astype(np.float32)`` or
        ``dtype="float32"`` for speed.
    monitor : bool, default=False
        Record per-layer health each epoch in ``history_.layers`` (``nablanet.training.monitor``).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar per epoch (rich; in a terminal or a notebook).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, in the order of the output units (for multilabel
        targets: 0..k−1, one per column of y).
    network_ : nablanet.Network
        The trained network. ``network_.W[l]`` is W^l, of shape (n_l, n_{l−1}), l = 1..L.
        ``network_.classes`` names its classes from ``classes_`` (as strings or
        integers, the types a model file keeps), so ``nablanet.load`` of a saved
        estimator predicts names too.
    coefs_ : list of ndarray
        ``coefs_[i] = network_.W[i + 1].T`` = (W^{i+1})ᵀ, of shape (n_in, n_out) as in
        MLPClassifier. A view: writing to it changes the network.
    intercepts_ : list of ndarray
        ``intercepts_[i] = network_.b[i + 1]`` = b^{i+1}, the same arrays.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names (a DataFrame).
    loss_curve_ : list of float
        The training cost per epoch, C_0 + (λ/2n)Σw², C_0 averaged over the epoch's
        mini-batches. With warm_start and partial_fit the curve continues.
    best_loss_ : float or None
        The smallest of ``loss_curve_``; None with early stopping.
    validation_scores_, validation_loss_ : list of float or None
        With early stopping: the validation accuracy and cost after each epoch.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last ``fit`` (``partial_fit`` adds one per call).
    history_ : nablanet.History
        The last call's History (per-epoch seconds, η and, with monitor, layer health).

    Notes
    -----
    Save a fitted estimator with ``est.save(path)`` and read it back with
    ``NablaClassifier.load(path)``: nablanet's own file format, arrays plus
    JSON, which never runs code when loaded. Pickling works, as scikit-learn
    expects, but loading a pickle can execute code.
    """

    _is_classifier = True

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and labels y; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing the run; ``classes`` is needed on the first call."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), in the order of ``classes_``."""
        a = self._output(X)
        return self._proba_from_outputs(a)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row (a 0/1 matrix for multilabel targets)."""
        return self._labels_from_outputs(self._output(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    # -- targets ---------------------------------------------------------------------------

    def _encode_targets(self, y, fresh: bool, classes, incremental: bool) -> np.ndarray:
        """Labels → the network's targets: class indices, a 0/1 column, or a 0/1 matrix."""
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            Y = np.asarray(y, dtype=np.float64)
            if fresh:
                self._multilabel, self.classes_ = True, np.arange(Y.shape[1])
            elif not self._multilabel or Y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has {Y.shape[1]} label columns; the estimator was fitted on "
                    f"{'1-D labels' if not self._multilabel else len(self.classes_)}"
                )
            return Y
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary, multiclass and multilabel targets; got {kind}"
            )
        if fresh:
            if incremental and classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: all the labels y may hold"
                )
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes to learn from; "
                    f"{'y' if classes is None else 'classes'} has only one class: {labels[0].item()!r}"
                )
            self._multilabel, self.classes_ = False, labels
        elif self._multilabel:
            raise ValueError("y holds 1-D labels; the estimator was fitted on multilabel targets")
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes={list(classes)!r} differs from classes_ of the first partial_fit call")
        try:
            idx = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
            unknown = self.classes_[idx] != y
        except TypeError:  # labels of a type that cannot be compared with classes_
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}") from None
        if unknown.any():
            raise ValueError(
                f"y contains labels not in classes_ {self.classes_.tolist()}: "
                f"{np.unique(np.asarray(y)[unknown]).tolist()}"
            )
        if self._n_outputs(None) == 1:
            return idx.astype(np.float64).reshape(-1, 1)
        return idx

    def _fitted_for_file(self) -> dict:
        return {"classes_": self.classes_.tolist(), "multilabel": bool(self._multilabel)}

    def _restore_fitted(self, fitted: dict, path) -> None:
        self.classes_ = np.asarray(fitted["classes_"])
        self._multilabel = bool(fitted["multilabel"])
        if self._n_outputs(None) != self.network_.sizes[-1]:
            raise ValueError(
                f"{path}: {len(self.classes_)} classes do not match the network's "
                f"{self.network_.sizes[-1]} output units"
            )

    def _check_weighted_targets(self, Y, sw) -> None:
        if self._multilabel:
            return
        labels = Y.ravel() if Y.ndim == 2 else Y
        present = np.unique(labels[sw > 0])
        if len(present) < 2:
            raise ValueError(
                f"sample_weight leaves only one class with positive weight "
                f"({self.classes_[int(present[0])].item()!r}); "
                f"{type(self).__name__} needs at least 2 classes"
            )

    def _n_outputs(self, Y) -> int:
        k = len(self.classes_)
        if self._multilabel:
            return k
        return 1 if k == 2 and self.output in (None, "sigmoid") else k

    def _output_and_cost(self) -> tuple[str, str]:
        check_choice(self.output, "output", [None, "softmax", "sigmoid"])
        check_choice(self.cost, "cost", [None, "cross_entropy", "binary_cross_entropy", "quadratic"])
        output = self.output
        if self._multilabel and output == "softmax":
            raise ValueError("multilabel targets need output='sigmoid': each label is a separate yes/no")
        if output is None:
            multiclass = not self._multilabel and len(self.classes_) > 2
            output = "softmax" if multiclass and self.cost in (None, "cross_entropy") else "sigmoid"
        cost = self.cost or "cross_entropy"
        if cost == "cross_entropy":
            cost = "cross_entropy" if output == "softmax" else "binary_cross_entropy"
        elif cost == "binary_cross_entropy" and output != "sigmoid":
            raise ValueError("cost='binary_cross_entropy' needs output='sigmoid'")
        return output, cost

    def _stratify(self, Y):
        return None if self._multilabel else Y.ravel()

    def _proba_from_outputs(self, a: np.ndarray) -> np.ndarray:
        if self._multilabel:
            return a
        if a.shape[1] == 1:
            return np.hstack([1 - a, a])
        # Sigmoid outputs on k classes need not sum to 1; softmax outputs already do.
        return a / a.sum(axis=1, keepdims=True) if self.network_.activations[-1].name == "sigmoid" else a

    def _labels_from_outputs(self, a: np.ndarray) -> np.ndarray:
        if self._multilabel:
            return (a >= 0.5).astype(int)
        return self.classes_[labels(a)]

    def _score_outputs(self, a, Y, sw) -> float:
        """Validation accuracy from the network's outputs a and encoded targets Y."""
        if self._multilabel:
            return accuracy_score(Y, (a >= 0.5).astype(Y.dtype), sample_weight=sw)
        return accuracy_score(np.asarray(Y).ravel().astype(np.intp), labels(a), sample_weight=sw)

    def _class_names(self) -> list:
        """classes_ as the network's class names: strings and integers as they are, others as text."""
        return [_name(c) for c in self.classes_.tolist()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _name(c) -> str | int:
    if isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)):
        return c
    if isinstance(c, float) and c.is_integer():
        return int(c)
    return str(c)
