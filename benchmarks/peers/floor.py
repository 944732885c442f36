"""A plain NumPy training loop: the benchmark's measure of what NumPy itself allows.

``FlatLoop`` runs the same mini-batch SGD as ``fit``: a shuffle per epoch, the
batch gathered into the same arrays, the same products, BP1–BP4, the update with
its check that Δw is finite. It is written as bare NumPy calls into arrays made
once, with no activation, cost or optimizer objects, no input checks and no
callbacks: what NumPy calls cost per step with nothing else around them, the
least a NumPy implementation of the batched algorithm can expect to pay. The
benchmark runs it beside nablanet (the ``numpy`` peer), so every report shows
whether each goal was within NumPy's reach in that run, and how much of
nablanet's time its own structure costs. (It is a measurement, not a bound: on a
shared machine a single run can put nablanet level with it or ahead.)

It covers what the benchmark's configurations need: sigmoid or ReLU hidden
layers, and a sigmoid output with the quadratic cost or a softmax output with
cross-entropy. Tests check that its steps move the weights as nablanet's
training step and ``fit`` do, to 1e-12 in float64 (in float32 the two differ by rounding:
δ^L's factor −η/m is applied at another point).
"""

from __future__ import annotations

import math
import time

import numpy as np

from nablanet import Network
from nablanet.blas import dot, vdot

__all__ = ["FlatLoop", "time_flat_loop"]


def same_place(buffer: np.ndarray, flat: np.ndarray, view: np.ndarray) -> np.ndarray:
    """The view of ``buffer`` that sits where ``view`` sits in ``flat`` (same offset, shape, strides)."""
    offset = view.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
    if not 0 <= offset <= flat.nbytes - view.nbytes or view.dtype != flat.dtype:
        raise ValueError("the parameter is not a view into the network's flat buffer")
    return np.ndarray(view.shape, flat.dtype, buffer=buffer, offset=offset, strides=view.strides)


class FlatLoop:
    """Mini-batch SGD on a copy of ``net``'s flat parameter buffer, in its layout."""

    def __init__(self, net, eta: float):
        acts = list(net.activations)  # σ of layers 1..L
        kinds = (acts[0].name, acts[-1].name, net.cost.name)
        hidden = {a.name for a in acts[:-1]}
        if len(hidden) > 1 or not hidden <= {"sigmoid", "relu"}:
            raise ValueError(f"FlatLoop runs sigmoid or relu hidden layers, not {sorted(hidden)}")
        if kinds[1:] not in (("sigmoid", "quadratic"), ("softmax", "cross_entropy")):
            raise ValueError(f"FlatLoop runs sigmoid + quadratic or softmax + cross_entropy, not {kinds[1:]}")
        if not getattr(net.cost, "half", True):
            raise ValueError("FlatLoop runs the quadratic cost with its ½, not Quadratic(half=False)")
        if not math.isfinite(eta) or eta <= 0:
            raise ValueError(f"the learning rate eta must be a positive number, got {eta}")
        self.L, self.dtype = net.L, net.dtype
        self.hidden, self.output = kinds[0] if net.L > 1 else None, kinds[1]
        self.flat = net.flat.copy()
        self.nabla = np.empty_like(self.flat)
        # Indexed from 1 as in the equations; each W^l, b^l where the network keeps it.
        W, b = list(net.W), list(net.b)
        self.W = [None, *(same_place(self.flat, net.flat, w) for w in W)]
        self.nabla_W = [None, *(same_place(self.nabla, net.flat, w) for w in W)]
        self.b = [None, *(same_place(self.flat, net.flat, v)[:, None] for v in b)]  # columns, to broadcast
        self.nabla_b = [None, *(same_place(self.nabla, net.flat, v) for v in b)]
        self.sizes = net.sizes
        constants = (np.array(v, self.dtype) for v in (0.0, 0.5, 1.0, np.finfo(self.dtype).eps))
        self.ZERO, self.HALF, self.ONE, self.EPS = constants
        self.eta = eta
        self._buffers: dict[int, tuple] = {}

    def buffers(self, m: int) -> tuple:
        """Per batch size: rows x, target columns y; z, a, δ and a scratch array per layer; 1 and −η/m."""
        if m not in self._buffers:
            n, f = self.sizes, self.dtype

            def per_layer():
                return [None, *(np.empty((n_l, m), f) for n_l in n[1:])]

            x, y = np.empty((m, n[0]), f), np.empty((n[-1], m), f)
            z, a, delta, scratch = per_layer(), per_layer(), per_layer(), per_layer()
            self._buffers[m] = (x, y, z, a, delta, scratch, np.ones(m, f), np.array(-self.eta / m, f))
        return self._buffers[m]

    def step(self, x: np.ndarray, y: np.ndarray, m: int) -> float:
        """One step on the batch: rows ``x`` (m, n_0), target columns ``y`` (n_L, m); returns its cost."""
        _, _, z, a, delta, t, ones, scale = self.buffers(m)
        W, b, L, HALF, ONE = self.W, self.b, self.L, self.HALF, self.ONE
        a[0] = x.T
        for l in range(1, L + 1):
            dot(W[l], a[l - 1], out=z[l])
            np.add(z[l], b[l], out=z[l])
            kind = self.output if l == L else self.hidden
            if kind == "relu":
                np.maximum(z[l], self.ZERO, out=a[l])
            elif kind == "sigmoid":  # ½(1 + tanh(z/2)), four passes in place
                np.multiply(z[l], HALF, out=a[l])
                np.tanh(a[l], out=a[l])
                np.multiply(a[l], HALF, out=a[l])
                np.add(a[l], HALF, out=a[l])
            else:  # softmax over each column
                np.subtract(z[l], z[l].max(axis=0, keepdims=True), out=a[l])
                np.exp(a[l], out=a[l])
                np.divide(a[l], a[l].sum(axis=0, keepdims=True), out=a[l])
        d = delta[L]
        np.subtract(a[L], y, out=d)
        # δ^L carries −η/m, as in fit: BP2–BP4 then give the update −η ∇C itself.
        if self.output == "sigmoid":  # quadratic cost: δ^L = (a − y) ⊙ a(1 − a) (−η/m)
            cost = 0.5 * float(vdot(d, d)) / m
            np.multiply(d, a[L], out=d)
            np.subtract(ONE, a[L], out=t[L])
            np.multiply(t[L], scale, out=t[L])
            np.multiply(d, t[L], out=d)
        else:  # cross-entropy after softmax: δ^L = (a − y) (−η/m)
            np.maximum(a[L], self.EPS, out=t[L])
            np.log(t[L], out=t[L])
            cost = -float(vdot(y, t[L])) / m
            np.multiply(d, scale, out=d)
        for l in range(L, 0, -1):
            dot(delta[l], ones, out=self.nabla_b[l])
            dot(delta[l], a[l - 1].T, out=self.nabla_W[l])
            if l > 1:
                g = dot(W[l].T, delta[l], out=delta[l - 1])
                if self.hidden == "relu":
                    np.multiply(g, z[l - 1] > 0, out=g)
                else:
                    np.multiply(g, a[l - 1], out=g)
                    np.subtract(ONE, a[l - 1], out=t[l - 1])
                    np.multiply(g, t[l - 1], out=g)
        # self.nabla holds Δw = −η ∇C. The same check as Optimizer.step: ‖Δw‖², and
        # entry by entry only if that overflows.
        if not math.isfinite(float(vdot(self.nabla, self.nabla))) and not np.isfinite(self.nabla).all():
            raise FloatingPointError("the update is not finite")
        np.add(self.flat, self.nabla, out=self.flat)
        return cost

    def epoch(self, X: np.ndarray, YT: np.ndarray, m: int, rng: np.random.Generator) -> float:
        """One epoch over rows X (n, n_0) and target columns YT (n_L, n); returns the mean batch cost."""
        n, total = len(X), 0.0
        # C order, as fit keeps them: take(axis=1) on a column-major YT copies all of it.
        YT = np.ascontiguousarray(YT)
        order = rng.permutation(n)
        for k in range(0, n, m):
            idx = order[k : k + m]
            x, y = self.buffers(len(idx))[:2]
            X.take(idx, axis=0, out=x, mode="clip")
            YT.take(idx, axis=1, out=y, mode="clip")
            total += self.step(x, y, len(idx)) * len(idx)
        return total / n


def time_flat_loop(cfg, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """Seconds for one epoch of ``FlatLoop`` after a warm-up, and the epoch's mean cost."""
    net = Network(cfg.sizes, cfg.activation, cfg.output, cfg.cost, cfg.init, seed=seed)
    loop, rng = FlatLoop(net, cfg.eta), np.random.default_rng(seed + 1)
    X = np.ascontiguousarray(X, dtype=net.dtype)
    warm = min(len(X), 20 * cfg.batch)
    eye = np.eye(cfg.sizes[-1], dtype=net.dtype)
    loop.epoch(X[:warm], eye.take(y[:warm], axis=1), cfg.batch, rng)
    start = time.perf_counter()
    cost = loop.epoch(X, eye.take(y, axis=1), cfg.batch, rng)  # one-hot columns, C order
    return time.perf_counter() - start, cost
