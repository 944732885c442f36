"""What the experiments share: their data, JSON-ready results and figures."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ... import datasets
from ...network import as_rng
from ...viz import plots

DATASETS = ("auto", "fashion-mnist", "digits", "mnist")


@dataclass(frozen=True)
class Data:
    """A training subset for an experiment, with a line saying where it came from."""

    name: str
    X: np.ndarray  # (n, n_0), rows = examples, in [0, 1]
    y: np.ndarray  # (n,) integer labels
    n_classes: int
    note: str


def load_data(dataset: str = "auto", n_train: int | None = None, seed: int | None = 0) -> Data:
    """Fashion-MNIST when it is installed (``"auto"``), else the bundled digits; a seeded subset.

    Nothing is downloaded: ``"auto"`` falls back to digits rather than fetch a file.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if n_train is not None and (isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer))):
        raise ValueError(f"n_train must be an integer, got {n_train!r}")
    if n_train is not None and n_train < 1:
        raise ValueError(f"n_train must be ≥ 1, got {n_train}")
    note = ""
    if dataset == "auto":
        try:
            data = datasets.load("fashion-mnist", download=False)
        except datasets.DatasetError:
            data = datasets.load("digits")
            note = "Fashion-MNIST is not installed, so the bundled 8×8 digits are used instead"
    else:
        data = datasets.load(dataset, download=False)
    X, y = data.X_train, data.y_train
    n = X.shape[0] if n_train is None else min(n_train, X.shape[0])
    idx = np.sort(as_rng(seed).permutation(X.shape[0])[:n])
    note = f"{note}; " if note else ""
    note += f"{data.name}: {n} of its {X.shape[0]} training examples"
    if X.shape[1] != 784:
        note += f"; the seeds' 784 inputs become its {X.shape[1]}"
    return Data(data.name, X[idx], y[idx], int(data.n_classes), note)


def sizes_for(hidden: list[int], data: Data) -> list[int]:
    """[n_0, *hidden, n_classes]: the seeds' 784 inputs become the data's own input size."""
    return [data.X.shape[1], *hidden, data.n_classes]


def jsonable(obj: Any) -> Any:
    """Dataclasses, NumPy arrays and scalars as plain JSON values (NaN and inf as None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def figure(n_panels: int, ncols: int = 2, panel: tuple[float, float] = (5.0, 3.6)):
    """``nablanet.viz.plots.figure`` with the experiments' larger panels."""
    return plots.figure(n_panels, ncols, panel)


def save_png(fig, path: str | os.PathLike) -> Path:
    """Write the figure atomically (``nablanet.viz.plots.save``); PNG, or SVG for a .svg name."""
    return plots.save(fig, path)


def check_plot_path(path: str | os.PathLike) -> Path:
    """Fail before an experiment runs, not after, when its plot could not be written."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"cannot save a plot as {path.name!r}: the name must end in .png or .svg")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist")
    return path
