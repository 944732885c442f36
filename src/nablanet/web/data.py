"""The playground's 2-D data: five generated datasets, an uploaded CSV, and the input features.

Every point lies in the square [−6, 6]² and has a label 0 or 1. The network never
sees the raw coordinates: it sees features of them, each scaled into about
[−1, 1] so that no input saturates a sigmoid before training starts:

    x1 → x₁/6     x2 → x₂/6     x1^2 → (x₁/6)²     x2^2 → (x₂/6)²
    x1x2 → x₁x₂/36     sin1 → sin x₁     sin2 → sin x₂

NumPy only: the generated Python code of a download imports this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

__all__ = ["DATASETS", "FEATURES", "EXTENT", "make", "parse_csv", "features", "grid", "split"]

EXTENT = 6.0  # the data square is [−EXTENT, EXTENT]²
DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "csv")
FEATURES = {
    "x1": ("x₁", lambda x1, x2: x1 / EXTENT),
    "x2": ("x₂", lambda x1, x2: x2 / EXTENT),
    "x1^2": ("x₁²", lambda x1, x2: (x1 / EXTENT) ** 2),
    "x2^2": ("x₂²", lambda x1, x2: (x2 / EXTENT) ** 2),
    "x1x2": ("x₁x₂", lambda x1, x2: x1 * x2 / EXTENT**2),
    "sin1": ("sin x₁", lambda x1, x2: np.sin(x1)),
    "sin2": ("sin x₂", lambda x1, x2: np.sin(x2)),
}
CSV_MAX_BYTES = 512 * 1024
CSV_MAX_ROWS = 5000


def make(name: str, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of a generated dataset: P of shape (n, 2) in [−6, 6]², labels of shape (n,).

    ``noise`` (0 to 1) is the standard deviation of the Gaussian jitter added to
    each coordinate, in units of 1.5 (so noise 1 blurs the classes into each other).
    """
    if name not in _GENERATORS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(_GENERATORS)}")
    n0 = n // 2
    labels = np.concatenate([np.zeros(n0, np.intp), np.ones(n - n0, np.intp)])
    P = _GENERATORS[name](labels, rng)
    P = P + rng.normal(0.0, 1.5 * noise, P.shape)
    order = rng.permutation(n)
    return np.clip(P[order], -EXTENT, EXTENT), labels[order]


def _circle(labels, rng):
    # Class 1: a disc of radius 2 at the centre; class 0: a ring from 3.5 to 5.
    r = np.where(
        labels == 1, 2.0 * np.sqrt(rng.uniform(0, 1, labels.size)), rng.uniform(3.5, 5.0, labels.size)
    )
    t = rng.uniform(0, 2 * np.pi, labels.size)
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


def _xor(labels, rng):
    # Class 1 where x₁ and x₂ have the same sign; a 0.3 margin keeps the quadrants apart.
    mag = rng.uniform(0.3, 5.5, (labels.size, 2))
    s1 = rng.choice([-1.0, 1.0], labels.size)
    s2 = np.where(labels == 1, s1, -s1)
    return mag * np.column_stack([s1, s2])


def _gauss(labels, rng):
    centre = np.where(labels[:, None] == 1, 2.5, -2.5)
    return centre + rng.normal(0.0, 1.0, (labels.size, 2))


def _spiral(labels, rng):
    # Two arms of r = 5t, turned 1.75 revolutions over t ∈ [0, 1], half a turn apart.
    t = rng.uniform(0.05, 1.0, labels.size)
    angle = 3.5 * np.pi * t + np.pi * labels
    return 5.0 * t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def _moons(labels, rng):
    # Two interleaved half circles of radius 1, shifted to the middle and scaled by 3.2.
    t = rng.uniform(0, np.pi, labels.size)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)])
    P = np.where(labels[:, None] == 0, upper, lower)
    return 3.2 * (P - [0.5, 0.25])


_GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "moons": _moons}


def parse_csv(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Points from CSV text with columns x1, x2, label (an optional header line).

    Labels are 0/1 (or −1/1, read as 0/1). The points are scaled by one common
    factor so that the largest coordinate is 5.5: the shape is kept, the square
    is filled. Raises ValueError naming the line for anything else.
    """
    if len(text.encode("utf-8")) > CSV_MAX_BYTES:
        raise ValueError(f"the CSV is larger than {CSV_MAX_BYTES // 1024} KB")
    rows = []
    for i, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise ValueError(f"CSV line {i}: expected 3 columns (x1, x2, label), got {len(row)}")
        try:
            values = [float(c) for c in row]
        except ValueError:
            if not rows and i == 1:  # a header line
                continue
            raise ValueError(f"CSV line {i}: {row!r} is not three numbers") from None
        if not all(np.isfinite(values)):
            raise ValueError(f"CSV line {i}: values must be finite")
        if values[2] not in (-1.0, 0.0, 1.0):
            raise ValueError(f"CSV line {i}: the label must be 0 or 1 (or −1 and 1), got {row[2].strip()}")
        rows.append(values)
        if len(rows) > CSV_MAX_ROWS:
            raise ValueError(f"the CSV has more than {CSV_MAX_ROWS} rows")
    if len(rows) < 4:
        raise ValueError(f"the CSV needs at least 4 points, got {len(rows)}")
    A = np.asarray(rows)
    labels = (A[:, 2] > 0).astype(np.intp)
    if labels.min() == labels.max():
        raise ValueError("the CSV has points of one class only; it needs both labels")
    P = A[:, :2]
    span = np.abs(P).max()
    return (P * (5.5 / span) if span > 0 else P), labels


def split(
    P: np.ndarray, labels: np.ndarray, train_ratio: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first ``train_ratio`` of the (already shuffled) points for training, the rest for testing."""
    k = min(max(1, int(round(train_ratio * len(P)))), len(P) - 1)
    return P[:k], labels[:k], P[k:], labels[k:]


def features(P: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The chosen features of points P (n, 2), as rows (n, len(names)) in float64."""
    unknown = [f for f in names if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature {unknown[0]!r}; choose from {', '.join(FEATURES)}")
    x1, x2 = P[:, 0], P[:, 1]
    return np.column_stack([FEATURES[f][1](x1, x2) for f in names]).astype(np.float64)


def grid(g: int) -> np.ndarray:
    """The centres of a g × g grid over the square, as points (g², 2), row by row from the top."""
    c = (np.arange(g) + 0.5) / g * 2 * EXTENT - EXTENT
    x1, x2 = np.meshgrid(c, c[::-1])  # the first row is the top of the picture: x₂ largest
    return np.column_stack([x1.ravel(), x2.ravel()])
