"""What the page may send, checked field by field before anything changes.

Client → server messages are JSON objects with a ``type``:

    {"type": "config", "config": {...some fields of CONFIG...}}   change settings
    {"type": "play"} | {"type": "pause"} | {"type": "step"} | {"type": "reset"}
    {"type": "ack", "seq": n}                      frame n has been drawn (flow control)
    {"type": "select", "set": "train"|"test", "index": i} | {"type": "select", "set": null}
    {"type": "upload", "csv": "x1,x2,label\\n..."}  use these points (dataset "csv")
    {"type": "gradcheck"} | {"type": "download"}
    {"type": "explain"}                            the chosen point's equations with its numbers

Anything else gets ``{"type": "error", "message": ...}`` and changes nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .. import initializers
from .data import CSV_MAX_BYTES, DATASETS, FEATURES

__all__ = ["DEFAULT_CONFIG", "ProtocolError", "parse_message", "merge_config", "LIMITS"]

MAX_MESSAGE_BYTES = 16 * 1024  # every message but an upload
MAX_UPLOAD_BYTES = CSV_MAX_BYTES + 1024  # an upload: the CSV and its envelope

HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "identity")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "identity")
COSTS = ("quadratic", "binary_cross_entropy")
REGULARIZATION = ("none", "l1", "l2")
LIMITS = {"layers": 8, "neurons": 10}

DEFAULT_CONFIG: dict[str, Any] = {
    "dataset": "xor",
    "noise": 0.0,
    "train_ratio": 0.5,
    "points": 400,
    "data_seed": 0,
    "features": ["x1", "x2"],
    "hidden": [4, 2],
    "activations": ["tanh", "tanh"],
    "output": "sigmoid",
    "cost": "quadratic",
    "init": "glorot",
    "seed": 0,
    "eta": 0.3,
    "batch_size": 10,
    "regularization": "none",
    "lmbda": 0.0,
    "grid": 64,
}
# Fields whose change makes new data, or a new network; the others apply as training runs.
DATA_FIELDS = ("dataset", "noise", "train_ratio", "points", "data_seed")
NETWORK_FIELDS = ("features", "hidden", "activations", "output", "cost", "init", "seed")


class ProtocolError(ValueError):
    """A message the server refuses; the text says which field and why."""


def _number(name: str, lo: float, hi: float):
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ProtocolError(f"{name} must be a number, got {v!r}")
        if not lo <= v <= hi:
            raise ProtocolError(f"{name} must lie in [{lo:g}, {hi:g}], got {v!r}")
        return float(v)

    return check


def _integer(name: str, lo: int, hi: int):
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ProtocolError(f"{name} must be an integer, got {v!r}")
        if not lo <= v <= hi:
            raise ProtocolError(f"{name} must lie in [{lo}, {hi}], got {v!r}")
        return int(v)

    return check


def _choice(name: str, options):
    def check(v: Any) -> str:
        if not isinstance(v, str) or v not in options:
            raise ProtocolError(f"{name} must be one of {', '.join(options)}, got {v!r}")
        return v

    return check


def _features(v: Any) -> list[str]:
    if not isinstance(v, list) or not v or len(v) > len(FEATURES):
        raise ProtocolError(f"features must be a non-empty list of {', '.join(FEATURES)}")
    for f in v:
        _choice("a feature", tuple(FEATURES))(f)
    if len(set(v)) != len(v):
        raise ProtocolError("features must not repeat")
    return [f for f in FEATURES if f in v]  # the canonical order


def _hidden(v: Any) -> list[int]:
    if not isinstance(v, list) or len(v) > LIMITS["layers"]:
        raise ProtocolError(f"hidden must be a list of at most {LIMITS['layers']} layer sizes")
    return [_integer(f"hidden[{i}]", 1, LIMITS["neurons"])(n) for i, n in enumerate(v)]


def _activations(v: Any) -> list[str]:
    if not isinstance(v, list) or len(v) > LIMITS["layers"]:
        raise ProtocolError(f"activations must be a list of at most {LIMITS['layers']} names")
    return [_choice(f"activations[{i}]", HIDDEN_ACTIVATIONS)(a) for i, a in enumerate(v)]


FIELDS = {
    "dataset": _choice("dataset", DATASETS),
    "noise": _number("noise", 0.0, 1.0),
    "train_ratio": _number("train_ratio", 0.1, 0.9),
    "points": _integer("points", 20, 2000),
    "data_seed": _integer("data_seed", 0, 2**31 - 1),
    "features": _features,
    "hidden": _hidden,
    "activations": _activations,
    "output": _choice("output", OUTPUT_ACTIVATIONS),
    "cost": _choice("cost", COSTS),
    "init": _choice("init", tuple(initializers.names())),
    "seed": _integer("seed", 0, 2**31 - 1),
    "eta": _number("eta", 1e-6, 10.0),
    "batch_size": _integer("batch_size", 1, 500),
    "regularization": _choice("regularization", REGULARIZATION),
    "lmbda": _number("lmbda", 0.0, 10.0),
    "grid": _integer("grid", 8, 128),
}
assert set(FIELDS) == set(DEFAULT_CONFIG)


def merge_config(base: dict, changes: Any) -> dict:
    """``base`` with ``changes`` applied, every field checked; a new dict."""
    if not isinstance(changes, dict):
        raise ProtocolError("config must be an object")
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ProtocolError(f"unknown config field {unknown[0]!r}")
    new = dict(base)
    for key, value in changes.items():
        new[key] = FIELDS[key](value)
    if len(new["activations"]) != len(new["hidden"]):
        raise ProtocolError(
            f"activations names {len(new['activations'])} layers but hidden has {len(new['hidden'])}"
        )
    if new["cost"] == "binary_cross_entropy" and new["output"] != "sigmoid":
        raise ProtocolError("the binary_cross_entropy cost needs the sigmoid output")
    return new


def _seq(v: Any) -> int:
    return _integer("seq", 0, 2**53)(v)


def parse_message(text: Any) -> dict:
    """A checked client message as a dict, or ProtocolError."""
    if not isinstance(text, str):
        raise ProtocolError("messages must be JSON text, not binary")
    if len(text) > MAX_UPLOAD_BYTES:
        raise ProtocolError(f"message too large ({len(text)} bytes)")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"not JSON: {e}") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolError('a message must be an object with a "type"')
    kind = msg["type"]
    if kind != "upload" and len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message too large ({len(text)} bytes; {MAX_MESSAGE_BYTES} at most)")
    allowed = _SHAPES.get(kind)
    if allowed is None:
        raise ProtocolError(f"unknown message type {kind!r}")
    extra = sorted(set(msg) - {"type", *allowed})
    if extra:
        raise ProtocolError(f"unexpected field {extra[0]!r} in a {kind} message")
    missing = [k for k in allowed if k not in msg]
    if missing:
        raise ProtocolError(f"a {kind} message needs {missing[0]!r}")
    if kind == "ack":
        msg["seq"] = _seq(msg["seq"])
    elif kind == "select":
        if msg["set"] is not None:
            _choice("set", ("train", "test"))(msg["set"])
            msg["index"] = _integer("index", 0, 10**6)(msg["index"])
    elif kind == "upload":
        if not isinstance(msg["csv"], str):
            raise ProtocolError("csv must be text")
    elif kind == "config" and not isinstance(msg["config"], dict):
        raise ProtocolError("config must be an object")
    return msg


_SHAPES = {
    "config": ("config",),
    "play": (),
    "pause": (),
    "step": (),
    "reset": (),
    "ack": ("seq",),
    "select": ("set", "index"),
    "upload": ("csv",),
    "gradcheck": (),
    "download": (),
    "explain": (),
}
