"""Where one training step's time goes: gather, forward, cost, backward, update, the whole step.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/step_parts.py A   (or B)

Prints the mean µs per call over 2,000 calls of each part, on random data of Fashion-MNIST's
shape, for configuration A ([784, 30, 10], sigmoid, quadratic, batch 10) or B ([784, 100, 10],
ReLU + softmax/cross-entropy, batch 128) of the benchmark.
"""

import sys
import time

import numpy as np

import nablanet as nn
from nablanet.backprop import Workspace, backward, forward
from nablanet.train import train_step

CONFIGS = {
    "A": ([784, 30, 10], "sigmoid", "sigmoid", "quadratic", 10, 3.0),
    "B": ([784, 100, 10], "relu", "softmax", "cross_entropy", 128, 0.1),
}


def mean_us(f, n: int = 2000) -> float:
    f()
    start = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - start) / n * 1e6


def main(name: str) -> None:
    sizes, act, out, cost, m, eta = CONFIGS[name]
    rng = np.random.default_rng(0)
    net = nn.Network(sizes, act, out, cost, seed=0)
    X = rng.random((60000, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 60000)
    YT = np.ascontiguousarray(np.eye(10, dtype=np.float32)[:, labels])  # target columns, as fit keeps them
    # η·10⁻³ keeps the weights near their start over thousands of steps on one batch
    # (at the real η they saturate, and the parts would be timed on saturated layers).
    opt, ws = nn.SGD(eta * 1e-3), Workspace(net, m)
    x, y = np.empty((m, 784), np.float32), np.empty((10, m), np.float32)
    idx = rng.permutation(60000)[:m]

    def gather():
        X.take(idx, axis=0, out=x, mode="clip")
        YT.take(idx, axis=1, out=y, mode="clip")

    parts = {"gather": mean_us(gather), "forward": mean_us(lambda: forward(net, x.T, ws))}
    z, a = forward(net, x.T, ws)
    parts["cost"] = mean_us(lambda: net.cost.fn(a[-1], y))
    c = opt.gradient_scale()  # plain SGD: backprop returns −η ∇C, which step adds as it is
    parts["backward"] = mean_us(lambda: backward(net, z, a, y, None, ws, c))
    parts["update"] = mean_us(lambda: opt.step([net.flat()], [ws.nabla], prescaled=True))
    step = mean_us(lambda: train_step(net, opt, x.T, y, 0.0, None, ws))
    rounded = {k: round(v, 1) for k, v in parts.items()}
    print(name, rounded, f"sum {sum(parts.values()):.1f}", f"step {step:.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "A")
