"""A fitted estimator in a nablanet model file: the weights as arrays, everything else as JSON.

Loading such a file never runs code, unlike a pickle. The optimizer's state is
not kept: a loaded estimator predicts exactly as the saved one, and its
``partial_fit`` or warm ``fit`` starts a new optimizer from the saved weights.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..io.container import plain
from ..io.model import load_model, save
from ..train import History
from ._params import hidden_sizes

__all__ = ["save_estimator", "load_estimator"]

_FITTED = ("loss_curve_", "n_iter_", "best_loss_", "validation_scores_", "validation_loss_")


def save_estimator(est, path):
    """Write ``est`` (fitted) to ``path``; returns the path."""
    check_is_fitted(est, "network_")
    params = est.get_params()
    if callable(params["init"]):
        params["init"] = None  # only a fresh fit uses it, and a function cannot be stored
    params["hidden_layer_sizes"] = hidden_sizes(est)
    if params["dtype"] is not None:
        params["dtype"] = np.dtype(params["dtype"]).name
    if not isinstance(params["random_state"], (numbers.Integral, type(None))):
        params["random_state"] = None
    fitted = {name: getattr(est, name, None) for name in _FITTED}
    fitted["best_validation_score_"] = getattr(est, "best_validation_score_", None)
    names = getattr(est, "feature_names_in_", None)
    fitted["feature_names_in_"] = None if names is None else [str(n) for n in names]
    fitted.update(est._fitted_for_file())
    state = {"class": type(est).__name__, "params": plain(params), "fitted": plain(fitted)}
    return save(est.network_, path, history=est.history_, hyperparameters={"estimator": state})


def load_estimator(cls, path):
    """An estimator of class ``cls`` from a file written by ``save_estimator``."""
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
    est = cls(**params)
    if net.sizes[1:-1] != list(params["hidden_layer_sizes"]):
        raise ValueError(f"{path}: the saved parameters do not match the saved network {net.sizes}")
    fitted = state["fitted"]
    est.network_ = net.copy()  # writable weights (a loaded file's arrays are read-only)
    est.n_features_in_ = net.sizes[0]
    if fitted.get("feature_names_in_") is not None:
        est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    for name in _FITTED:
        setattr(est, name, fitted.get(name))
    est.best_validation_score_ = fitted.get("best_validation_score_")
    est._restore_fitted(fitted, path)
    est.history_ = History.from_dict(header.get("history") or {})
    return est
