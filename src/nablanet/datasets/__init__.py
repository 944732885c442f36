"""Datasets: the bundled digits, MNIST and Fashion-MNIST, and your own CSV or NPZ files.

Every loader returns a ``Dataset`` whose inputs are float32, one row per example,
scaled as the data suggests (pixels ÷ their maximum, other features standardised
with the training set's mean and standard deviation; ``Dataset.scaling`` says
which), and whose labels are integers 0 … n_classes − 1.

Nothing here trusts a file: only regular files are opened, IDX headers are checked
against their payload, sizes, compression ratios and class counts are capped before
anything is allocated, labels are read as exact integers, and the Nielsen
``mnist.pkl.gz`` is read by a small opcode interpreter that builds tuples and arrays
only, never a general unpickler. A bad file raises ``DatasetError`` naming the file
and the problem.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .base import (
    MAX_BYTES,
    MAX_CLASSES,
    SCALINGS,
    Dataset,
    DatasetError,
    one_hot,
    scale,
    train_validation_split,
)
from .idx import CLASSES, load_idx, load_idx_set, read_idx
from .nielsen import load_pickled_mnist
from .tables import NPZ_KEYS, load_csv, load_npz

__all__ = [
    "Dataset",
    "DatasetError",
    "load",
    "read_idx",
    "load_idx",
    "load_csv",
    "load_npz",
    "train_validation_split",
    "one_hot",
    "NAMES",
    "CLASSES",
    "NPZ_KEYS",
    "SCALINGS",
    "MAX_BYTES",
    "MAX_CLASSES",
]

NAMES = ("digits", "fashion-mnist", "mnist")


# -- the bundled digits --------------------------------------------------------------------


def _load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    X_train, y_train, X_test, y_test = train_validation_split(X, y, test_fraction, seed)
    return Dataset("digits", X_train, y_train, X_test, y_test, 10, (8, 8), [str(k) for k in range(10)])


# -- the one entry point ---------------------------------------------------------------------


def load(
    name: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    standardize: bool = False,
    *,
    scaling: str = "auto",
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    sha256: Mapping[str, str] | None = None,
    progress: bool | None = None,
    target: int | str = -1,
    keys: Mapping[str, str] | None = None,
    max_classes: int | None = None,
) -> Dataset:
    """A dataset by name (``"digits"``, ``"fashion-mnist"``, ``"mnist"``) or by file path.

    Parameters
    ----------
    name : str or path
        A known name, or a ``.csv``, ``.npz`` or Nielsen ``mnist.pkl.gz`` file.
    data_dir : path, optional
        Looked in first for MNIST-style IDX files (default ``$NABLANET_DATA``);
        then ``~/.cache/nablanet/<name>`` and ``/usr/share/datasets/<name>``.
    standardize : bool
        Zero mean, unit variance per feature (training-set statistics); the same as
        ``scaling="standardize"``.
    scaling : str
        "auto" (default: pixel-like whole numbers ÷ their maximum, values in [0, 1]
        kept, anything else standardised), "standardize", "max", "minmax" or "none".
        The choice made is in ``Dataset.scaling``.
    download : bool
        Fetch MNIST / Fashion-MNIST into the cache if no copy is found.
    mirrors, sha256 : optional
        Base URLs and expected SHA-256 per file, replacing the official ones
        (``$NABLANET_MNIST_URL`` / ``$NABLANET_FASHION_MNIST_URL`` replace the URL too).
    progress : bool, optional
        Show download progress on stderr (default: when stderr is a terminal).
    target : int or str
        The label column of a CSV file.
    keys : mapping, optional
        For an NPZ file: which arrays are "x", "y", "x_test", "y_test".
    max_classes : int, optional
        The class-count cap for CSV and NPZ labels (default ``$NABLANET_MAX_CLASSES`` or 10,000).

    Returns
    -------
    Dataset
    """
    progress = sys.stderr.isatty() if progress is None else progress
    how = "standardize" if standardize else scaling
    key = str(name).lower().replace("_", "-")
    if key == "digits":
        return scale(_load_digits(), how, 0.0, 16.0) if how == "auto" else scale(_load_digits(), how)
    if key in ("fashion-mnist", "mnist"):
        data = load_idx_set(key, data_dir, download, mirrors, sha256, progress)
        return scale(data, how, 0.0, 255.0) if how == "auto" else scale(data, how)
    path = Path(name)
    loaders: dict[str, Callable[[], Dataset]] = {
        ".csv": lambda: load_csv(path, target, scaling=how, max_classes=max_classes),
        ".npz": lambda: load_npz(path, scaling=how, keys=keys, max_classes=max_classes),
        ".pkl": lambda: scale(load_pickled_mnist(path), how),
    }
    suffix = ".pkl" if path.name.lower().endswith((".pkl.gz", ".pkl")) else path.suffix.lower()
    if suffix in loaders:
        return loaders[suffix]()
    raise DatasetError(
        f"unknown dataset {str(name)!r}: use one of {', '.join(NAMES)}, or a .csv, .npz or mnist.pkl.gz file"
    )
