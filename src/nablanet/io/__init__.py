"""Files: atomic writes, the nablanet container, model files and safe .npz reading.

``io`` sits above the training plugins' data (it imports the network, never the
training loop): ``atomic`` ← ``npz`` ← ``container`` ← ``model``.
"""

from ..errors import ModelFileError
from .atomic import atomic_open, atomic_write
from .model import load, load_model, read_header, save

__all__ = ["ModelFileError", "atomic_open", "atomic_write", "load", "load_model", "read_header", "save"]
