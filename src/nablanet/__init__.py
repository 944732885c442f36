"""nablanet: feed-forward neural networks trained by backpropagation.

Open ``nablanet/backprop.py`` first: the four equations BP1–BP4, for a whole
mini-batch at once, with the per-example teaching path beside them.
docs/architecture.md shows the layers and where each concept lives.

The teaching instruments live in their own modules, named for what they do:
``nablanet.teaching.gradcheck.gradcheck``, ``nablanet.teaching.trace.trace`` and
``nablanet.teaching.experiments``.
"""

from ._version import __version__
from .backprop import backprop, backprop_reference, backprop_single, gradient
from .errors import DatasetError, DivergenceError, ModelFileError
from .io.model import load, save
from .network import Evaluation, Network
from .optimizers import SGD, Adam, Momentum
from .train import Callback, History
from .training.callbacks import EarlyStopping, HalveOnPlateau
from .training.fit import fit

__all__ = [
    "Network",
    "Evaluation",
    "backprop",
    "gradient",
    "backprop_single",
    "backprop_reference",
    "fit",
    "History",
    "Callback",
    "EarlyStopping",
    "HalveOnPlateau",
    "DivergenceError",
    "SGD",
    "Momentum",
    "Adam",
    "load",
    "save",
    "DatasetError",
    "ModelFileError",
    "__version__",
]
