"""Where one training step's time goes: gather, forward, cost, backward, update, whole step.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/step_parts.py A   (or B)
Prints the mean µs per call over 2,000 calls of each part, on random data of Fashion-MNIST's shape.
"""

import time, numpy as np, nablanet as nn
from nablanet.backprop import Workspace, forward, backward
from nablanet.train import train_step

rng = np.random.default_rng(0)
cfg = {
    "A": ([784, 30, 10], "sigmoid", "sigmoid", "quadratic", 10, 3.0),
    "B": ([784, 100, 10], "relu", "softmax", "cross_entropy", 128, 0.1),
}
import sys

name = sys.argv[1]
sizes, act, out, cost, m, eta = cfg[name]
net = nn.Network(sizes, act, out, cost, seed=0)
X = rng.random((60000, 784), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 60000)]
opt = nn.SGD(eta)
ws = Workspace(net, m)
x = np.empty((m, 784), np.float32)
y = np.empty((m, 10), np.float32)
order = rng.permutation(60000)


def timeit(f, n=2000):
    f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n * 1e6


idx = order[:m]
T = {}
T["gather"] = timeit(
    lambda: (X.take(idx, axis=0, out=x, mode="clip"), Y.take(idx, axis=0, out=y, mode="clip"))
)
T["forward"] = timeit(lambda: forward(net, x.T, ws))
z, a = forward(net, x.T, ws)
T["cost"] = timeit(lambda: net.cost.fn(a[-1], y.T))
T["backward"] = timeit(lambda: backward(net, z, a, y.T, None, ws))
nb, nw = backward(net, z, a, y.T, None, ws)
T["step"] = timeit(lambda: opt.step(net.params, [*nw, *nb]))
T["train_step"] = timeit(lambda: train_step(net, opt, x.T, y.T, 0.0, None, ws))
print(
    name,
    {k: round(v, 1) for k, v in T.items()},
    "sum parts",
    round(sum(v for k, v in T.items() if k != "train_step"), 1),
)
