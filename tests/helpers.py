"""Shared test helpers: an independent numerical gradient, the relative error, file mutations."""

from __future__ import annotations

import random

import numpy as np

from nablanet.backprop import forward


def mean_cost(net, x: np.ndarray, y: np.ndarray) -> float:
    """C for a batch (columns = examples), computed by feedforward alone."""
    _, a = forward(net, x)
    return net.cost.fn(a[-1], y)


def numerical_gradient(net, x: np.ndarray, y: np.ndarray, eps: float = 1e-6):
    """Central differences (C(p + ε) − C(p − ε)) / 2ε for every parameter."""
    grads = []
    for p in [*net.b, *net.W]:
        g = np.zeros_like(p)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            c_plus = mean_cost(net, x, y)
            flat[i] = old - eps
            c_minus = mean_cost(net, x, y)
            flat[i] = old
            gflat[i] = (c_plus - c_minus) / (2 * eps)
        grads.append(g)
    L = len(net.W)
    return grads[:L], grads[L:]


def relative_error(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    """Normwise ‖got − want‖ / max(‖got‖, ‖want‖), over all arrays together."""
    g = np.concatenate([a.ravel() for a in got])
    w = np.concatenate([a.ravel() for a in want])
    scale = max(np.linalg.norm(g), np.linalg.norm(w))
    if scale < 1e-12:  # both gradients vanish (e.g. every ReLU is off)
        return float(np.linalg.norm(g - w))
    return float(np.linalg.norm(g - w) / scale)


def random_targets(net, m: int, rng: np.random.Generator) -> np.ndarray:
    """Targets (n_L, m) that suit the network's cost: one-hot for cross-entropy."""
    n_out = net.sizes[-1]
    if net.cost.name == "cross_entropy":
        return np.eye(n_out)[:, rng.integers(0, n_out, m)]
    if net.cost.name == "binary_cross_entropy":
        return rng.integers(0, 2, (n_out, m)).astype(float)
    return rng.uniform(-1, 1, (n_out, m))


def mutations(data: bytes, n: int, seed: int = 0, header_bytes: int | None = 32):
    """n damaged copies of data: bit flips, truncations, inserted bytes, and overwritten
    bytes (within the first ``header_bytes``, or anywhere when it is None)."""
    rng = random.Random(seed)
    for i in range(n):
        b = bytearray(data)
        kind = i % 4
        if kind == 0:
            p = rng.randrange(len(b))
            b[p] ^= 1 << rng.randrange(8)
        elif kind == 1:
            b = b[: rng.randrange(len(b))]
        elif kind == 2:
            p = rng.randrange(len(b) + 1)
            b[p:p] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
        else:
            p = rng.randrange(len(b) if header_bytes is None else min(len(b), header_bytes))
            b[p] = rng.randrange(256)
        yield bytes(b)
