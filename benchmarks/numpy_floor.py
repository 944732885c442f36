"""The floor in NumPy: a training step with nothing but NumPy calls, against nablanet's.

Run:  python -m benchmarks.numpy_floor A     (one BLAS thread is steadiest: OPENBLAS_NUM_THREADS=1)
      python -m benchmarks.numpy_floor B     (an epoch of B, 2 threads as in the benchmark)

A step of [784, 30, 10], sigmoid, quadratic cost, batch 10, written out flat: every
operation one NumPy call into a preallocated array, scalar operands as 0-d arrays,
no Python function calls, no checks beyond the one on Δw; the products as
``blas.dot`` (``np.dot`` without its dispatch) and −η folded into δ^L (nablanet
applies it in the optimizer's axpy instead). This is what any NumPy
implementation of the batched algorithm must spend per step, and nablanet's
``train_step`` is compared with it on the same batch. Prints the minimum over 15
repeats of 2,000 calls, in µs, for each part, for the products alone, and for
``train_step``.

B ([784, 100, 10], ReLU, softmax + cross-entropy, batch 128) is timed over whole
epochs of 60,000 random examples, because its cost is in fetching each shuffled
batch and running the products on operands fresh from memory: the benchmark's
plain NumPy loop (``benchmarks.peers.floor.FlatLoop``: gather, products, bias, ReLU,
softmax, cost, BP1–BP4, update with its check), nablanet's ``fit``, and the
products alone on operands already in cache; medians and minima over 5
interleaved epochs, µs per step.
"""

from __future__ import annotations

import sys
import time
import timeit

import numpy as np

import nablanet as nn
from benchmarks.peers.floor import FlatLoop
from nablanet.blas import dot, vdot
from nablanet.buffers import Workspace
from nablanet.train import train_step

m, f32 = 10, np.float32
rng = np.random.default_rng(0)
net = nn.Network([784, 30, 10], "sigmoid", "sigmoid", "quadratic", seed=0)
_own = FlatLoop(net, eta=3e-3)  # only for its copy of the parameters, laid out as net.flat
flat, nabla = _own.flat, _own.nabla
W1, W2, nW1, nW2 = _own.W[1], _own.W[2], _own.nabla_W[1], _own.nabla_W[2]
b1, b2, nb1, nb2 = _own.b[1][:, 0], _own.b[2][:, 0], _own.nabla_b[1], _own.nabla_b[2]
x = rng.random((m, 784), dtype=f32)
yT = np.ascontiguousarray(np.eye(10, dtype=f32)[:, rng.integers(0, 10, m)])  # target columns, as fit has them
z1, a1, d1 = (np.empty((30, m), f32) for _ in range(3))
z2, a2, d2 = (np.empty((10, m), f32) for _ in range(3))
ones = np.ones(m, f32)
HALF, ONE, SCALE = (np.array(v, f32) for v in (0.5, 1.0, -3e-3 / m))  # SCALE: −η/m, carried by δ^L


def sigmoid(z, out):
    np.multiply(z, HALF, out=out)
    np.tanh(out, out=out)
    np.multiply(out, HALF, out=out)
    np.add(out, HALF, out=out)


def forward():
    dot(W1, x.T, out=z1)
    np.add(z1, b1[:, None], out=z1)
    sigmoid(z1, a1)
    dot(W2, a1, out=z2)
    np.add(z2, b2[:, None], out=z2)
    sigmoid(z2, a2)


def cost():
    d = a2 - yT
    return float(vdot(d, d)) * 0.5 / m


def backward():
    np.subtract(a2, yT, out=d2)  # BP1: (a − y) ⊙ a(1 − a) (−η/m)
    np.multiply(d2, a2, out=d2)
    t = np.subtract(ONE, a2)
    np.multiply(t, SCALE, out=t)
    np.multiply(d2, t, out=d2)
    dot(d2, ones, out=nb2)  # BP3
    dot(d2, a1.T, out=nW2)  # BP4
    dot(W2.T, d2, out=d1)  # BP2
    np.multiply(d1, a1, out=d1)
    t = np.subtract(ONE, a1)
    np.multiply(d1, t, out=d1)
    dot(d1, ones, out=nb1)
    dot(d1, x, out=nW1)


def update():  # nabla holds Δw = −η ∇C
    if not np.isfinite(float(vdot(nabla, nabla))):
        raise FloatingPointError
    np.add(flat, nabla, out=flat)


def step():
    forward()
    cost()
    backward()
    update()


def products():
    dot(W1, x.T, out=z1)
    dot(W2, a1, out=z2)
    dot(d2, a1.T, out=nW2)
    dot(W2.T, d2, out=d1)
    dot(d1, x, out=nW1)


def main_a() -> None:
    opt, ws = nn.SGD(3e-3), Workspace(net.sizes, m, net.dtype)
    timed = {
        "forward": forward,
        "cost": cost,
        "backward": backward,
        "update": update,
        "flat step": step,
        "products alone": products,
        "nablanet train_step": lambda: train_step(net, opt, x.T, yT, 0.0, None, ws),
    }
    for name, f in timed.items():
        us = min(timeit.repeat(f, number=2000, repeat=15)) / 2000 * 1e6
        print(f"{name:20s} {us:6.2f} µs")


def main_b() -> None:
    n, m = 60000, 128
    X = rng.random((n, 784), dtype=f32)
    labels = rng.integers(0, 10, n)
    YT = np.ascontiguousarray(np.eye(10, dtype=f32)[:, labels])  # target columns, as fit keeps them
    netb = nn.Network([784, 100, 10], "relu", "softmax", "cross_entropy", init="he", seed=0)
    loop = FlatLoop(netb, eta=0.1)  # the benchmark's plain NumPy loop, on its own copy of the weights
    x, _, z, a, delta, *_ = loop.buffers(m)
    W, nabla_W = loop.W, loop.nabla_W
    a[0] = x.T

    def products_alone():
        for _ in range(n // m):
            dot(W[1], a[0], out=z[1])
            dot(W[2], a[1], out=z[2])
            dot(delta[2], a[1].T, out=nabla_W[2])
            dot(W[2].T, delta[2], out=delta[1])
            dot(delta[1], x, out=nabla_W[1])

    def nablanet_fit():
        nn.fit(netb, X, labels, epochs=1, batch_size=m, optimizer=nn.SGD(0.1), seed=1)

    timed = {
        "flat epoch": lambda: loop.epoch(X, YT, m, rng),
        "nablanet fit": nablanet_fit,
        "products alone (hot)": products_alone,
    }
    us: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(5):
        for name, f in timed.items():
            start = time.perf_counter()
            f()
            us[name].append((time.perf_counter() - start) / (n // m) * 1e6)
    for name, v in us.items():
        print(f"{name:22s} median {np.median(v):6.1f}  min {min(v):6.1f} µs per step")


if __name__ == "__main__":
    {"A": main_a, "B": main_b}[sys.argv[1] if len(sys.argv) > 1 else "A"]()
