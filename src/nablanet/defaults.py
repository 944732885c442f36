"""The one set of defaults, shared by ``Network``, ``fit``, the CLI and the estimators.

``DEFAULTS`` is a network and a training run that work out of the box: ReLU
hidden layers, softmax outputs with the cross-entropy cost, He initialisation
(so a wide ReLU network starts with z of order 1 and does not diverge), and SGD
with momentum. ``NIELSEN`` is the seeds' setup, one argument away, for the
experiments that reproduce the chapter: sigmoid neurons, the quadratic cost,
N(0, 1) weights and plain SGD with η = 3. docs/defaults.md tabulates both.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["DEFAULTS", "NIELSEN", "PRESETS", "preset"]

DEFAULTS = MappingProxyType(
    {
        "activation": "relu",
        "cost": "cross_entropy",
        "init": "he",
        "optimizer": "momentum",
        "eta": 0.05,
        "mu": 0.9,
        "batch_size": 32,
        "epochs": 30,
    }
)

NIELSEN = MappingProxyType(
    {
        "activation": "sigmoid",
        "cost": "quadratic",
        "init": "standard",
        "optimizer": "sgd",
        "eta": 3.0,
        "mu": 0.0,
        "batch_size": 10,
        "epochs": 30,
    }
)

PRESETS = MappingProxyType({"default": DEFAULTS, "nielsen": NIELSEN})


def preset(name: str) -> MappingProxyType:
    """The named set of defaults: ``"default"`` or ``"nielsen"`` (the seeds' network)."""
    if not isinstance(name, str) or name.lower() not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name.lower()]
