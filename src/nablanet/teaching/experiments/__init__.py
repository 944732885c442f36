"""The seeds' claims about backpropagation, as experiments you can run, check and look at.

Each module has ``run(...)`` returning a dataclass with the measured data,
``summary(result)`` with the numbers as text and ``plot(result, path)`` writing a
PNG (matplotlib, imported only there). Every run is seeded and reproducible. The
data is Fashion-MNIST when it is installed and the bundled 8×8 digits otherwise;
each result says which (``result.note``).

    speed        backprop ≈ 2 forward passes; the numerical gradient (46) costs one per parameter
    saturation   ∂C/∂w = a_in δ_out: slow learning where a_in ≈ 0 or a sigmoid has saturated
    vanishing    ‖∂C/∂b^l‖ per layer: early sigmoid layers learn slowest; ReLU + He; exploding
    paths        ∂C/∂w as a sum over every path to the cost equals backprop
    costs        a saturated neuron: quadratic cost learns slowly, cross-entropy fast (BP1)
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("speed", "saturation", "vanishing", "paths", "costs")

__all__ = ["NAMES", "get"]


def get(name: str) -> ModuleType:
    """The experiment module called ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}")
