"""scikit-learn estimators: ``NablaClassifier`` and ``NablaRegressor``.

They wrap a nablanet ``Network`` so that it drops into Pipelines, GridSearchCV
and cross_val_score. Parameters are stored unchanged in ``__init__`` and checked
in ``fit``; what fitting learns ends in ``_``. Training is ``nablanet.train.fit``
with the optimizer object and the random Generator kept between calls, so that
``partial_fit`` and ``warm_start`` continue one run instead of starting another.

This module imports scikit-learn, so ``import nablanet`` does not import it;
import it as ``from nablanet.estimators import NablaClassifier``.

The L2 penalty ``alpha`` has scikit-learn's meaning (MLPClassifier's): each
mini-batch's gradient gains (alpha / w_B) W, w_B being the batch's total sample
weight. nablanet's λ adds (λ/n) W to every step, n being the training-set size.
With batch size m the average w_B is m·Σw/n, so λ = alpha · n² / (m · Σw), which
is alpha · n/m without sample weights: the same decay for every full batch.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_consistent_length, check_random_state, check_scalar
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .. import activations, costs, initializers, optimizers
from ..errors import DivergenceError
from ..io.model import load_model, save
from ..network import Network
from ..train import Callback, History, Run
from ..training.fit import fit as train_fit

__all__ = ["NablaClassifier", "NablaRegressor"]


class _BaseNabla(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks and the training run."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        output=None,
        cost=None,
        solver="adam",
        learning_rate=0.001,
        alpha=0.0001,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        init="glorot",
        random_state=None,
        dtype="float32",
        monitor=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.cost = cost
        self.solver = solver
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.init = init
        self.random_state = random_state
        self.dtype = dtype
        self.monitor = monitor

    # -- parameters ----------------------------------------------------------------------

    def _check_params(self) -> None:
        """Raise a clear error for the first bad parameter; changes nothing."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got {self.hidden_layer_sizes!r}"
            ) from None
        for i, n in enumerate(sizes):
            check_scalar(n, f"hidden_layer_sizes[{i}]", numbers.Integral, min_val=1)
        if not activations.get(self.activation).hidden_ok:  # get() names the choices for an unknown one
            raise ValueError(
                f"activation {self.activation!r} is for output layers only; see the output parameter"
            )
        _check_choice(self.solver, "solver", optimizers.names())
        if not callable(self.init):
            _check_choice(self.init, "init", initializers.names())
        check_scalar(
            self.learning_rate, "learning_rate", numbers.Real, min_val=0, include_boundaries="neither"
        )
        check_scalar(self.alpha, "alpha", numbers.Real, min_val=0)
        check_scalar(self.momentum, "momentum", numbers.Real, min_val=0, max_val=1, include_boundaries="left")
        for name in ("beta_1", "beta_2"):
            check_scalar(
                getattr(self, name), name, numbers.Real, min_val=0, max_val=1, include_boundaries="left"
            )
        check_scalar(self.epsilon, "epsilon", numbers.Real, min_val=0, include_boundaries="neither")
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_scalar(self.batch_size, "batch_size", numbers.Integral, min_val=1)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0)
        check_scalar(self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
        check_scalar(
            self.validation_fraction, "validation_fraction", numbers.Real, min_val=0, max_val=1,
            include_boundaries="neither",
        )  # fmt: skip
        for name in ("early_stopping", "warm_start", "monitor"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        return [int(sizes)] if isinstance(sizes, numbers.Integral) else [int(n) for n in sizes]

    def _make_optimizer(self) -> optimizers.Optimizer:
        eta = float(self.learning_rate)
        if self.solver == "adam":
            return optimizers.Adam(eta, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "momentum":
            return optimizers.Momentum(eta, mu=self.momentum)
        return optimizers.get(self.solver, eta=eta)

    # -- fitting -------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, *, incremental: bool, classes=None):
        # Checking the input sets attributes (n_features_in_, classes_) as scikit-learn's
        # helpers do; if anything fails they are put back as they were. (If training itself
        # diverges in a warm or partial fit, the epochs completed before it stay applied.)
        before = dict(self.__dict__)
        try:
            return self._fit_checked(X, y, sample_weight, incremental, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_checked(self, X, y, sample_weight, incremental: bool, classes):
        self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        fresh = not hasattr(self, "network_") or not (incremental or self.warm_start)
        X, y = validate_data(
            self, X, y, reset=fresh, dtype=(np.float64, np.float32), multi_output=True,
            y_numeric=not self._is_classifier,
        )  # fmt: skip
        X = _as_dtype(X, self.dtype, "X")
        Y = self._encode_targets(y, fresh, classes, incremental)
        sw = _check_sample_weight(sample_weight, X.shape[0])
        if sw is not None:
            self._check_weighted_targets(Y, sw)
        # One draw from random_state seeds the weights, the validation split and the shuffles.
        seed_net, seed_split, seed_shuffle = check_random_state(self.random_state).randint(2**31, size=3)

        validation = None
        if self.early_stopping:
            X, Y, sw, validation = self._split_validation(X, Y, sw, seed_split)
        if fresh:
            net = self._new_network(X.shape[1], Y, seed_net)
            optimizer, rng = self._make_optimizer(), np.random.default_rng(seed_shuffle)
        else:
            net = self.network_
            # The current hyperparameters (set_params may have changed them, and they
            # are checked again), with the run's state: step count, velocities, moments.
            # An estimator read by load() has no optimizer state yet: it starts one.
            previous, optimizer = getattr(self, "_optimizer", None), self._make_optimizer()
            rng = getattr(self, "_rng", None) or np.random.default_rng(seed_shuffle)
            self._check_same_architecture(net, previous or optimizer, Y)
            if previous is not None:
                optimizer.t = previous.t
                for slot in optimizer._slots:
                    setattr(optimizer, slot, getattr(previous, slot, None))

        n = X.shape[0]
        m = min(self._batch_size(n), n)
        weight_sum = n if sw is None else float(sw.sum())
        lmbda = float(self.alpha) * n * n / (m * weight_sum)  # see the module docstring
        watch = _Watch(self, lmbda / n, validation, fresh, incremental)
        try:
            # Overflow is not worth a warning here: the core checks every step and raises.
            with np.errstate(over="ignore", invalid="ignore"):
                history = train_fit(
                    net, X, Y, epochs=1 if incremental else int(self.max_iter), batch_size=m,
                    optimizer=optimizer, lmbda=lmbda, seed=rng, callbacks=[watch], sample_weight=sw,
                    monitor=bool(self.monitor),
                )  # fmt: skip
        except DivergenceError as e:
            raise ValueError(
                f"{e}; if the input holds very large values, scale it first (StandardScaler)"
            ) from e
        self.network_, self._optimizer, self._rng = net, optimizer, rng
        self.history_ = history
        watch.store(self)
        return self

    def _check_same_architecture(self, net: Network, optimizer: optimizers.Optimizer, Y) -> None:
        """Continuing a run needs the network and solver it was started with."""
        output, cost = self._output_and_cost()
        now = {
            "hidden_layer_sizes": tuple(self._hidden_sizes()),
            "activation": activations.get(self.activation).name,
            "output": (output, self._n_outputs(Y)),
            "cost": costs.get(cost).name,
            "solver": self.solver,
        }
        then = {
            "hidden_layer_sizes": tuple(net.sizes[1:-1]),
            "activation": net.activations[1].name if net.L > 1 else now["activation"],
            "output": (net.activations[-1].name, net.sizes[-1]),
            "cost": net.cost.name,
            "solver": optimizer.name,
        }
        for name in now:
            if now[name] != then[name]:
                raise ValueError(
                    f"{name} is now {now[name]!r} but the fitted run has {then[name]!r}: "
                    "set warm_start=False (or refit) to change it"
                )

    def _batch_size(self, n: int) -> int:
        if isinstance(self.batch_size, str):
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n} training examples; using {n}",
                UserWarning,
                stacklevel=3,
            )
        return int(self.batch_size)

    def _new_network(self, n_features: int, Y: np.ndarray, seed: int) -> Network:
        output, cost = self._output_and_cost()
        sizes = [n_features, *self._hidden_sizes(), self._n_outputs(Y)]
        return Network(
            sizes, activation=self.activation, output=output, cost=cost, init=self.init,
            dtype=self.dtype, seed=seed,
        )  # fmt: skip

    def _split_validation(self, X, Y, sw, seed: int):
        """Hold out validation_fraction of the data for early stopping, as MLPClassifier does."""
        stratify = self._stratify(Y)
        arrays = [X, Y] if sw is None else [X, Y, sw]
        parts = train_test_split(
            *arrays, test_size=self.validation_fraction, random_state=seed, stratify=stratify
        )
        X, X_val, Y, Y_val = parts[:4]
        sw, sw_val = (None, None) if sw is None else parts[4:]
        if X_val.shape[0] < 2:
            raise ValueError(
                f"the validation set for early stopping has {X_val.shape[0]} example(s); it needs at "
                "least 2: increase validation_fraction or give more data"
            )
        return X, Y, sw, (X_val, Y_val, sw_val)

    # -- saving -----------------------------------------------------------------------------

    def save(self, path):
        """Write the fitted estimator to a nablanet model file; returns the path.

        The file holds the weights as arrays and everything else (parameters,
        classes, loss curve, history) as JSON: loading it never runs code, unlike
        a pickle. The optimizer's state is not kept: ``load`` gives an estimator
        that predicts exactly as this one, and whose ``partial_fit`` or warm
        ``fit`` starts a new optimizer from these weights.
        """

        check_is_fitted(self, "network_")
        params = self.get_params()
        if callable(params["init"]):
            params["init"] = None  # only a fresh fit uses it; a name is needed to store it
        params["hidden_layer_sizes"] = self._hidden_sizes()
        params["dtype"] = np.dtype(self.dtype).name
        if not isinstance(params["random_state"], (numbers.Integral, type(None))):
            params["random_state"] = None
        fitted = {
            name: getattr(self, name, None)
            for name in ("loss_curve_", "n_iter_", "best_loss_", "validation_scores_", "validation_loss_")
        }
        fitted["best_validation_score_"] = getattr(self, "best_validation_score_", None)
        names = getattr(self, "feature_names_in_", None)
        fitted["feature_names_in_"] = None if names is None else [str(n) for n in names]
        fitted.update(self._fitted_for_file())
        state = {"class": type(self).__name__, "params": _plain(params), "fitted": _plain(fitted)}
        return save(self.network_, path, history=self.history_, hyperparameters={"estimator": state})

    @classmethod
    def load(cls, path):
        """A fitted estimator from a file written by ``save``; see ``save``."""

        net, header = load_model(path)
        state = (header.get("hyperparameters") or {}).get("estimator")
        if not isinstance(state, dict) or state.get("class") != cls.__name__:
            found = state.get("class") if isinstance(state, dict) else "a bare Network"
            raise ValueError(
                f"{path}: holds {found}, not a {cls.__name__} written by {cls.__name__}.save; "
                "read a bare Network with nablanet.load"
            )
        params = dict(state["params"])
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if params["init"] is None:
            params["init"] = "glorot"
        est = cls(**params)
        fitted = state["fitted"]
        if net.sizes[1:-1] != list(params["hidden_layer_sizes"]):
            raise ValueError(f"{path}: the saved parameters do not match the saved network {net.sizes}")
        est.network_ = net.copy()  # writable weights (a loaded file's arrays are read-only)
        est.n_features_in_ = net.sizes[0]
        if fitted.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        for name in ("loss_curve_", "n_iter_", "best_loss_", "validation_scores_", "validation_loss_"):
            setattr(est, name, fitted.get(name))
        est.best_validation_score_ = fitted.get("best_validation_score_")
        est._restore_fitted(fitted, path)
        est.history_ = History.from_dict(header.get("history") or {})
        return est

    # -- fitted attributes ------------------------------------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """``coefs_[i]`` is ``network_.W[i + 1].T``, shape (n_in, n_out): a view, not a copy."""
        check_is_fitted(self, "network_")
        return [W.T for W in self.network_.W]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """``intercepts_[i]`` is ``network_.b[i + 1]``, the biases b^{i+1} (the same array)."""
        check_is_fitted(self, "network_")
        return list(self.network_.b)

    @property
    def n_layers_(self) -> int:
        check_is_fitted(self, "network_")
        return len(self.network_.sizes)

    @property
    def n_outputs_(self) -> int:
        check_is_fitted(self, "network_")
        return self.network_.sizes[-1]

    @property
    def out_activation_(self) -> str:
        check_is_fitted(self, "network_")
        return self.network_.activations[-1].name

    def _output(self, X) -> np.ndarray:
        """a^L for each row of X, computed in float64 whatever the network's dtype.

        Training in float32 is fast; predicting in float64 from the same weights
        costs little and makes each row's prediction independent, to far below
        float32 rounding, of the other rows passed with it (BLAS sums in an
        order that depends on the matrix shape).
        """
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        a = X.T
        for W, b, act in zip(self.network_.W, self.network_.b, self.network_.activations):
            a = act.fn(W.astype(np.float64) @ a + b.astype(np.float64)[:, None])  # a^l = σ(W^l a^{l−1} + b^l)
        return a.T


class _Watch(Callback):
    """After every epoch: the loss curve, validation score and loss, and when to stop.

    It follows MLPClassifier: with early stopping, training stops once the
    validation score has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs and the best epoch's weights are put back;
    otherwise the same rule is applied to the training loss.
    """

    def __init__(self, est, lmbda_n, validation, fresh, incremental):
        self.est, self.lmbda_n, self.validation = est, lmbda_n, validation
        self.incremental = incremental
        self.tol, self.patience = float(est.tol), int(est.n_iter_no_change)
        self.loss_curve = [] if fresh else list(est.loss_curve_)
        previous_best = None if fresh else getattr(est, "best_loss_", None)
        self.best_loss = np.inf if previous_best is None else previous_best
        self.scores: list[float] | None = None if validation is None else []
        self.val_losses: list[float] | None = None if validation is None else []
        self.best_score = -np.inf
        self.best_params: np.ndarray | None = None  # a copy of net.flat
        self.no_improvement = 0
        self.n_iter = 0
        self.converged = False

    def on_epoch_end(self, run: Run) -> None:
        # C = C_0 + (λ/2n) Σ w²: the cost the step minimised, as MLPClassifier's loss_curve_.
        penalty = 0.5 * self.lmbda_n * sum(float(np.vdot(W, W)) for W in run.net.W)
        loss = run.history.cost[-1] + penalty
        self.loss_curve.append(loss)
        self.n_iter += 1
        if self.validation is not None:
            X_val, Y_val, sw_val = self.validation
            a = run.net.feedforward(X_val)
            targets = run.net.check_targets(Y_val, a.shape[0], "y_val")  # class indices → one-hot
            self.val_losses.append(run.net.cost.fn(a.T, targets.T))
            score = self.est._score_outputs(a, Y_val, sw_val)
            self.scores.append(score)
            improved = score >= self.best_score + self.tol
            if score > self.best_score:
                self.best_score = score
                self.best_params = run.net.flat.copy()
        else:
            improved = loss <= self.best_loss - self.tol
        self.best_loss = min(self.best_loss, loss)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if self.no_improvement > self.patience and not self.incremental:
            self.converged = run.stop = True

    def on_train_end(self, run: Run) -> None:
        if self.best_params is not None:
            run.net.flat[...] = self.best_params

    def store(self, est) -> None:
        est.loss_curve_ = self.loss_curve
        est.n_iter_ = self.n_iter if not self.incremental else getattr(est, "n_iter_", 0) + 1
        est.validation_scores_ = self.scores
        est.validation_loss_ = self.val_losses
        est.best_validation_score_ = None if self.scores is None else self.best_score
        est.best_loss_ = None if self.scores is not None else self.best_loss
        if not self.converged and not self.incremental and self.n_iter == est.max_iter:
            warnings.warn(
                f"{type(est).__name__}: max_iter={est.max_iter} epochs reached and the "
                f"{'validation score' if self.scores is not None else 'training loss'} was still "
                f"improving by more than tol={est.tol}",
                ConvergenceWarning,
                stacklevel=4,
            )


class NablaClassifier(ClassifierMixin, _BaseNabla):
    """A feed-forward network classifier trained by nablanet's backpropagation.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same parameter
    names and defaults where the two agree, the same fitted attributes, plus
    ``network_``, the trained ``nablanet.Network``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Neurons in each hidden layer; ``()`` gives no hidden layer.
    activation : str, default="relu"
        The hidden layers' activation: relu, leaky_relu, sigmoid, tanh or identity.
    output : {None, "softmax", "sigmoid"}, default=None
        The output layer. None chooses: one sigmoid unit for two classes (like
        MLPClassifier), a softmax over k units for k > 2 classes, k sigmoid units
        for multilabel targets. ``"softmax"`` on two classes gives two softmax
        units instead; ``"sigmoid"`` on k classes gives k independent units.
    cost : {None, "cross_entropy", "binary_cross_entropy", "quadratic"}, default=None
        None and ``"cross_entropy"`` mean the cross-entropy that matches the
        output (categorical for softmax, binary for sigmoid), for which the
        output error is simply δ^L = a − y. ``"quadratic"`` is the seeds' cost.
    solver : {"adam", "momentum", "sgd"}, default="adam"
        The optimizer. ``"sgd"`` is plain gradient descent; ``"momentum"``
        uses ``momentum``.
    learning_rate : float, default=0.001
        The learning rate η (MLPClassifier calls it ``learning_rate_init``).
    alpha : float, default=0.0001
        L2 penalty with scikit-learn's meaning: each mini-batch's gradient gains
        (alpha / w_B) W, w_B being the batch's total weight (module docstring: λ).
    momentum : float, default=0.9
        μ of the ``"momentum"`` solver.
    beta_1, beta_2, epsilon : float
        Adam's β₁, β₂ and ε.
    batch_size : int or "auto", default="auto"
        Mini-batch size m; "auto" is min(200, n_samples).
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
    init : str or callable, default="glorot"
        ``nablanet.initializers``: "glorot" (as MLPClassifier), "he", "scaled" or "standard".
    random_state : int, RandomState or None
        Seeds the initial weights, the validation split and the shuffles.
    dtype : {"float32", "float64"}, default="float32"
        The network's floating-point type; float32 trained 1.6–2× faster in the benchmark.
    monitor : bool, default=False
        Record per-layer health each epoch in ``history_.layers`` (``nablanet.training.monitor``).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, in the order of the output units (for multilabel
        targets: 0..k−1, one per column of y).
    network_ : nablanet.Network
        The trained network. ``network_.W[l]`` is W^l, of shape (n_l, n_{l−1}), l = 1..L.
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
            Y = np.asarray(y).astype(np.dtype(self.dtype))
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
            return idx.astype(np.dtype(self.dtype)).reshape(-1, 1)
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
        _check_choice(self.output, "output", [None, "softmax", "sigmoid"])
        _check_choice(self.cost, "cost", [None, "cross_entropy", "binary_cross_entropy", "quadratic"])
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
        idx = (a[:, 0] >= 0.5).astype(np.intp) if a.shape[1] == 1 else a.argmax(axis=1)
        return self.classes_[idx]

    def _score_outputs(self, a, Y, sw) -> float:
        """Validation accuracy from the network's outputs a and encoded targets Y."""
        if self._multilabel:
            return accuracy_score(Y, (a >= 0.5).astype(Y.dtype), sample_weight=sw)
        pred = (a[:, 0] >= 0.5).astype(np.intp) if a.shape[1] == 1 else a.argmax(axis=1)
        return accuracy_score(np.asarray(Y).ravel().astype(np.intp), pred, sample_weight=sw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NablaRegressor(RegressorMixin, _BaseNabla):
    """A feed-forward network regressor trained by nablanet's backpropagation.

    A drop-in for ``sklearn.neural_network.MLPRegressor``; the parameters and
    attributes are those of ``NablaClassifier`` except:

    Parameters
    ----------
    output : str, default=None
        The output activation; None is "identity" (a linear output). "sigmoid"
        or "tanh" suit targets bounded to (0, 1) or (−1, 1).
    cost : {None, "quadratic", "binary_cross_entropy"}, default=None
        None is "quadratic", C_x = ½‖y − a‖²; with the identity output δ^L = a − y.
        "binary_cross_entropy" needs output="sigmoid" and targets in [0, 1].

    Attributes
    ----------
    validation_scores_ : list of float or None
        With early stopping, the validation R² after each epoch.

    predict returns shape (n_samples,) when fitted on 1-D y, else (n_samples, n_outputs).
    """

    _is_classifier = False

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and targets y; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the run."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The network's output for each row of X."""
        a = self._output(X)
        return a.ravel() if a.shape[1] == 1 else a

    def _encode_targets(self, y, fresh: bool, classes, incremental: bool) -> np.ndarray:
        Y = _as_dtype(np.asarray(y, dtype=np.float64), self.dtype, "y")
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if not fresh and Y.shape[1] != self.network_.sizes[-1]:
            raise ValueError(
                f"y has {Y.shape[1]} target columns; the estimator was fitted on {self.network_.sizes[-1]}"
            )
        return Y

    def _check_weighted_targets(self, Y, sw) -> None:
        pass

    def _fitted_for_file(self) -> dict:
        return {}

    def _restore_fitted(self, fitted: dict, path) -> None:
        pass

    def _n_outputs(self, Y) -> int:
        return Y.shape[1]

    def _output_and_cost(self) -> tuple[str, str]:
        output = "identity" if self.output is None else self.output
        _check_choice(output, "output", [a for a in activations.names() if a != "softmax"])
        cost = self.cost or "quadratic"
        _check_choice(cost, "cost", ["quadratic", "binary_cross_entropy"])
        if costs.get(cost).needs_probabilities and output != "sigmoid":
            raise ValueError("cost='binary_cross_entropy' needs output='sigmoid'")
        return output, cost

    def _stratify(self, Y):
        return None

    def _score_outputs(self, a, Y, sw) -> float:
        return r2_score(Y, a, sample_weight=sw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _check_choice(value: Any, name: str, choices: list) -> None:
    if not any(value is c or (isinstance(c, str) and value == c) for c in choices):
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Sample weights as a float64 (n,) array: finite, non-negative, not all zero."""
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        sample_weight = np.full(n, sample_weight, dtype=np.float64)
    sw = check_array(sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight", copy=True)
    if sw.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D with one weight per example, got shape {sw.shape}")
    check_consistent_length(sw, np.empty(n))
    if (sw < 0).any():
        raise ValueError(f"sample_weight must be non-negative; sample_weight[{int(np.argmax(sw < 0))}] < 0")
    if sw.sum() <= 0:
        raise ValueError("sample_weight sums to zero: every example has zero weight, so none would count")
    return sw


def _as_dtype(A: np.ndarray, dtype: Any, name: str) -> np.ndarray:
    """Finite, checked A in the network's dtype, or a clear error if its values do not fit."""
    dtype = np.dtype(dtype)
    if A.dtype == dtype:
        return A
    big = float(np.finfo(dtype).max)
    if A.size and np.finfo(A.dtype).max > big:  # narrowing: float64 → float32 could overflow
        largest = max(-float(A.min()), float(A.max()))  # two reductions, no |A| temporary
        if largest > big:
            raise ValueError(
                f"{name} holds values too large for {dtype.name} (largest |value| {largest:.3g} > "
                f"{big:.3g}): scale it first (StandardScaler) or use dtype='float64'"
            )
    return A.astype(dtype)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays inside lists and dicts as plain Python values, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
