"""The Dataset type, DatasetError, and what every loader shares: capped reads, scaling, splits."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


class DatasetError(ValueError):
    """A dataset file is missing, truncated, corrupt or not what it claims to be."""


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

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

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
    """[0, 1] by a known range (else the training set's per-feature range), or standardise."""
    if not standardize and lo is not None:  # e.g. pixels 0 … 255: stay in float32
        span = np.float32(hi - lo)
        data.X_train = (data.X_train.astype(np.float32) - np.float32(lo)) / span
        data.X_test = (data.X_test.astype(np.float32) - np.float32(lo)) / span
        return data
    X_train = data.X_train.astype(np.float64)
    if standardize:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        shift, span = mean, np.where(std > 0, std, 1.0)
    else:
        lo, hi = X_train.min(axis=0), X_train.max(axis=0)
        shift, span = lo, np.where(hi > lo, hi - lo, 1.0)
    data.X_train = ((X_train - shift) / span).astype(np.float32)
    data.X_test = ((data.X_test.astype(np.float64) - shift) / span).astype(np.float32)
    return data


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
