"""Model files: ``save(net, path)`` and ``load(path)``, safe to open from anyone.

A model file is a nablanet container (``nablanet.io.container``) of kind "model":
the JSON header describes the network (sizes, activations, cost, init, dtype),
its training history and hyperparameters; the arrays are W1 … WL and b1 … bL.
Whatever is wrong with a file, the caller sees one ``ModelFileError``: the
container checks the bytes, ``check_header`` every field a reader uses, and the
parameter count is capped before a network is allocated.
"""

from __future__ import annotations

import inspect
import json
import math
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
from .container import FORMAT, FORMAT_VERSION, MODEL_DTYPES, payload_digest, read_container, write_container
from .npz import limit

__all__ = [
    "save",
    "load",
    "load_model",
    "read_header",
    "check_header",
    "network_spec",
    "network_from_spec",
    "weight_arrays",
    "payload_digest",
    "read_container",
    "MAX_PARAMS",
]


MAX_PARAMS = 100_000_000  # 400 MB in float32: far above the book's networks, far below a bomb
MAX_LAYERS = 1000
_NUMBER = (int, float)


def network_spec(net: Network) -> dict:
    """The JSON description of a network's architecture (everything but the weights)."""
    spec = {
        "sizes": list(net.sizes),
        "activations": [_object_spec(a, _activations.Activation) for a in net.activations],
        "cost": _object_spec(net.cost, _costs.Cost),
        "init": net.init,
        "dtype": net.dtype.name,
    }
    if net.classes is not None:
        spec["classes"] = list(net.classes)
    return spec


def _object_spec(obj: Any, base: type) -> dict:
    registry = _activations if base is _activations.Activation else _costs
    if obj.name not in registry.names() or type(registry.get(obj.name)) is not type(obj):
        raise ValueError(f"cannot save {obj!r}: only the built-in {base.__name__.lower()}s can be saved")
    return {"name": obj.name, **vars(obj)}


def n_params(sizes: list[int]) -> int:
    """Σ_l n_l (n_{l−1} + 1): the weights and biases of a network of these sizes."""
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def check_spec(spec: Any, max_params: int | None = None) -> list[int]:
    """The sizes of a network description, after checking every field's type (ValueError).

    Nothing is allocated: the parameter count is worked out from the sizes and
    capped (``max_params``, else ``$NABLANET_MAX_PARAMS``, else 10^8) first.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"the network description is {type(spec).__name__}, not an object")
    sizes = _check_sizes(spec.get("sizes"), int(limit("MAX_PARAMS", max_params, MAX_PARAMS)))
    acts = spec.get("activations")
    if not isinstance(acts, list) or len(acts) != len(sizes) - 1:
        raise ValueError(
            f"activations must be a list of {len(sizes) - 1} layer descriptions, got {_short(acts)}"
        )
    for layer in acts:  # built once to check them: small objects, no side effects
        _build(_activations, layer)
    _build(_costs, spec.get("cost"))
    for field in ("init", "dtype"):
        if not isinstance(spec.get(field), str):
            raise ValueError(f"{field} must be a string, got {_short(spec.get(field))}")
    if spec["dtype"] not in MODEL_DTYPES:
        raise ValueError(f"dtype {spec['dtype']!r} is not one of {MODEL_DTYPES}")
    classes = spec.get("classes")
    if classes is not None and not (
        isinstance(classes, list) and all(type(c) in (str, int) for c in classes)
    ):
        raise ValueError(f"classes must be a list of names, got {_short(classes)}")
    return sizes


def _check_sizes(sizes: Any, cap: int) -> list[int]:
    if not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_LAYERS + 1:
        raise ValueError(f"sizes must be a list of 2 to {MAX_LAYERS + 1} layer sizes, got {_short(sizes)}")
    if not all(type(n) is int and n >= 1 for n in sizes):  # type(): True and 5.0 are not sizes
        raise ValueError(f"sizes must be whole numbers ≥ 1, got {_short(sizes)}")
    if n_params(sizes) > cap:
        raise ValueError(
            f"sizes {_short(sizes)} mean {n_params(sizes):,} parameters, over the cap of {cap:,} "
            "(raise it with max_params= or $NABLANET_MAX_PARAMS)"
        )
    return sizes


def _short(value: Any, limit_chars: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit_chars else text[: limit_chars - 1] + "…"


def network_from_spec(spec: Any, source: str | os.PathLike = "", max_params: int | None = None) -> Network:
    """A Network with the described architecture and every parameter 0 (to be filled in).

    The description is checked field by field, and the parameter count against the
    cap, before anything is allocated; any fault is a ModelFileError.
    """
    try:
        check_spec(spec, max_params)
        acts = [_build(_activations, s) for s in spec["activations"]]
        cost = _build(_costs, spec["cost"])
        net = Network(
            spec["sizes"], acts[:-1], acts[-1], cost, None, spec["dtype"], classes=spec.get("classes")
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"{source}: the network description is invalid ({e})") from None
    net.init = spec["init"]
    return net


def _build(registry, spec: Any):
    """An activation or cost from {"name": ..., params}, each parameter of its default's type."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(f"bad layer description {_short(spec)}")
    cls = type(registry.get(spec["name"]))
    defaults = inspect.signature(cls).parameters
    params = {k: v for k, v in spec.items() if k != "name"}
    for k, v in params.items():
        if k not in defaults:
            raise ValueError(f"{spec['name']} takes no parameter {k!r}")
        wanted = type(defaults[k].default)
        ok = type(v) is bool if wanted is bool else type(v) in _NUMBER and math.isfinite(v)
        if not ok:
            raise ValueError(f"bad parameters in {_short(spec)}: {k} should be a {wanted.__name__}")
    return cls(**params)


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


def load_model(path: str | os.PathLike, *, max_params: int | None = None) -> tuple[Network, dict]:
    """The network in a model file and its header (history, hyperparameters, versions).

    ``max_params`` caps the parameter count (default ``$NABLANET_MAX_PARAMS`` or 10^8).
    """
    header, arrays = read_container(path)
    if header.get("kind") != "model":
        raise ModelFileError(f"{path}: this is a {_short(header.get('kind'))} file, not a model")
    check_header(header, path, max_params)
    net = network_from_spec(header["network"], path, max_params)
    check_weights(net, arrays, path)
    net.W = [arrays[f"W{l}"] for l in range(1, net.L + 1)]  # copied into the network's buffer
    net.b = [arrays[f"b{l}"] for l in range(1, net.L + 1)]
    return net, header


def load(path: str | os.PathLike, *, max_params: int | None = None) -> Network:
    """The network saved in ``path``; raises ModelFileError if the file is not intact."""
    return load_model(path, max_params=max_params)[0]


def read_header(path: str | os.PathLike, *, max_params: int | None = None) -> dict:
    """A model or checkpoint file's header, after the whole file and every field used here
    (the network, the history, the position of a checkpoint) have been checked."""
    header, arrays = read_container(path)
    check_header(header, path, max_params)
    return header


# -- what every header must hold ----------------------------------------------------------------

_SERIES = ("cost", "accuracy", "val_cost", "val_accuracy", "seconds", "eta")


def check_header(header: dict, source: str | os.PathLike, max_params: int | None = None) -> None:
    """Every field a reader uses has the right type; ModelFileError naming the first that has not.

    The SHA-256 only shows that the file is as it was written, and anyone can
    write one: these checks are what make a crafted header harmless.
    """
    try:
        _check_fields(header, max_params)
    except ValueError as e:
        raise ModelFileError(f"{source}: {e}") from None
    expected = _expected_shapes(header["network"]["sizes"], header["network"]["dtype"])
    for name, (dtype, shape) in expected.items():
        spec = header["arrays"].get(name)
        if spec is None or spec["dtype"] != dtype or spec["shape"] != shape:
            got = "missing" if spec is None else f"{spec['dtype']} {tuple(spec['shape'])}"
            raise ModelFileError(f"{source}: {name} should be {dtype} {tuple(shape)}, is {got}")


def _check_fields(header: dict, max_params: int | None) -> None:
    if header.get("kind") not in ("model", "checkpoint"):
        raise ValueError(f"kind {_short(header.get('kind'))} is neither 'model' nor 'checkpoint'")
    if not isinstance(header.get("library_version", ""), str):
        raise ValueError("library_version is not a string")
    try:
        check_spec(header["network"], max_params)
    except ValueError as e:
        raise ValueError(f"the network description is invalid ({e})") from None
    for field in ("history", "hyperparameters"):
        if not isinstance(header.get(field) or {}, dict):
            raise ValueError(f"{field} is {type(header[field]).__name__}, not an object")
    for key in _SERIES:
        series = (header.get("history") or {}).get(key, [])
        if not isinstance(series, list) or not all(v is None or type(v) in _NUMBER for v in series):
            raise ValueError(f"history[{key!r}] is not a list of numbers")
    run = header.get("run")
    if header["kind"] == "checkpoint" or run is not None:  # info prints a run wherever it is
        if not isinstance(run, dict):
            raise ValueError("a checkpoint without its run state")
        for key in ("epoch", "batch", "epochs"):
            if type(run.get(key)) is not int or run[key] < 0:
                raise ValueError(f"run[{key!r}] is {_short(run.get(key))}, not a whole number ≥ 0")


def _expected_shapes(sizes: list[int], dtype: str) -> dict[str, tuple[str, list[int]]]:
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return {
        **{f"W{l}": (dtype, [n_out, n_in]) for l, (n_in, n_out) in enumerate(pairs, start=1)},
        **{f"b{l}": (dtype, [n_out]) for l, (_, n_out) in enumerate(pairs, start=1)},
    }
