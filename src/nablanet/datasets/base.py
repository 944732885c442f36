"""The Dataset type, DatasetError, and what every loader shares: capped reads, scaling, splits."""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..io.npz import MAX_RATIO, RATIO_FLOOR, limit, open_regular

__all__ = [
    "Dataset",
    "DatasetError",
    "MAX_BYTES",
    "train_validation_split",
    "one_hot",
    "read_capped",
    "scale",
    "apply_scaling",
    "class_cap",
    "check_label",
    "check_rows",
    "SCALINGS",
    "MAX_CLASSES",
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
    classes: list[str] | None = None  # label names: from the file, or the data set's own
    # X = (X_raw − input_shift) / input_scale: how the file's values became these inputs.
    input_shift: float | np.ndarray = 0.0
    input_scale: float | np.ndarray = 1.0
    scaling: str = ""  # how the inputs were scaled, in words (see ``scale``)

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
            "scaling": self.scaling,
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


# -- scaling: chosen by the data unless the caller says --------------------------------------

SCALINGS = ("auto", "standardize", "max", "minmax", "none")


def scale(data: Dataset, how: str = "auto", lo: float | None = None, hi: float | None = None) -> Dataset:
    """Rescale the inputs, X = (X_raw − shift) / scale, with training-set statistics.

    ``how``: "standardize" (per feature: mean 0, standard deviation 1), "max" (÷ the
    maximum, or by ``hi`` − ``lo`` when the range is known, as for pixels 0 … 255),
    "minmax" (per feature to [0, 1]), "none", or "auto", which picks by the data:
    whole numbers ≥ 0 over 16 or more features (pixels, counts on one scale) are
    (or any image) are divided by their maximum, values already within [0, 1] are left alone, and
    anything else is standardised, since a min–max scale squeezes features that
    are already centred. The shift, the scale and a sentence saying which was
    chosen are kept in ``input_shift``, ``input_scale`` and ``scaling``.
    """
    if how not in SCALINGS:
        raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, got {how!r}")
    X = data.X_train
    if how == "auto":
        how = _choose(X, lo, hi, data.image_shape is not None)
    # Overflow is checked once below, for all the steps, rather than warned about in each.
    with np.errstate(over="ignore", invalid="ignore"):
        shift, span, data.scaling = _statistics(X, how, lo, hi)
        X_train, X_test = apply_scaling(data.X_train, shift, span), apply_scaling(data.X_test, shift, span)
    if not (np.isfinite(shift).all() and np.isfinite(span).all() and _finite(X_train) and _finite(X_test)):
        raise DatasetError(
            f"{data.name}: values up to {float(np.abs(X).max()):.3g} are too large to scale "
            f"({data.scaling}) into float32"
        )
    data.X_train, data.X_test = X_train, X_test
    # Compose with any scaling already applied (a pickled MNIST arrives in [0, 1]).
    data.input_shift = data.input_shift + data.input_scale * shift
    data.input_scale = data.input_scale * span
    return data


def _finite(X: np.ndarray) -> bool:
    return all(np.isfinite(B).all() for B in _blocks(X))


def _choose(X: np.ndarray, lo: float | None, hi: float | None, image: bool) -> str:
    # Images, or many features on one whole-number scale: a small table of counts
    # (age, children) is better standardised than divided by one shared maximum.
    wide = image or X.shape[1] >= 16
    if lo is not None or (X.size and wide and _whole_and_nonnegative(X) and X.max() >= 1):
        return "max"
    if X.size == 0 or (X.min() >= 0 and X.max() <= 1):
        return "none"
    return "standardize"


def _statistics(X: np.ndarray, how: str, lo, hi) -> tuple:
    """(shift, span, a sentence for the user) for one way of scaling."""
    if how == "none":
        return 0.0, 1.0, "unchanged (already within [0, 1])" if X.size else "unchanged"
    if how == "max":
        low, high = (0.0, float(X.max(initial=0))) if lo is None else (float(lo), float(hi))
        span = high - low if high > low else 1.0
        return low, span, f"divided by {span:g} (whole numbers {low:g} … {high:g}, as pixels are)"
    if how == "minmax":
        low, high = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
        return low, np.where(high > low, high - low, 1.0), "min–max per feature to [0, 1]"
    mean, std = _mean_and_std(X)
    return (
        mean,
        np.where(std > 0, std, 1.0),
        "standardised per feature (training mean and standard deviation)",
    )


def _blocks(X: np.ndarray, elements: int = 1 << 20):
    """Row slices of about ``elements`` values: statistics without a float64 copy of X."""
    step = max(1, elements // max(1, X.shape[1] if X.ndim > 1 else 1))
    for i in range(0, X.shape[0], step):
        yield X[i : i + step]


def _whole_and_nonnegative(X: np.ndarray) -> bool:
    if np.issubdtype(X.dtype, np.integer) or X.dtype == bool:
        return bool(X.min() >= 0)
    return all(np.all((B >= 0) & (B == np.floor(B))) for B in _blocks(X))


def _mean_and_std(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = max(1, X.shape[0])
    mean = np.zeros(X.shape[1])
    for B in _blocks(X):
        mean += B.sum(axis=0, dtype=np.float64)
    mean /= n
    var = np.zeros(X.shape[1])
    for B in _blocks(X):
        var += ((B - mean) ** 2).sum(axis=0)
    return mean, np.sqrt(var / n)


def apply_scaling(X, shift, span) -> np.ndarray:
    """(X − shift) / span as float32, written block by block into one new array.

    A scalar range is applied in float32 (pixels); per-feature statistics in float64.
    """
    X = np.asarray(X)
    out = np.empty(X.shape, np.float32)
    if np.ndim(shift) == 0 and np.ndim(span) == 0:
        np.subtract(X, np.float32(shift), out=out, dtype=np.float32)
        np.divide(out, np.float32(span), out=out)
        return out
    shift, span = np.asarray(shift, np.float64), np.asarray(span, np.float64)
    if X.ndim < 2:  # one example
        return ((X - shift) / span).astype(np.float32)
    done = 0
    for B in _blocks(X):
        out[done : done + len(B)] = (B - shift) / span
        done += len(B)
    return out


# -- class counts ------------------------------------------------------------------------------

MAX_CLASSES = 10_000  # ImageNet-21k has 21,841: a real user may raise it


def class_cap(max_classes: int | None) -> int:
    """The class-count cap: ``max_classes``, else ``$NABLANET_MAX_CLASSES``, else 10,000."""
    return int(limit("MAX_CLASSES", max_classes, MAX_CLASSES))


def check_label(label: int, cap: int, where: str) -> None:
    """A label must fit under the class cap, checked before any output is sized by it."""
    if label >= cap:
        raise DatasetError(
            f"{where}: label {label} means {label + 1:,} classes, over the cap of {cap:,} "
            "(raise it with max_classes= or $NABLANET_MAX_CLASSES)"
        )


def check_rows(n: int, source, what: str = "the data") -> None:
    if n == 0:
        raise DatasetError(f"{source}: {what} has 0 examples")


# -- reading bytes with a cap ----------------------------------------------------------------


def read_capped(
    path: Path,
    max_bytes: float | None = None,
    max_ratio: float | None = None,
    default_ratio: float = MAX_RATIO,
) -> bytes | bytearray:
    """A regular file's bytes, gunzipped if it ends in .gz, within the caps.

    A .gz may unpack to ``max_ratio`` times its size (at least 4 MiB) and never past
    ``max_bytes``; the count is kept while inflating, so a bomb stops at the cap.
    """
    max_bytes = limit("MAX_FILE_BYTES", max_bytes, MAX_BYTES)
    max_ratio = limit("MAX_RATIO", max_ratio, default_ratio)
    with open_regular(path, DatasetError) as f:
        size = os.fstat(f.fileno()).st_size
        if path.suffix != ".gz":
            if size > max_bytes:
                raise DatasetError(f"{path}: {size} bytes is over the {int(max_bytes)}-byte cap")
            data = bytearray(size)  # writable, so arrays can be views of it
            if f.readinto(data) != size or f.read(1):
                raise DatasetError(f"{path}: the file changed size while it was read")
            return data
        cap = int(min(max_bytes, max(RATIO_FLOOR, max_ratio * size)))
        try:
            data = _gunzip(f, cap)
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise DatasetError(f"{path}: cannot decompress ({e or type(e).__name__})") from None
    if len(data) > cap:
        raise DatasetError(
            f"{path}: decompresses to more than {cap} bytes ({max_ratio:g}× its size; "
            "raise it with max_ratio= or $NABLANET_MAX_RATIO)"
        )
    return data


def _gunzip(f, cap: int) -> bytearray:
    data = bytearray()
    with gzip.GzipFile(fileobj=f) as z:
        while len(data) <= cap and (chunk := z.read(min(1 << 20, cap + 1 - len(data)))):
            data += chunk
    return data  # a bytearray: no second copy
