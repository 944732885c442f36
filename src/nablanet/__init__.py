"""nablanet: feed-forward neural networks trained by backpropagation.

Open ``nablanet/backprop.py`` first: the four equations BP1–BP4, for a whole
mini-batch at once, with the per-example teaching path beside them.

The teaching instruments live in their own modules, named for what they do:
``nablanet.gradcheck.gradcheck``, ``nablanet.trace.trace`` and
``nablanet.experiments``.
"""

from .backprop import backprop, backprop_reference, backprop_single
from .callbacks import EarlyStopping, HalveOnPlateau
from .datasets import DatasetError
from .files import ModelFileError, load
from .network import Evaluation, Network
from .optimizers import SGD, Adam, Momentum
from .train import Callback, DivergenceError, History, fit

__version__ = "0.1.0"

__all__ = [
    "Network",
    "Evaluation",
    "backprop",
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
    "DatasetError",
    "ModelFileError",
    "__version__",
]
