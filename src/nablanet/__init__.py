"""nablanet: feed-forward neural networks trained by backpropagation.

Open ``nablanet/backprop.py`` first: the four equations BP1–BP4, for a whole
mini-batch at once, with the per-example teaching path beside them.
"""

from .backprop import backprop, backprop_reference, backprop_single
from .datasets import DatasetError
from .files import ModelFileError, load
from .network import Evaluation, Network
from .optimizers import SGD, Adam, Momentum
from .train import Callback, History, fit

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
    "SGD",
    "Momentum",
    "Adam",
    "load",
    "DatasetError",
    "ModelFileError",
    "__version__",
]
