"""The live view's memory: the training runs reported to the server, and who is watching.

A run reports events (``nablanet.web.live.LiveCallback`` posts them):

    {"run": id, "event": "begin", "name": ..., "info": {...}}            sizes, epochs, η, …
    {"run": id, "event": "epoch", "epoch": k, "cost": ..., "accuracy": ..., "val_cost": ...,
     "val_accuracy": ..., "eta": ..., "seconds": ...}
    {"run": id, "event": "batch", "epoch": k, "batch": j, "cost": ...}   every N mini-batches
    {"run": id, "event": "health", "epoch": k, "layers": [{layer, grad_w_norm, ...}, ...]}
    {"run": id, "event": "warning", "text": ...}
    {"run": id, "event": "end", "epochs": k, "stopped": bool}

Each is checked field by field; the store keeps at most ``MAX_RUNS`` runs (the
oldest finished one goes first) and ``MAX_POINTS`` events of each kind per run.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from typing import Any

from .protocol import ProtocolError

__all__ = ["LiveStore", "check_event", "MAX_RUNS", "MAX_POINTS", "MAX_EVENT_BYTES"]

MAX_RUNS = 16
MAX_POINTS = 20_000
MAX_EVENT_BYTES = 64 * 1024
_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HEALTH_KEYS = ("grad_w_norm", "grad_b_norm", "update_ratio", "saturated", "dead")
_EPOCH_KEYS = ("cost", "accuracy", "val_cost", "val_accuracy", "eta", "seconds")


def _num(v: Any, name: str, optional: bool = True) -> float | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ProtocolError(f"{name} must be a finite number{' or null' if optional else ''}, got {v!r}")
    return float(v)


def _int(v: Any, name: str, hi: int = 10**9) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
        raise ProtocolError(f"{name} must be an integer in [0, {hi}], got {v!r}")
    return v


def _text(v: Any, name: str, limit: int) -> str:
    if not isinstance(v, str) or len(v) > limit:
        raise ProtocolError(f"{name} must be text of at most {limit} characters")
    return v


def check_event(ev: Any) -> dict:
    """A checked, normalised copy of one event, or ProtocolError."""
    if not isinstance(ev, dict):
        raise ProtocolError("an event must be a JSON object")
    run = ev.get("run")
    if not isinstance(run, str) or not _RUN_ID.match(run):
        raise ProtocolError("run must be an id of 1-64 letters, digits, '.', '_' or '-'")
    kind = ev.get("event")
    out: dict[str, Any] = {"run": run, "event": kind}
    if kind == "begin":
        out["name"] = _text(ev.get("name", run), "name", 200)
        info = ev.get("info", {})
        if not isinstance(info, dict) or len(info) > 32:
            raise ProtocolError("info must be an object of at most 32 fields")
        clean = {}
        for k, v in info.items():
            _text(k, "an info key", 64)
            if isinstance(v, list):
                if len(v) > 64 or not all(
                    isinstance(x, (int, float, str)) and not isinstance(x, bool) for x in v
                ):
                    raise ProtocolError(f"info {k!r} must be a short list of numbers or names")
                clean[k] = [x if not isinstance(x, str) else x[:64] for x in v]
            elif v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v)):
                clean[k] = v[:200] if isinstance(v, str) else v
            else:
                raise ProtocolError(f"info {k!r} must be a number, text, or a list of them")
        out["info"] = clean
    elif kind == "epoch":
        out["epoch"] = _int(ev.get("epoch"), "epoch")
        for k in _EPOCH_KEYS:
            out[k] = _num(ev.get(k), k)
    elif kind == "batch":
        out["epoch"] = _int(ev.get("epoch"), "epoch")
        out["batch"] = _int(ev.get("batch"), "batch")
        out["cost"] = _num(ev.get("cost"), "cost")
    elif kind == "health":
        out["epoch"] = _int(ev.get("epoch"), "epoch")
        layers = ev.get("layers")
        if not isinstance(layers, list) or not 1 <= len(layers) <= 64:
            raise ProtocolError("layers must be a list of 1-64 objects")
        out["layers"] = []
        for i, d in enumerate(layers):
            if not isinstance(d, dict):
                raise ProtocolError(f"layers[{i}] must be an object")
            row = {"layer": _int(d.get("layer"), f"layers[{i}].layer", 64)}
            row.update({k: _num(d.get(k), f"layers[{i}].{k}") for k in _HEALTH_KEYS})
            row["activation"] = _text(d.get("activation", ""), f"layers[{i}].activation", 32)
            row["vanishing"] = bool(d.get("vanishing", False))
            row["exploding"] = bool(d.get("exploding", False))
            out["layers"].append(row)
    elif kind == "warning":
        out["text"] = _text(ev.get("text"), "text", 1000)
    elif kind == "end":
        out["epochs"] = _int(ev.get("epochs"), "epochs")
        out["stopped"] = bool(ev.get("stopped", False))
        out["error"] = None if ev.get("error") is None else _text(ev.get("error"), "error", 1000)
    else:
        raise ProtocolError("event must be begin, epoch, batch, health, warning or end")
    return out


class LiveStore:
    """Runs by id, each a dict of what it reported; viewers get every new event."""

    def __init__(self):
        self.runs: OrderedDict[str, dict] = OrderedDict()
        self.viewers: set[asyncio.Queue] = set()

    def _run(self, run_id: str) -> dict:
        run = self.runs.get(run_id)
        if run is None:
            if len(self.runs) >= MAX_RUNS:
                victim = next((k for k, r in self.runs.items() if r["status"] != "running"), None)
                if victim is None:
                    raise ProtocolError(f"the server follows at most {MAX_RUNS} running runs")
                del self.runs[victim]
            run = {
                "run": run_id,
                "name": run_id,
                "info": {},
                "status": "running",
                "started": time.time(),
                "epochs": [],
                "batches": [],
                "health": [],
                "warnings": [],
                "end": None,
            }
            self.runs[run_id] = run
        return run

    def add(self, ev: dict) -> dict:
        """Record a checked event; returns it as viewers receive it."""
        run = self._run(ev["run"])
        kind = ev["event"]
        if kind == "begin":
            run["name"], run["info"], run["status"] = ev["name"], ev["info"], "running"
        elif kind in ("epoch", "batch", "health"):
            key = {"epoch": "epochs", "batch": "batches", "health": "health"}[kind]
            if len(run[key]) >= MAX_POINTS:
                del run[key][: MAX_POINTS // 10]  # keep the recent past
            run[key].append({k: v for k, v in ev.items() if k not in ("run", "event")})
        elif kind == "warning":
            if len(run["warnings"]) < 1000:
                run["warnings"].append(ev["text"])
        elif kind == "end":
            run["end"] = {k: ev[k] for k in ("epochs", "stopped", "error")}
            run["status"] = "failed" if ev["error"] else ("stopped" if ev["stopped"] else "finished")
        message = {"type": "event", **ev, "status": run["status"]}
        for q in list(self.viewers):
            try:
                q.put_nowait(message)
            except asyncio.QueueFull:  # a viewer that cannot keep up is dropped (it will reconnect)
                self.viewers.discard(q)
        return message

    def snapshot(self) -> dict:
        return {"type": "snapshot", "runs": list(self.runs.values())}
