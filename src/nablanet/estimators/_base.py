"""What the classifier and the regressor share: the parameters, the training run, the fitted attributes.

Training is ``nablanet.fit``, with the optimizer object and the random
Generator kept between calls, so that ``partial_fit`` and ``warm_start``
continue one run instead of starting another. Prediction is the core's
feedforward. The subclasses say how targets are encoded and scored.

The L2 penalty ``alpha`` has scikit-learn's meaning (MLPClassifier's): each
mini-batch's gradient gains (alpha / w_B) W, w_B being the batch's total sample
weight. nablanet's λ adds (λ/n) W to every step, n being the training-set size.
With batch size m the average w_B is m·Σw/n, so λ = alpha · n² / (m · Σw), which
is alpha · n/m without sample weights: the same decay for every full batch.
``l1`` follows the same convention: each mini-batch's gradient gains
(l1 / w_B) sign(W), nablanet's λ₁ = l1 · n² / (m · Σw).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import activations, costs, optimizers
from ..defaults import DEFAULTS
from ..errors import DivergenceError
from ..network import Network
from ..training.checks import check_sample_weight
from ..training.fit import fit as train_fit
from . import _params
from ._file import load_estimator, save_estimator
from ._watch import Watch, stopping, store

__all__ = ["BaseNabla"]


class BaseNabla(BaseEstimator):
    """The parameters and the run shared by NablaClassifier and NablaRegressor."""

    _is_classifier: bool

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation=DEFAULTS["activation"],
        *,
        output=None,
        cost=None,
        solver="adam",
        learning_rate=None,
        alpha=0.0001,
        l1=0.0,
        dropout=0.0,
        momentum=DEFAULTS["mu"],
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
        init=None,
        random_state=None,
        dtype=None,
        monitor=False,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.cost = cost
        self.solver = solver
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.l1 = l1
        self.dropout = dropout
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
        self.verbose = verbose

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
        _params.check_params(self)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        fresh = not hasattr(self, "network_") or not (incremental or self.warm_start)
        X, y = validate_data(
            self, X, y, reset=fresh, dtype=(np.float64, np.float32), multi_output=True,
            y_numeric=not self._is_classifier,
        )  # fmt: skip
        Y = self._encode_targets(y, fresh, classes, incremental)
        sw = _sample_weight(sample_weight, X.shape[0])
        if sw is not None:
            self._check_weighted_targets(Y, sw)
        # One draw from random_state seeds the weights, the validation split and the shuffles.
        seed_net, seed_split, seed_shuffle = check_random_state(self.random_state).randint(2**31, size=3)
        validation = None
        if self.early_stopping:
            X, Y, sw, validation = self._split_validation(X, Y, sw, seed_split)
        if fresh:
            net = self._new_network(X, Y, seed_net)
            optimizer, rng = _params.make_optimizer(self), np.random.default_rng(seed_shuffle)
        else:
            net, optimizer = self.network_, self._continued_optimizer(Y)
            rng = getattr(self, "_rng", None) or np.random.default_rng(seed_shuffle)
        self._train(net, optimizer, rng, X, Y, sw, validation, fresh, incremental)
        return self

    def _train(self, net, optimizer, rng, X, Y, sw, validation, fresh: bool, incremental: bool) -> None:
        """``nablanet.fit`` with the estimator's penalties, record and stopping rule; sets the results."""
        n = X.shape[0]
        m = self._batch_size(n)
        scale = n * n / (m * (n if sw is None else float(sw.sum())))  # per batch → per set: module docstring
        lmbda, l1 = float(self.alpha) * scale, float(self.l1) * scale
        if validation is not None:
            validation = (net.check_inputs(validation[0], "X_val"), *validation[1:])
        watch = Watch(lmbda / n, l1 / n, [] if fresh else self.loss_curve_, validation, self._score_outputs)
        stop = stopping(self, watch, None if fresh else self.best_loss_)
        try:
            history = train_fit(
                net, X, Y, epochs=1 if incremental else int(self.max_iter), batch_size=m,
                optimizer=optimizer, lmbda=lmbda, l1=l1, dropout=self.dropout, seed=rng,
                callbacks=[watch, stop], sample_weight=sw, monitor=bool(self.monitor),
                verbose=int(self.verbose),
            )  # fmt: skip
        except DivergenceError as e:
            raise ValueError(
                f"{e}; if the input holds very large values, scale it first (StandardScaler)"
            ) from e
        self.network_, self._optimizer, self._rng = net, optimizer, rng
        self.history_ = history
        store(self, watch, stop, incremental)

    def _continued_optimizer(self, Y) -> optimizers.Optimizer:
        """The current hyperparameters (set_params may have changed them) with the run's state.

        The step count, velocities and moments carry over; an estimator read by
        ``load`` has no optimizer state yet, and starts one.
        """
        previous, optimizer = getattr(self, "_optimizer", None), _params.make_optimizer(self)
        self._check_same_architecture(self.network_, previous or optimizer, Y)
        if previous is not None:
            optimizer.t = previous.t
            for slot in optimizer._slots:  # the per-parameter state: velocities, moments
                setattr(optimizer, slot, getattr(previous, slot, None))
        return optimizer

    def _check_same_architecture(self, net: Network, optimizer: optimizers.Optimizer, Y) -> None:
        """Continuing a run needs the network and solver it was started with."""
        output, cost = self._output_and_cost()
        now = {
            "hidden_layer_sizes": tuple(_params.hidden_sizes(self)),
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
        if not isinstance(self.batch_size, str) and self.batch_size > n:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n} training examples; using {n}",
                UserWarning,
                stacklevel=6,  # the caller of fit: _batch_size, _train, _fit_checked, _fit, fit
            )
        return _params.batch_size_for(self, n)

    def _new_network(self, X: np.ndarray, Y: np.ndarray, seed: int) -> Network:
        """The network for X and Y, in ``dtype``, or by default in X's dtype (float32 or float64)."""
        output, cost = self._output_and_cost()
        sizes = [X.shape[1], *_params.hidden_sizes(self), self._n_outputs(Y)]
        return Network(
            sizes, activation=self.activation, output=output, cost=cost, init=_params.init_for(self),
            dtype=X.dtype if self.dtype is None else self.dtype, seed=seed, classes=self._class_names(),
        )  # fmt: skip

    def _split_validation(self, X, Y, sw, seed: int):
        """Hold out validation_fraction of the data for early stopping, as MLPClassifier does."""
        arrays = [X, Y] if sw is None else [X, Y, sw]
        parts = train_test_split(
            *arrays, test_size=self.validation_fraction, random_state=seed, stratify=self._stratify(Y)
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
        return save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """A fitted estimator from a file written by ``save``; see ``save``."""
        return load_estimator(cls, path)

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
        """a^L for each row of X (the core's feedforward, in the network's dtype)."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.network_.feedforward(X)

    def _class_names(self) -> list | None:
        return None


def _sample_weight(sample_weight, n: int) -> np.ndarray | None:
    """Sample weights as a float64 (n,) array, checked by the core: finite, ≥ 0, not all zero."""
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        sample_weight = np.full(n, sample_weight, dtype=np.float64)
    sw = check_array(sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight", copy=True)
    if sw.shape == (n,) and not sw.any():  # scikit-learn's checks expect "zero" in the message
        raise ValueError("sample_weight is zero for every example: none would count")
    check_sample_weight(sw, n)  # raises for a bad shape or a negative weight
    return sw
