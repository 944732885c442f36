"""NablaRegressor: a nablanet network as a scikit-learn regressor (MLPRegressor's drop-in)."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from .. import activations, costs
from ._base import BaseNabla
from ._params import check_choice

__all__ = ["NablaRegressor"]


class NablaRegressor(RegressorMixin, BaseNabla):
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
        Y = np.asarray(y, dtype=np.float64)  # the core casts it to the network's dtype, checked
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
        check_choice(output, "output", [a for a in activations.names() if a != "softmax"])
        cost = self.cost or "quadratic"
        check_choice(cost, "cost", ["quadratic", "binary_cross_entropy"])
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
