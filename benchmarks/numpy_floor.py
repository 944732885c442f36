"""The floor for configuration A in NumPy: one training step with nothing but NumPy calls.

Run:  python benchmarks/numpy_floor.py        (one BLAS thread is steadiest: OPENBLAS_NUM_THREADS=1)

A step of [784, 30, 10], sigmoid, quadratic cost, batch 10, written out flat: every
operation one NumPy call into a preallocated array, scalar operands as 0-d arrays,
no Python function calls, no checks beyond the one on Δw. This is what any NumPy
implementation of the batched algorithm must spend per step, and nablanet's
``train_step`` is compared with it on the same batch. Prints the minimum over 15
repeats of 2,000 calls, in µs, for each part, for the products alone, and for
``train_step``.
"""

from __future__ import annotations

import timeit

import numpy as np

import nablanet as nn
from nablanet.backprop import Workspace
from nablanet.train import train_step

m, f32 = 10, np.float32
rng = np.random.default_rng(0)
net = nn.Network([784, 30, 10], "sigmoid", "sigmoid", "quadratic", seed=0)
flat = net.flat().copy()  # the flat step's own parameters, in nablanet's layout
W1, W2 = flat[:23520].reshape(30, 784), flat[23520:23820].reshape(10, 30)
b1, b2 = flat[23820:23850], flat[23850:]
nabla = np.empty_like(flat)
nW1, nW2 = nabla[:23520].reshape(30, 784), nabla[23520:23820].reshape(10, 30)
nb1, nb2 = nabla[23820:23850], nabla[23850:]
x = rng.random((m, 784), dtype=f32)
y = np.eye(10, dtype=f32)[rng.integers(0, 10, m)]
z1, a1, d1 = (np.empty((30, m), f32) for _ in range(3))
z2, a2, d2 = (np.empty((10, m), f32) for _ in range(3))
ones = np.ones(m, f32)
HALF, ONE, INV_M, MINUS_ETA = (np.array(v, f32) for v in (0.5, 1.0, 1 / m, -3e-3))


def sigmoid(z, out):
    np.multiply(z, HALF, out=out)
    np.tanh(out, out=out)
    np.multiply(out, HALF, out=out)
    np.add(out, HALF, out=out)


def forward():
    np.dot(W1, x.T, out=z1)
    np.add(z1, b1[:, None], out=z1)
    sigmoid(z1, a1)
    np.dot(W2, a1, out=z2)
    np.add(z2, b2[:, None], out=z2)
    sigmoid(z2, a2)


def cost():
    d = a2 - y.T
    return float(np.vdot(d, d)) * 0.5 / m


def backward():
    np.subtract(a2, y.T, out=d2)  # BP1: (a − y) ⊙ a(1 − a) / m
    np.multiply(d2, a2, out=d2)
    t = np.subtract(ONE, a2)
    np.multiply(t, INV_M, out=t)
    np.multiply(d2, t, out=d2)
    np.dot(d2, ones, out=nb2)  # BP3
    np.dot(d2, a1.T, out=nW2)  # BP4
    np.dot(W2.T, d2, out=d1)  # BP2
    np.multiply(d1, a1, out=d1)
    t = np.subtract(ONE, a1)
    np.multiply(d1, t, out=d1)
    np.dot(d1, ones, out=nb1)
    np.dot(d1, x, out=nW1)


def update():
    np.multiply(nabla, MINUS_ETA, out=nabla)
    if not np.isfinite(float(np.vdot(nabla, nabla))):
        raise FloatingPointError
    np.add(flat, nabla, out=flat)


def step():
    forward()
    cost()
    backward()
    update()


def products():
    np.dot(W1, x.T, out=z1)
    np.dot(W2, a1, out=z2)
    np.dot(d2, a1.T, out=nW2)
    np.dot(W2.T, d2, out=d1)
    np.dot(d1, x, out=nW1)


def main() -> None:
    opt, ws = nn.SGD(3e-3), Workspace(net, m)
    timed = {
        "forward": forward,
        "cost": cost,
        "backward": backward,
        "update": update,
        "flat step": step,
        "products alone": products,
        "nablanet train_step": lambda: train_step(net, opt, x.T, y.T, 0.0, None, ws),
    }
    for name, f in timed.items():
        us = min(timeit.repeat(f, number=2000, repeat=15)) / 2000 * 1e6
        print(f"{name:20s} {us:6.2f} µs")


if __name__ == "__main__":
    main()
