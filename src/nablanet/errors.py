"""The error types nablanet raises for bad files and for training that breaks down.

One type per family, so that a caller can catch exactly what it expects:
``ModelFileError`` for model and checkpoint files, ``DatasetError`` for data
files, ``DivergenceError`` for a run whose numbers stopped being finite. Each is
a subclass of the built-in type that fits it, so older ``except ValueError``
code keeps working.
"""

from __future__ import annotations

__all__ = ["ModelFileError", "DatasetError", "DivergenceError", "NonFiniteUpdate"]


class ModelFileError(ValueError):
    """A model or checkpoint file is missing, damaged, tampered with or not a nablanet file."""


class DatasetError(ValueError):
    """A dataset file is missing, truncated, corrupt or not what it claims to be."""


class NonFiniteUpdate(FloatingPointError):
    """An optimizer was asked to apply an update that is not finite; nothing was changed."""


class DivergenceError(FloatingPointError):
    """Training produced NaN or inf; the weights are left as they were before that step."""
