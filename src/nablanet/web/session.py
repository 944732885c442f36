"""One playground session: its data, its network, its training, and the frames the page draws.

The network is a ``nablanet.Network`` and it trains with ``nablanet.train.train_step``:
the page only draws what Python computed. A frame is one binary WebSocket message:

    uint32 (little-endian) n   the length of the JSON header
    n bytes                    the header: epoch, costs, ‖∂C/∂b^l‖, the selected point's trace, timings
    0–3 bytes                  padding to a multiple of 4
    float32 × n_params         W^1 … W^L (each row-major), then b^1 … b^L
    uint8 × Σ n_l × g²         one g × g heatmap per neuron, inputs first, the output last

A heatmap byte q stands for a value of the neuron over the data square: the output
and sigmoid units map [0, 1] → [0, 255]; tanh maps [−1, 1]; the unbounded ones
(ReLU, leaky ReLU, identity, and the input features) are scaled by their own
largest |a| on the grid so that q = 127.5 is always 0.

Regularisation is nablanet's own: ``train_step``'s L2 term (λ/n) w and its L1 term
(λ/n) sgn(w), for C = C₀ + (λ/2n) Σw² or C₀ + (λ/n) Σ|w|.
"""

from __future__ import annotations

import base64
import json
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from ..backprop import Workspace, backprop, forward
from ..io.model import save
from ..network import Network
from ..optimizers import SGD
from ..teaching.gradcheck import gradcheck
from ..teaching.trace import explain, trace
from ..train import train_step
from . import data
from .protocol import DATA_FIELDS, DEFAULT_CONFIG, NETWORK_FIELDS, ProtocolError, merge_config

__all__ = ["Session", "decode_frame", "TRAIN_BUDGET_S"]

TRAIN_BUDGET_S = 0.005  # training per frame: one epoch, or this long, whichever ends first
_BOUNDED = {"sigmoid": (255.0, 0.0), "tanh": (127.5, 127.5)}  # q = a·scale + shift


class Session:
    """The state behind one browser tab. Not thread-safe: the server holds a lock around it."""

    def __init__(self, config: dict | None = None):
        self.config = merge_config(DEFAULT_CONFIG, config or {})
        self.upload: tuple[np.ndarray, np.ndarray] | None = None
        self.playing = False
        self.version = 0  # bumped whenever the data or the network is rebuilt
        self.seq = 0  # frames built
        self.last_frame_ms = self.last_frame_cpu_ms = 0.0
        self._make_data()
        self._make_network()

    # -- building ---------------------------------------------------------------------

    def _make_data(self) -> None:
        c = self.config
        rng = np.random.default_rng(c["data_seed"])
        if c["dataset"] == "csv":
            if self.upload is None:
                raise ProtocolError("dataset csv: upload a CSV file first")
            P, labels = self.upload
            order = rng.permutation(len(P))
            P, labels = P[order], labels[order]
        else:
            P, labels = data.make(c["dataset"], c["points"], c["noise"], rng)
        self.P_train, self.l_train, self.P_test, self.l_test = data.split(P, labels, c["train_ratio"])

    def _make_network(self) -> None:
        c = self.config
        self.net = Network(
            [len(c["features"]), *c["hidden"], 1],
            activation=list(c["activations"]),
            output=c["output"],
            cost=c["cost"],
            init=c["init"],
            dtype=np.float64,
            seed=c["seed"],
        )
        self.x_train = np.ascontiguousarray(data.features(self.P_train, c["features"]).T)  # columns
        self.x_test = np.ascontiguousarray(data.features(self.P_test, c["features"]).T)
        self.y_train = self.l_train.astype(np.float64)[None, :]
        self.y_test = self.l_test.astype(np.float64)[None, :]
        self.optimizer = SGD(c["eta"])
        self.rng = np.random.default_rng(c["seed"] + 1)  # the shuffles
        self.epoch, self.pos, self.steps, self.order = 0, 0, 0, None
        self.curve: list[tuple[float, float, float]] = []
        self.selected: tuple[str, int] | None = None
        self._workspaces: dict[int, Workspace] = {}
        # The heatmaps need only 8 bits: a float32 twin computes them 3-4× faster.
        self.view_net = Network(
            self.net.sizes,
            activation=list(c["activations"]),
            output=c["output"],
            cost=c["cost"],
            dtype=np.float32,
        )
        self._make_grid()
        self.version += 1

    def _make_grid(self) -> None:
        g = self.config["grid"]
        self.grid_x = np.ascontiguousarray(data.features(data.grid(g), self.config["features"]).T, np.float32)
        m = np.maximum(np.abs(self.grid_x).max(axis=1, keepdims=True), 1e-12)
        self.input_maps = np.clip((self.grid_x / m + 1) * 127.5, 0, 255).astype(np.uint8)

    def configure(self, changes: dict) -> str:
        """Apply config changes; returns "data", "network" or "live": what had to be rebuilt."""
        new = merge_config(self.config, changes)
        if new["batch_size"] > self.x_train.shape[1] and not any(
            new[k] != self.config[k] for k in DATA_FIELDS
        ):
            raise ProtocolError(
                f"batch_size {new['batch_size']} exceeds the {self.x_train.shape[1]} training points"
            )
        old, self.config = self.config, new
        try:
            if any(new[k] != old[k] for k in DATA_FIELDS):
                self._make_data()
                self._make_network()
                return "data"
            if any(new[k] != old[k] for k in NETWORK_FIELDS):
                self._make_network()
                return "network"
        except Exception:  # put back the old data and network, whatever was half rebuilt
            self.config = old
            self._make_data()
            self._make_network()
            raise
        self.optimizer.eta = new["eta"]
        if new["grid"] != old["grid"]:
            self._make_grid()
            self.version += 1
        return "live"

    def use_csv(self, text: str) -> None:
        """Train on uploaded points (dataset "csv" from now on)."""
        try:
            points = data.parse_csv(text)
        except ValueError as e:
            raise ProtocolError(str(e)) from None
        self.upload = points
        self.config = {**self.config, "dataset": "csv"}
        self._make_data()
        self._make_network()

    def reset(self) -> None:
        """New initial weights (the same seed: the same start), epoch 0."""
        self._make_network()

    def select(self, which: str | None, index: int | None) -> None:
        if which is None:
            self.selected = None
            return
        n = len(self.P_train if which == "train" else self.P_test)
        if not 0 <= index < n:
            raise ProtocolError(f"index {index} is out of range: the {which} set has {n} points")
        self.selected = (which, index)

    # -- training ---------------------------------------------------------------------

    @property
    def n_train(self) -> int:
        return self.x_train.shape[1]

    def step(self) -> float:
        """One mini-batch of SGD (with the L1 or L2 term); returns its cost."""
        c, n = self.config, self.n_train
        if self.order is None:
            self.order, self.pos = self.rng.permutation(n), 0
        idx = self.order[self.pos : self.pos + c["batch_size"]]
        x, y = self.x_train[:, idx], self.y_train[:, idx]
        ws = self._workspaces.get(idx.size)
        if ws is None:
            ws = self._workspaces[idx.size] = Workspace(self.net.sizes, idx.size, self.net.dtype)
        l1_n = c["lmbda"] / n if c["regularization"] == "l1" else 0.0
        lmbda_n = c["lmbda"] / n if c["regularization"] == "l2" else 0.0
        cost = train_step(self.net, self.optimizer, x, y, lmbda_n, None, ws, l1_n=l1_n)
        self.steps += 1
        self.pos += idx.size
        if self.pos >= n:
            self.epoch, self.order, self.pos = self.epoch + 1, None, 0
        return cost

    def advance(self, budget_s: float = TRAIN_BUDGET_S) -> int:
        """Train until the current epoch ends or ``budget_s`` has passed; returns the steps taken."""
        start, k = time.perf_counter(), 0
        while True:
            epoch = self.epoch
            self.step()
            k += 1
            if self.epoch != epoch or time.perf_counter() - start >= budget_s:
                return k

    @property
    def epochs(self) -> float:
        return self.epoch + self.pos / self.n_train

    # -- what the page shows ------------------------------------------------------------

    def evaluate(self) -> dict:
        """Cost and accuracy on the training and test points."""
        out = {}
        for name, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            a = forward(self.net, x)[1][-1]
            out[f"{name}_cost"] = float(self.net.cost.fn(a, y))
            out[f"{name}_accuracy"] = float(np.mean((a >= 0.5) == (y >= 0.5)))
        return out

    def topology(self) -> dict:
        """The JSON message that tells the page what to draw: sizes, features, the points."""

        def points(P, labels):
            return [[round(float(p[0]), 4), round(float(p[1]), 4), int(k)] for p, k in zip(P, labels)]

        return {
            "type": "network",
            "version": self.version,
            "config": self.config,
            "sizes": self.net.sizes,
            "features": [data.FEATURES[f][0] for f in self.config["features"]],
            "activations": [act.name for act in self.net.activations],
            "n_params": int(self.net.n_params),
            "grid": self.config["grid"],
            "extent": data.EXTENT,
            "train": points(self.P_train, self.l_train),
            "test": points(self.P_test, self.l_test),
        }

    def heatmaps(self) -> np.ndarray:
        """Every neuron's value over the grid, quantised: (Σ n_l, g²) uint8, inputs first."""
        for twin, p in zip([*self.view_net.W, *self.view_net.b], [*self.net.W, *self.net.b]):
            twin[...] = p
        a = forward(self.view_net, self.grid_x)[1]
        sizes = self.net.sizes
        maps = np.empty((sum(sizes), self.grid_x.shape[1]), np.uint8)
        maps[: sizes[0]] = self.input_maps
        row = sizes[0]
        for l, act in enumerate(self.net.activations, start=1):
            A = a[l]
            if l == self.net.L:  # the output against the 0/1 targets: ½ is the decision boundary
                scale, shift = np.float32(255.0), np.float32(0.0)
            elif act.name in _BOUNDED:
                scale, shift = (np.float32(v) for v in _BOUNDED[act.name])
            else:
                scale = np.float32(127.5) / np.maximum(
                    np.abs(A).max(axis=1, keepdims=True), np.float32(1e-12)
                )
                shift = np.float32(127.5)
            q = A * scale
            q += shift
            np.clip(q, 0, 255, out=q)
            maps[row : row + sizes[l]] = q
            row += sizes[l]
        return maps

    def params(self) -> np.ndarray:
        return np.concatenate([*(W.ravel() for W in self.net.W), *self.net.b]).astype(np.float32)

    def _chosen(self) -> tuple[np.ndarray, float, np.ndarray]:
        which, i = self.selected
        P, labels = (self.P_train, self.l_train) if which == "train" else (self.P_test, self.l_test)
        return data.features(P[i : i + 1], self.config["features"])[0], float(labels[i]), P[i]

    def explain(self) -> dict:
        """``nablanet trace --explain`` for the chosen point: each equation in components, numbers in."""
        if self.selected is None:
            raise ProtocolError("choose a data point first")
        x, y, _ = self._chosen()
        return {"type": "explain", "text": explain(trace(self.net, x, y))}

    def trace(self) -> dict | None:
        """The selected point's forward and backward pass, from ``nablanet.teaching.trace``."""
        if self.selected is None:
            return None
        which, i = self.selected
        x, y, point = self._chosen()
        d = trace(self.net, x, y).to_dict()
        return {
            "set": which,
            "index": i,
            "point": [float(point[0]), float(point[1])],
            "label": int(y),
            "x": x.tolist(),
            "cost": d["cost"],
            "steps": [
                {k: s[k] for k in ("symbol", "layer", "equation", "formula", "value")} for s in d["steps"]
            ],
        }

    def frame(self, train: bool) -> bytes:
        """Train (if ``train``) for one frame, then build the frame: see the module docstring."""
        t_train = time.perf_counter()
        steps = self.advance() if train else 0
        start, cpu = time.perf_counter(), time.thread_time()
        ev = self.evaluate()
        nabla_b = backprop(self.net, self.x_train, self.y_train)[0]
        maps = self.heatmaps()
        params = self.params()
        self.curve.append((self.epochs, ev["train_cost"], ev["test_cost"]))
        self.seq += 1
        header = {
            "type": "frame",
            "seq": self.seq,
            "version": self.version,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "steps": self.steps,
            "steps_this_frame": steps,
            **ev,
            "grad_b_norms": [float(np.linalg.norm(nb)) for nb in nabla_b],
            "trace": self.trace(),
            "train_ms": 1e3 * (start - t_train),
            "server_ms": self.last_frame_ms,  # the previous frame's: wall clock, and this thread's CPU
            "server_cpu_ms": self.last_frame_cpu_ms,
            "playing": self.playing,
        }
        body = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
        pad = b"\0" * (-(4 + len(body)) % 4)
        out = b"".join([struct.pack("<I", len(body)), body, pad, params.tobytes(), maps.tobytes()])
        self.last_frame_ms = 1e3 * (time.perf_counter() - start)
        self.last_frame_cpu_ms = 1e3 * (time.thread_time() - cpu)
        return out

    # -- instruments ------------------------------------------------------------------

    def gradcheck(self, m: int = 50) -> dict:
        """Backprop against central differences on the current weights, per W^l and b^l."""
        X = self.x_train[:, :m].T
        Y = self.y_train[:, :m].T
        result = gradcheck(self.net, X, Y, method="central")
        d = result.to_dict()
        return {
            "type": "gradcheck",
            "passed": d["passed"],
            "rows": [
                {
                    k: r[k]
                    for k in ("layer", "param", "norm_backprop", "norm_rel_error", "max_rel_error", "passed")
                }
                for r in d["rows"]
            ],
            "tol_norm": d["tol_norm"],
            "tol_max": d["tol_max"],
            "n_cost_evals": d["n_cost_evals"],
            "seconds": d["seconds"],
            "batch_size": d["batch_size"],
            "notes": d["notes"],
        }

    def download(self) -> dict:
        """The network as a nablanet model file (base64) and the Python that rebuilds it."""
        with tempfile.TemporaryDirectory() as tmp:
            path = save(
                self.net,
                Path(tmp) / "nablanet-playground.npz",
                hyperparameters={**self.config, "epochs_trained": self.epochs},
            )
            blob = path.read_bytes()
        return {
            "type": "download",
            "filename": "nablanet-playground.npz",
            "model": base64.b64encode(blob).decode(),
            "python": self.python(),
        }

    def python(self) -> str:
        """Python lines that rebuild this data and network with nablanet and train it."""
        c = self.config
        if c["dataset"] == "csv":
            load = (
                'P, labels = data.parse_csv(open("points.csv").read())  # your uploaded file\n'
                "order = rng.permutation(len(P))\n"
                "P, labels = P[order], labels[order]\n"
            )
        else:
            load = f"P, labels = data.make({c['dataset']!r}, {c['points']}, {c['noise']!r}, rng)\n"
        lmbda = c["lmbda"] if c["regularization"] == "l2" else 0.0
        l1 = f" l1={c['lmbda']!r}," if c["regularization"] == "l1" else ""
        return (
            '"""The network of a nablanet playground session, rebuilt and trained."""\n\n'
            "import numpy as np\n\n"
            "import nablanet as nn\n"
            "from nablanet.web import data\n\n"
            f"rng = np.random.default_rng({c['data_seed']})\n"
            f"{load}"
            f"P_train, y_train, P_test, y_test = data.split(P, labels, {c['train_ratio']!r})\n"
            f"features = {c['features']!r}\n"
            "X_train, X_test = data.features(P_train, features), data.features(P_test, features)\n\n"
            f"net = nn.Network(\n"
            f"    {self.net.sizes!r},\n"
            f"    activation={c['activations']!r},\n"
            f"    output={c['output']!r},\n"
            f"    cost={c['cost']!r},\n"
            f"    init={c['init']!r},\n"
            f'    dtype="float64",\n'
            f"    seed={c['seed']},\n"
            ")\n"
            '# To continue from the playground\'s weights instead: net = nn.load("nablanet-playground.npz")\n'
            "history = nn.fit(\n"
            "    net,"
            f" X_train, y_train, epochs={max(100, self.epoch)},\n"
            f"    batch_size={c['batch_size']}, eta={c['eta']!r}, lmbda={lmbda!r},{l1}\n"
            f"    validation_data=(X_test, y_test), seed={c['seed'] + 1},\n"
            ")\n"
            'print(f"test cost {history.val_cost[-1]:.4f}, test accuracy {history.val_accuracy[-1]:.3f}")\n'
        )


def decode_frame(frame: bytes, sizes: list[int], grid: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """(header, params, heatmaps) of a frame: the inverse of ``Session.frame``, for tests and tools."""
    (n,) = struct.unpack_from("<I", frame)
    header = json.loads(frame[4 : 4 + n])
    offset = 4 + n + (-(4 + n) % 4)
    n_params = sum(a * b + a for a, b in zip(sizes[1:], sizes[:-1]))
    params = np.frombuffer(frame, np.float32, n_params, offset)
    maps = np.frombuffer(frame, np.uint8, offset=offset + 4 * n_params).reshape(sum(sizes), grid * grid)
    return header, params, maps
