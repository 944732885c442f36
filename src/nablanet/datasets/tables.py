"""Your own data: a CSV table or an NPZ of arrays, checked cell by cell and array by array."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from ..io.npz import read_npz
from .base import (
    Dataset,
    DatasetError,
    check_label,
    check_rows,
    class_cap,
    read_capped,
    scale,
    train_validation_split,
)

__all__ = ["load_csv", "load_npz", "read_numeric_csv", "is_number", "NPZ_KEYS"]


def is_number(cell: str) -> bool:
    """Whether a CSV cell reads as a number."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_numeric_csv(path: str | os.PathLike) -> np.ndarray:
    """Rows of finite numbers from a CSV file with an optional header row (no target column)."""
    path = Path(path)
    rows = _rows(path, read_capped(path))
    if rows and not all(is_number(c) for c in rows[0][1]):
        rows.pop(0)
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    width = len(rows[0][1])
    values = []
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"{path}: row {line} has {len(row)} columns; expected {width}")
        for j, cell in enumerate(row):
            if not is_number(cell) or not math.isfinite(float(cell)):
                raise DatasetError(f"{path}: row {line}, column {j + 1}: {cell!r} is not a finite number")
        values.append([float(c) for c in row])
    return np.array(values)


def _rows(path: Path, data) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank."""
    try:
        rows = list(csv.reader(io.StringIO(bytes(data).decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: not a readable CSV file ({e})") from None
    return [(i, r) for i, r in enumerate(rows, start=1) if r and any(c.strip() for c in r)]


def load_csv(
    path: str | os.PathLike,
    target: int | str = -1,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    max_bytes: float | None = None,
    *,
    scaling: str = "auto",
    max_classes: int | None = None,
) -> Dataset:
    """A CSV table: one row per example, the ``target`` column (name or index) holds the labels.

    A first row with any non-numeric cell is taken as the header. Labels are either
    all whole numbers ≥ 0, read exactly (never through a float), or all text (class
    names, numbered in sorted order); a blank label is an error naming its row. The
    class count is capped (``max_classes``, else ``$NABLANET_MAX_CLASSES``, else
    10,000). The rows are split into train and test with a seeded, stratified split,
    and the inputs scaled as ``scaling`` says (``standardize=True``: "standardize").
    """
    path = Path(path)
    rows = _rows(path, read_capped(path, max_bytes))
    if not rows:
        raise DatasetError(f"{path}: the file holds no rows")
    header = None
    if not all(is_number(c) for c in rows[0][1]):
        header = [c.strip() for c in rows.pop(0)[1]]
    if not rows:
        raise DatasetError(f"{path}: the file has a header but no data rows")
    width = len(header) if header else len(rows[0][1])
    if width < 2:
        raise DatasetError(f"{path}: need at least 2 columns (features and a target), found {width}")
    t = _target_index(path, target, header, width)
    names = header or [str(j + 1) for j in range(width)]
    features, labels = _cells(path, rows, width, t, names)
    y, classes = _encode_labels(path, labels, t, names[t], class_cap(max_classes))
    X = np.array(features, dtype=np.float64)
    X_train, y_train, X_test, y_test = _split(path, X, y, test_fraction, seed)
    n_classes = len(classes) if classes else int(y.max()) + 1
    data = Dataset(path.name, X_train, y_train, X_test, y_test, n_classes, None, classes)
    return scale(data, "standardize" if standardize else scaling)


def _cells(path: Path, rows, width: int, t: int, names: list[str]):
    """The feature values (finite floats) and the label cells (text, with their row)."""
    features, labels = [], []
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"{path}: row {line} has {len(row)} columns; expected {width}")
        values = []
        for j, cell in enumerate(row):
            if j == t:
                labels.append((line, cell.strip()))
                continue
            where = f"{path}: row {line}, column {j + 1} ({names[j]!r})"
            try:
                v = float(cell)
            except ValueError:
                raise DatasetError(f"{where}: {cell!r} is not a number") from None
            if not math.isfinite(v):
                raise DatasetError(f"{where}: {cell!r} is not finite")
            values.append(v)
        features.append(values)
    return features, labels


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


def _encode_labels(path, labels, column, name, cap) -> tuple[np.ndarray, list[str] | None]:
    """Integer labels read exactly, or text labels numbered in sorted order."""
    numbers = {}
    for line, text in labels:
        if not text:
            raise DatasetError(f"{path}: row {line}, column {column + 1} ({name!r}): the label is blank")
        numbers[line] = _decimal(text)
    kinds = {line: d is not None for line, d in numbers.items()}
    if all(kinds.values()):
        return _integer_labels(path, labels, numbers, column, name, cap), None
    if any(kinds.values()):
        num = next(line for line, is_num in kinds.items() if is_num)
        txt = next(line for line, is_num in kinds.items() if not is_num)
        raise DatasetError(
            f"{path}: column {column + 1} ({name!r}) mixes numbers (row {num}) and text (row {txt}): "
            "labels must be all whole numbers or all names"
        )
    classes = sorted({text for _, text in labels})
    if len(classes) > cap:
        raise DatasetError(
            f"{path}: {len(classes):,} distinct labels, over the cap of {cap:,} classes "
            "(raise it with max_classes= or $NABLANET_MAX_CLASSES)"
        )
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index[text] for _, text in labels], dtype=np.int64), classes


def _decimal(text: str) -> Decimal | None:
    """The number a label cell spells, exactly (Decimal, not float), or None for text."""
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None


def _integer_labels(path, labels, numbers, column, name, cap) -> np.ndarray:
    y = np.empty(len(labels), dtype=np.int64)
    for i, (line, text) in enumerate(labels):
        d, where = numbers[line], f"{path}: row {line}, column {column + 1} ({name!r})"
        if not d.is_finite() or d < 0 or d != d.to_integral_value():
            raise DatasetError(f"{where}: label {text!r} is not an integer ≥ 0")
        if d >= cap:  # compared as a Decimal: 1e999999 is never expanded into digits
            raise DatasetError(
                f"{where}: label {text!r} needs more classes than the cap of {cap:,} "
                "(raise it with max_classes= or $NABLANET_MAX_CLASSES)"
            )
        y[i] = int(d)
    return y


# -- NPZ -------------------------------------------------------------------------------------

# The member names each part may have, in the spellings NumPy, Keras and scikit-learn users write.
NPZ_KEYS = {
    "x": ("X_train", "x_train", "X", "x"),
    "y": ("y_train", "Y_train", "y", "Y"),
    "x_test": ("X_test", "x_test"),
    "y_test": ("y_test", "Y_test"),
}


def load_npz(
    path: str | os.PathLike,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    max_bytes: float | None = None,
    *,
    keys: Mapping[str, str] | None = None,
    scaling: str = "auto",
    max_classes: int | None = None,
    max_ratio: float | None = None,
) -> Dataset:
    """An .npz of inputs and integer labels, with or without a test part; never unpickled.

    The parts are found by name (``NPZ_KEYS``: ``x``/``X``/``X_train``, ``y``/``y_train``,
    ``x_test``/``X_test``, ``y_test``), or by ``keys``, which maps "x", "y", "x_test",
    "y_test" to the file's own names. Without a test part the rows are split here.
    """
    path = Path(path)
    parts, image_shape = _npz_parts(path, keys, class_cap(max_classes), max_bytes, max_ratio)
    if parts[2] is None:
        parts = _split(path, parts[0], parts[1], test_fraction, seed)
    X_train, y_train, X_test, y_test = parts
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    data = Dataset(path.name, _flat(X_train), y_train, _flat(X_test), y_test, n_classes, image_shape)
    how = "standardize" if standardize else scaling
    if how == "auto" and X_train.dtype == np.uint8:  # 8-bit pixels: the type's own range, 0 … 255
        return scale(data, how, 0.0, 255.0)
    return scale(data, how)


def _flat(X: np.ndarray) -> np.ndarray:
    return X.reshape(X.shape[0], math.prod(X.shape[1:]))


def _npz_parts(path: Path, keys, cap: int, max_bytes, max_ratio):
    """(X, y, X_test, y_test) checked (the test pair may be None), and the image shape."""
    arrays = read_npz(path, max_bytes, max_ratio=max_ratio, error=DatasetError)
    names = _part_names(path, set(arrays), keys)
    for role, name in names.items():
        check = _check_inputs if role.startswith("x") else _check_labels
        check(path, name, arrays[name], cap)
    pairs = [("x", "y"), ("x_test", "y_test")] if "x_test" in names else [("x", "y")]
    for xr, yr in pairs:
        X, y = arrays[names[xr]], arrays[names[yr]]
        if X.shape[0] != y.shape[0]:
            raise DatasetError(f"{path}: {names[xr]} has {X.shape[0]} rows but {names[yr]} has {y.shape[0]}")
    X = arrays[names["x"]]
    if "x_test" in names and X.shape[1:] != arrays[names["x_test"]].shape[1:]:
        raise DatasetError(
            f"{path}: {names['x']} and {names['x_test']} differ in shape: "
            f"{X.shape} vs {arrays[names['x_test']].shape}"
        )
    parts = [arrays[names[r]] if r in names else None for r in ("x", "y", "x_test", "y_test")]
    parts[1:4:2] = [p if p is None else p.astype(np.int64) for p in parts[1:4:2]]
    return parts, tuple(X.shape[1:]) if X.ndim > 2 else None


def _part_names(path: Path, found: set[str], keys: Mapping[str, str] | None) -> dict[str, str]:
    """Which member plays which part: {"x": ..., "y": ..., and maybe "x_test", "y_test"}."""
    if keys is not None:
        unknown = set(keys) - set(NPZ_KEYS)
        if unknown:
            raise ValueError(f"keys may name {sorted(NPZ_KEYS)}, not {sorted(unknown)}")
        missing = {k: v for k, v in keys.items() if v not in found}
        if missing:
            raise DatasetError(f"{path}: no array named {sorted(missing.values())}; found {sorted(found)}")
    names = dict(keys or {})
    for role, spellings in NPZ_KEYS.items():
        if role in names:
            continue
        hits = [s for s in spellings if s in found]
        if len(hits) > 1:
            raise DatasetError(f"{path}: both {hits[0]!r} and {hits[1]!r} could be {role}; pass keys=")
        if hits:
            names[role] = hits[0]
    if not {"x", "y"} <= set(names) or ("x_test" in names) != ("y_test" in names):
        raise DatasetError(
            f"{path}: expected arrays X_train, y_train, X_test, y_test (or x, y, x_test, y_test, "
            f"or X, y; or pass keys=); found {sorted(found)}"
        )
    return names


def _check_inputs(path: Path, name: str, X: np.ndarray, cap: int) -> None:
    if X.ndim < 2 or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DatasetError(
            f"{path}: {name} must be a numeric array of 2 or more dimensions, got {X.dtype} {X.shape}"
        )
    check_rows(X.shape[0], path, name)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DatasetError(
            f"{path}: {name} contains NaN or inf at index {tuple(np.argwhere(~np.isfinite(X))[0])}"
        )


def _check_labels(path: Path, name: str, y: np.ndarray, cap: int) -> None:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(
            f"{path}: {name} must be 1-D integer labels ≥ 0, got {y.dtype} {y.shape}"
            + (" (cast whole-number labels with astype(int) before saving)" if y.dtype.kind == "f" else "")
        )
    if y.size and int(y.min()) < 0:  # int(): a uint64 is compared exactly, never wrapped
        i = int(np.argmin(y))
        raise DatasetError(f"{path}: {name}[{i}] is {int(y[i])}, not a label ≥ 0")
    if y.size:
        check_label(int(y.max()), cap, f"{path}: {name}[{int(np.argmax(y))}]")
