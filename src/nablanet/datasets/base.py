"""The Dataset type, DatasetError, and what every loader shares: capped reads, scaling, splits."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError

__all__ = [
    "Dataset",
    "DatasetError",
    "MAX_BYTES",
    "train_validation_split",
    "one_hot",
    "read_capped",
    "scale",
]

MAX_BYTES = 1 << 30  # decompressed-size cap: 1 GiB, well above EMNIST's largest file


@dataclass
class Dataset:
    """Train and test splits: X float32 (one row per example), y integer labels."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, ...] | None = None
    classes: list[str] | None = None  # label names, when the file gave them as text
    # X = (X_raw − input_shift) / input_scale: how the file's values became these inputs.
    input_shift: float | np.ndarray = 0.0
    input_scale: float | np.ndarray = 1.0

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def transform(self, X_raw) -> np.ndarray:
        """Raw inputs (in the file's units, e.g. pixels 0 … 255) scaled as X_train was."""
        return apply_scaling(X_raw, self.input_shift, self.input_scale)

    def summary(self) -> dict:
        """Name and sizes, as plain numbers (for reports and JSON)."""
        return {
            "name": self.name,
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "n_features": self.n_features,
            "n_classes": int(self.n_classes),
        }


# -- helpers ------------------------------------------------------------------------------


def train_validation_split(
    X: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a seeded ``fraction`` of the rows: (X_train, y_train, X_val, y_val).

    With ``stratify`` (integer labels), each class keeps its share in both parts.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must be strictly between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    if stratify and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        held = []
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            held.append(members[: int(round(fraction * members.size))])
        val = np.sort(np.concatenate(held))
    else:
        val = np.sort(rng.permutation(n)[: int(round(fraction * n))])
    if val.size == 0 or val.size == n:
        raise ValueError(f"a fraction of {fraction} of {n} examples leaves one part empty")
    keep = np.ones(n, dtype=bool)
    keep[val] = False
    return X[keep], y[keep], X[val], y[val]


def one_hot(y: np.ndarray, n_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer labels → rows with a single 1: y = 3 of 5 gives [0, 0, 0, 1, 0]."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"one_hot needs a 1-D array of integer labels, got {y.dtype} of shape {y.shape}")
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must be in [0, {n_classes - 1}], found {y.min()} … {y.max()}")
    Y = np.zeros((y.size, n_classes), dtype=dtype)
    Y[np.arange(y.size), y] = 1
    return Y


def scale(data: Dataset, standardize: bool, lo: float | None = None, hi: float | None = None) -> Dataset:
    """[0, 1] by a known range (else the training set's per-feature range), or standardise.

    The shift and scale used are kept in ``data.input_shift`` and ``data.input_scale``.
    """
    if not standardize and lo is not None:  # e.g. pixels 0 … 255: a scalar range
        shift, span = float(lo), float(hi - lo)
    else:
        X_train = data.X_train.astype(np.float64)
        if standardize:
            mean, std = X_train.mean(axis=0), X_train.std(axis=0)
            shift, span = mean, np.where(std > 0, std, 1.0)
        else:
            low, high = X_train.min(axis=0), X_train.max(axis=0)
            shift, span = low, np.where(high > low, high - low, 1.0)
    # Compose with any scaling already applied (a pickled MNIST arrives in [0, 1]).
    data.X_train = apply_scaling(data.X_train, shift, span)
    data.X_test = apply_scaling(data.X_test, shift, span)
    data.input_shift = data.input_shift + data.input_scale * shift
    data.input_scale = data.input_scale * span
    return data


def apply_scaling(X, shift, span) -> np.ndarray:
    """(X − shift) / span as float32; a scalar range stays in float32 throughout."""
    if np.ndim(shift) == 0 and np.ndim(span) == 0:
        return (np.asarray(X).astype(np.float32) - np.float32(shift)) / np.float32(span)
    return ((np.asarray(X, dtype=np.float64) - shift) / span).astype(np.float32)


# -- reading bytes with a cap ----------------------------------------------------------------


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, gunzipped if it ends in .gz; never more than max_bytes."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        else:
            if path.stat().st_size > max_bytes:
                raise DatasetError(f"{path}: {path.stat().st_size} bytes is over the {max_bytes}-byte cap")
            data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{path}: cannot decompress ({e or type(e).__name__})") from None
    if len(data) > max_bytes:
        raise DatasetError(f"{path}: decompresses to more than the {max_bytes}-byte cap")
    return data
