"""Model files: ``save(net, path)`` and ``load(path)``, safe to open from anyone.

A model file is a nablanet container (``nablanet.io.container``) of kind "model":
the JSON header describes the network (sizes, activations, cost, init, dtype),
its training history and hyperparameters; the arrays are W1 … WL and b1 … bL.
Whatever is wrong with a file, the caller sees one ``ModelFileError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import activations as _activations
from .. import costs as _costs
from .._version import __version__
from ..errors import ModelFileError
from ..network import Network
from .container import FORMAT, FORMAT_VERSION, MODEL_DTYPES, read_container, write_container

__all__ = ["save", "load", "load_model", "read_header", "network_spec", "network_from_spec", "weight_arrays"]


def network_spec(net: Network) -> dict:
    """The JSON description of a network's architecture (everything but the weights)."""
    return {
        "sizes": list(net.sizes),
        "activations": [_object_spec(a, _activations.Activation) for a in net.activations],
        "cost": _object_spec(net.cost, _costs.Cost),
        "init": net.init,
        "dtype": net.dtype.name,
    }


def _object_spec(obj: Any, base: type) -> dict:
    registry = _activations if base is _activations.Activation else _costs
    if obj.name not in registry.names() or type(registry.get(obj.name)) is not type(obj):
        raise ValueError(f"cannot save {obj!r}: only the built-in {base.__name__.lower()}s can be saved")
    return {"name": obj.name, **vars(obj)}


def network_from_spec(spec: Mapping, source: str | os.PathLike = "") -> Network:
    """A Network with the described architecture (its weights still to be filled in)."""
    try:
        sizes = spec["sizes"]
        acts = [_build(_activations, s) for s in spec["activations"]]
        cost = _build(_costs, spec["cost"])
        if spec["dtype"] not in MODEL_DTYPES or not isinstance(spec["init"], str):
            raise ValueError(f"dtype {spec['dtype']!r} or init {spec['init']!r} is not valid")
        net = Network(sizes, acts[:-1], acts[-1], cost, "standard", spec["dtype"], seed=0)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"{source}: the network description is invalid ({e})") from None
    net.init = spec["init"]
    return net


def _build(registry, spec: Any):
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(f"bad layer description {spec!r}")
    params = {k: v for k, v in spec.items() if k != "name"}
    if not all(isinstance(v, (int, float, bool)) for v in params.values()):
        raise ValueError(f"bad parameters in {spec!r}")
    return type(registry.get(spec["name"]))(**params)


def weight_arrays(net: Network) -> dict[str, np.ndarray]:
    """{"W1": W^1, …, "b1": b^1, …}: the names the file uses for the parameters."""
    return {
        **{f"W{l}": W for l, W in enumerate(net.W, start=1)},
        **{f"b{l}": b for l, b in enumerate(net.b, start=1)},
    }


def check_weights(net: Network, arrays: Mapping[str, np.ndarray], source: str | os.PathLike) -> None:
    """Every W^l and b^l present, with the network's shapes and dtype."""
    for name, target in weight_arrays(net).items():
        a = arrays.get(name)
        if a is None or a.shape != target.shape or a.dtype != target.dtype:
            got = "missing" if a is None else f"{a.dtype} {a.shape}"
            raise ModelFileError(f"{source}: {name} should be {target.dtype} {target.shape}, is {got}")


# -- models ----------------------------------------------------------------------------------


def save(
    net: Network,
    path: str | os.PathLike,
    history: Any = None,
    hyperparameters: Mapping | None = None,
) -> Path:
    """Save ``net`` (and optionally its ``History`` and hyperparameters) to ``path``.

    Parameters
    ----------
    net : Network
    path : path
        Conventionally ``*.npz``; written atomically.
    history : History or dict, optional
    hyperparameters : dict, optional
        JSON-serialisable settings of the run (eta, epochs, …).

    Returns
    -------
    Path
    """
    history = history.to_dict() if hasattr(history, "to_dict") else history
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": "model",
        "library_version": __version__,
        "network": network_spec(net),
        "history": history,
        "hyperparameters": dict(hyperparameters or {}),
    }
    _check_json(header)
    write_container(path, header, weight_arrays(net))
    return Path(path)


def _check_json(header: dict) -> None:
    try:
        json.dumps(header)
    except (TypeError, ValueError) as e:
        raise ValueError(f"cannot save: history or hyperparameters are not JSON-serialisable ({e})") from None


def load_model(path: str | os.PathLike) -> tuple[Network, dict]:
    """The network in a model file and its header (history, hyperparameters, versions)."""
    header, arrays = read_container(path)
    if header.get("kind") != "model":
        raise ModelFileError(f"{path}: this is a {header.get('kind')!r} file, not a model")
    net = network_from_spec(header["network"], path)
    check_weights(net, arrays, path)
    net.W = [arrays[f"W{l}"] for l in range(1, net.L + 1)]
    net.b = [arrays[f"b{l}"] for l in range(1, net.L + 1)]
    return net, header


def load(path: str | os.PathLike) -> Network:
    """The network saved in ``path``; raises ModelFileError if the file is not intact."""
    return load_model(path)[0]


def read_header(path: str | os.PathLike) -> dict:
    """A model or checkpoint file's header, after the whole file has been verified."""
    return read_container(path)[0]
