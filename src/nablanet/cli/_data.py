"""The data of a command: a dataset as the settings name it, its validation set, new inputs.

A CSV whose target column holds numbers that are not class labels (1.5, −3) is a
regression problem: its target is standardised with the training set's mean and
standard deviation for training, and every result is reported in its own units.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import datasets
from ..datasets.base import Dataset, DatasetError, read_capped, scale
from ..datasets.tables import is_number, read_numeric_csv
from ..io.npz import open_regular

TASKS = ("auto", "classification", "regression")


@dataclass
class Loaded:
    """A dataset with the training, validation and test parts a run uses."""

    data: Dataset
    X_train: np.ndarray
    y_train: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None
    validation_name: str  # "split", "test" or "none"
    regression: bool = False
    target_scaling: dict | None = None  # y = y_raw·scale + shift undone: {"shift": m, "scale": s}

    @property
    def n_outputs(self) -> int:
        return 1 if self.regression else self.data.n_classes

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        return self.data.X_test, self.scaled_target(self.data.y_test)

    def scaled_target(self, y: np.ndarray) -> np.ndarray:
        if self.target_scaling is None:
            return y
        return (y - self.target_scaling["shift"]) / self.target_scaling["scale"]


def _target(settings: dict) -> int | str:
    target = settings["target"]
    return int(target) if str(target).lstrip("-").isdigit() else target


def load_dataset(settings: dict, quiet: bool = True, download: bool = True) -> tuple[Dataset, dict | None]:
    """The dataset, and the target's scaling when it is a regression problem (else None)."""
    how = "standardize" if settings["standardize"] else "auto"
    task, name = settings.get("task", "auto"), settings["data"]
    is_csv = str(name).lower().endswith(".csv")
    if task == "regression":
        if not is_csv:
            raise ValueError(f"--task regression reads a .csv file with a numeric target, not {name}")
        return regression_csv(Path(name), _target(settings), how)
    try:
        data = datasets.load(
            name,
            settings["data_dir"],
            scaling=how,
            download=download,
            target=_target(settings),
            progress=not quiet and sys.stderr.isatty(),
        )
    except DatasetError as e:
        if task == "auto" and is_csv and _numeric_target(Path(name), _target(settings)):
            return regression_csv(Path(name), _target(settings), how)
        hint = " (for a numeric target to predict, pass --task regression)" if is_csv else ""
        raise DatasetError(f"{e}{hint}") from None
    return data, None


def load_data(settings: dict, quiet: bool = True, warn=None) -> Loaded:
    """The dataset and the parts the run trains and validates on, as the settings describe them."""
    data, target_scaling = load_dataset(settings, quiet)
    regression = target_scaling is not None
    X_train, y_train = data.X_train, data.y_train
    split, on = settings["validation_split"], settings["validate_on"]
    if on == "auto":
        on = "split" if split else "test" if data.X_test.shape[0] else "none"
        if warn is not None and on == "test":
            warn("--validation-split 0: the validation curve is measured on the test set")
        elif warn is not None and on == "none":
            warn(f"--validation-split 0 and {data.name} has no test set: there is no validation curve")
    if on == "split" and not split:
        raise ValueError("--validate-on split needs --validation-split > 0")
    if on == "test" and not data.X_test.shape[0]:
        raise ValueError(f"--validate-on test: {data.name} has no test set")
    validation = None
    if on == "split":
        X_train, y_train, X_val, y_val = datasets.train_validation_split(
            X_train, y_train, split, seed=settings["seed"]
        )
        validation = (X_val, y_val)
    elif on == "test":
        validation = (data.X_test, data.y_test)
    loaded = Loaded(data, X_train, y_train, validation, on, regression, target_scaling)
    loaded.y_train = loaded.scaled_target(y_train)
    if validation is not None:
        loaded.validation = (validation[0], loaded.scaled_target(validation[1]))
    return loaded


# -- regression: a CSV with a numeric target -------------------------------------------------


def _header(path: Path) -> list[str] | None:
    # open_regular: a FIFO or a device named .csv is refused at once, never read or waited on
    with io.TextIOWrapper(open_regular(path), newline="", encoding="utf-8-sig") as f:
        first = next(csv.reader(f), [])
    return None if all(is_number(c) for c in first) else [c.strip() for c in first]


def _column(path: Path, target: int | str, header: list[str] | None, width: int) -> int:
    if isinstance(target, str):
        if header is None or target not in header:
            raise DatasetError(f"{path}: no column named {target!r}")
        return header.index(target)
    if not -width <= target < width:
        raise DatasetError(f"{path}: target column {target} is out of range for {width} columns")
    return target % width


def _numeric_target(path: Path, target: int | str) -> bool:
    """True when every cell is a number and the target's are not all labels (whole, ≥ 0)."""
    try:
        M = read_numeric_csv(path)
        t = _column(path, target, _header(path), M.shape[1])
    except (DatasetError, OSError, UnicodeDecodeError):
        return False
    y = M[:, t]
    return bool(np.any(y != np.round(y)) or np.any(y < 0))


def regression_csv(path: Path, target: int | str, how: str = "auto") -> tuple[Dataset, dict]:
    """A CSV of numbers whose ``target`` column is the value to predict (split 80/20, seed 0)."""
    M = read_numeric_csv(path)
    if M.shape[1] < 2:
        raise DatasetError(f"{path}: need at least 2 columns (features and a target), found {M.shape[1]}")
    t = _column(path, target, _header(path), M.shape[1])
    X, y = np.delete(M, t, axis=1), M[:, t]
    try:
        X_train, y_train, X_test, y_test = datasets.train_validation_split(X, y, 0.2, seed=0, stratify=False)
    except ValueError as e:
        raise DatasetError(f"{path}: cannot split {X.shape[0]} examples into train and test ({e})") from None
    data = scale(Dataset(path.name, X_train, y_train, X_test, y_test, 0), how)
    shift, spread = float(np.mean(y_train)), float(np.std(y_train))
    return data, {"shift": shift, "scale": spread if spread > 0 else 1.0}


def regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """RMSE and R² of predictions against targets, both in the target's own units."""
    pred, y = np.asarray(pred, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    residual = float(np.sum((pred - y) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": math.sqrt(residual / y.size) if y.size else None,
        "r2": 1 - residual / total if total > 0 else None,
    }


def unscale(outputs: np.ndarray, target_scaling: dict) -> np.ndarray:
    """The network's outputs in the target's units."""
    return outputs * target_scaling["scale"] + target_scaling["shift"]


# -- new inputs -------------------------------------------------------------------------------


def read_inputs(path: str) -> np.ndarray:
    """Rows of numbers from a .npy (no pickles) or a .csv (an optional header row)."""
    p = Path(path)
    if not p.exists():  # anything else that is not a regular file is refused by the readers
        raise FileNotFoundError(f"{path}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:  # only a regular file, within the data sets' size cap; never a pickle
            X = np.load(io.BytesIO(read_capped(p)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise DatasetError(f"{path}: not a readable .npy array of numbers ({e})") from None
    elif suffix == ".csv":
        X = read_numeric_csv(p)
    else:
        raise ValueError(f"{path}: INPUT must be a .npy or .csv file")
    if X.ndim == 1:
        X = X.reshape(1, -1)
    return X
