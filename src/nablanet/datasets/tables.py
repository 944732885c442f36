"""Your own data: a CSV table or an NPZ of arrays, checked cell by cell and array by array."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..io.npz import read_npz
from .base import MAX_BYTES, Dataset, DatasetError, read_capped, scale, train_validation_split

__all__ = ["load_csv", "load_npz", "read_numeric_csv"]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_numeric_csv(path: str | os.PathLike) -> np.ndarray:
    """Rows of finite numbers from a CSV file with an optional header row (no target column)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [(i, r) for i, r in enumerate(csv.reader(f), start=1) if r]
    if rows and not all(_is_number(c) for c in rows[0][1]):
        rows.pop(0)
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    width = len(rows[0][1])
    values = []
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"{path}: row {line} has {len(row)} columns; expected {width}")
        for j, cell in enumerate(row):
            if not _is_number(cell) or not math.isfinite(float(cell)):
                raise DatasetError(f"{path}: row {line}, column {j + 1}: {cell!r} is not a finite number")
        values.append([float(c) for c in row])
    return np.array(values)


def load_csv(
    path: str | os.PathLike,
    target: int | str = -1,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    max_bytes: int = MAX_BYTES,
) -> Dataset:
    """A CSV table: one row per example, the ``target`` column (name or index) holds the labels.

    A first row with any non-numeric cell is taken as the header. Labels may be
    integers ≥ 0 or text (class names, numbered in sorted order). The rows are
    split into train and test with a seeded, stratified split.
    """
    path = Path(path)
    text = read_capped(path, max_bytes)
    try:
        rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: not a readable CSV file ({e})") from None
    rows = [(i, r) for i, r in enumerate(rows, start=1) if r and any(c.strip() for c in r)]
    if not rows:
        raise DatasetError(f"{path}: the file holds no rows")
    header = None
    if not all(_is_number(c) for c in rows[0][1]):
        header = [c.strip() for c in rows.pop(0)[1]]
    if not rows:
        raise DatasetError(f"{path}: the file has a header but no data rows")
    width = len(header) if header else len(rows[0][1])
    if width < 2:
        raise DatasetError(f"{path}: need at least 2 columns (features and a target), found {width}")
    t = _target_index(path, target, header, width)
    names = header or [str(j + 1) for j in range(width)]
    features, labels = [], []
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"{path}: row {line} has {len(row)} columns; expected {width}")
        values = []
        for j, cell in enumerate(row):
            if j == t:
                labels.append(cell.strip())
                continue
            try:
                v = float(cell)
            except ValueError:
                raise DatasetError(
                    f"{path}: row {line}, column {j + 1} ({names[j]!r}): {cell!r} is not a number"
                ) from None
            if not math.isfinite(v):
                raise DatasetError(
                    f"{path}: row {line}, column {j + 1} ({names[j]!r}): {cell!r} is not finite"
                )
            values.append(v)
        features.append(values)
    y, classes = _encode_labels(path, labels, [line for line, _ in rows], t, names[t])
    X = np.array(features, dtype=np.float64)
    X_train, y_train, X_test, y_test = _split(path, X, y, test_fraction, seed)
    n_classes = len(classes) if classes else int(y.max()) + 1
    data = Dataset(path.name, X_train, y_train, X_test, y_test, n_classes, None, classes)
    return scale(data, standardize)


def _split(path: Path, X, y, test_fraction: float, seed: int):
    try:
        return train_validation_split(X, y, test_fraction, seed)
    except ValueError as e:
        raise DatasetError(f"{path}: cannot split {X.shape[0]} examples into train and test ({e})") from None


def _target_index(path: Path, target: int | str, header: list[str] | None, width: int) -> int:
    if isinstance(target, str) and not target.lstrip("-").isdigit():
        if header is None or target not in header:
            known = f"the header has {header}" if header else "the file has no header row"
            raise DatasetError(f"{path}: no column named {target!r} ({known})")
        return header.index(target)
    t = int(target)
    if not -width <= t < width:
        raise DatasetError(f"{path}: target column {t} is out of range for {width} columns")
    return t % width


def _encode_labels(path, labels, lines, column, name) -> tuple[np.ndarray, list[str] | None]:
    if all(_is_number(v) for v in labels):
        y = np.array([float(v) for v in labels])
        bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
        if bad.any():
            i = int(np.argmax(bad))
            raise DatasetError(
                f"{path}: row {lines[i]}, column {column + 1} ({name!r}): label {labels[i]!r} "
                "is not an integer ≥ 0"
            )
        return y.astype(np.int64), None
    classes = sorted(set(labels))
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index[v] for v in labels], dtype=np.int64), classes


def load_npz(
    path: str | os.PathLike,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    max_bytes: int = MAX_BYTES,
) -> Dataset:
    """An .npz with X_train, y_train, X_test, y_test (or X and y, split here); no pickles."""

    path = Path(path)
    try:
        arrays = read_npz(path, max_bytes=max_bytes)
    except ModelFileError as e:
        raise DatasetError(str(e)) from None
    keys = set(arrays)
    if {"X_train", "y_train", "X_test", "y_test"} <= keys:
        parts = [arrays[k] for k in ("X_train", "y_train", "X_test", "y_test")]
    elif {"X", "y"} <= keys:
        parts = None
    else:
        raise DatasetError(
            f"{path}: expected arrays X_train, y_train, X_test, y_test (or X, y); found {sorted(keys)}"
        )
    for k in keys & {"X", "X_train", "X_test"}:
        X = arrays[k]
        if X.ndim < 2 or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise DatasetError(
                f"{path}: {k} must be a numeric array of 2 or more dimensions, got {X.dtype} {X.shape}"
            )
        if not np.isfinite(X).all():
            raise DatasetError(
                f"{path}: {k} contains NaN or inf at index {tuple(np.argwhere(~np.isfinite(X))[0])}"
            )
    for k in keys & {"y", "y_train", "y_test"}:
        y = arrays[k]
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise DatasetError(f"{path}: {k} must be 1-D integer labels ≥ 0, got {y.dtype} {y.shape}")
    if parts is None:
        X, y = arrays["X"], arrays["y"]
        if X.shape[0] != y.shape[0]:
            raise DatasetError(f"{path}: X has {X.shape[0]} rows but y has {y.shape[0]}")
        parts = _split(path, X, y, test_fraction, seed)
    X_train, y_train, X_test, y_test = parts
    for Xp, yp, which in ((X_train, y_train, "train"), (X_test, y_test, "test")):
        if Xp.shape[0] != yp.shape[0]:
            raise DatasetError(f"{path}: X_{which} has {Xp.shape[0]} rows but y_{which} has {yp.shape[0]}")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DatasetError(f"{path}: X_train and X_test differ in shape: {X_train.shape} vs {X_test.shape}")
    image_shape = tuple(X_train.shape[1:]) if X_train.ndim > 2 else None
    n_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    data = Dataset(
        path.name,
        X_train.reshape(X_train.shape[0], -1),
        y_train.astype(np.int64),
        X_test.reshape(X_test.shape[0], -1),
        y_test.astype(np.int64),
        n_classes,
        image_shape,
    )
    if X_train.dtype == np.uint8 and not standardize:  # pixels: keep the 0 … 255 scale
        return scale(data, False, 0.0, 255.0)
    return scale(data, standardize)
