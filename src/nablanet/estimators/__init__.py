"""scikit-learn estimators: ``NablaClassifier`` and ``NablaRegressor``.

They wrap a nablanet ``Network`` so that it drops into Pipelines, GridSearchCV
and cross_val_score. Parameters are stored unchanged in ``__init__`` and checked
in ``fit``; what fitting learns ends in ``_``.

This package imports scikit-learn, so ``import nablanet`` does not import it;
import it as ``from nablanet.estimators import NablaClassifier``.

The modules, by concern:

- ``_params``: the parameters' checks, and their mapping onto nablanet's
  optimizers, initialisers and shared defaults;
- ``_base``: what both estimators share: the training run (``nablanet.fit``),
  warm starts and ``partial_fit``, the fitted attributes, prediction (the
  core's feedforward);
- ``_watch``: the per-epoch record (loss curve, held-out score) and
  MLPClassifier's stopping rule, as the core's ``EarlyStopping``;
- ``_file``: saving to and loading from a nablanet model file;
- ``classifier`` and ``regressor``: how each encodes its targets and scores.
"""

from .classifier import NablaClassifier
from .regressor import NablaRegressor

__all__ = ["NablaClassifier", "NablaRegressor"]
