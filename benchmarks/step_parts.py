"""Where one training step's time goes: gather, forward, cost, backward, update, the whole step.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.step_parts A   (or B, C)
      OPENBLAS_NUM_THREADS=1 python -m benchmarks.step_parts C --cpu   (the same unsets first)

Prints the median over 7 rounds of the mean µs per call of each part (2,000 calls a
round for A, 200 for B, 20 for C), on random data of Fashion-MNIST's shape, for a
configuration of the peer benchmark. Beside the parts: the update's two passes
over the parameters on their own (the finiteness check ‖∇C‖², one BLAS dot, and
the axpy w ← w − η∇C), the forward pass's bias adds and activations on their own,
and the matrix products of one step alone (the benchmark's GEMM bound).

``--cpu`` times the thread's CPU time (``time.thread_time``) instead of the wall
clock: with one BLAS thread (``OPENBLAS_NUM_THREADS=1``, which also holds for
SciPy's BLAS behind the update's axpy) every part runs in the calling thread, and
on a heavily shared machine the CPU time still measures the work while the wall
clock mostly measures the wait. (The benchmark's own GEMM bound is timed by the wall clock.)
"""

import statistics
import sys
import time

import numpy as np

import nablanet as nn
from benchmarks.peers.bench import CONFIGS, gemm_step_seconds
from nablanet.backprop import backward
from nablanet.blas import axpy, vdot
from nablanet.buffers import Workspace
from nablanet.network import forward
from nablanet.train import train_step

CALLS = {"A": 2000, "B": 200, "C": 20}
clock = time.perf_counter


def median_us(f, n: int, rounds: int = 7) -> float:
    f()
    times = []
    for _ in range(rounds):
        start = clock()
        for _ in range(n):
            f()
        times.append((clock() - start) / n * 1e6)
    return statistics.median(times)


def main(name: str) -> None:
    cfg, n = CONFIGS[name], CALLS[name]
    m, rng = cfg.batch, np.random.default_rng(0)
    net = nn.Network(cfg.sizes, cfg.activation, cfg.output, cfg.cost, cfg.init, seed=0)
    X = rng.random((60000, cfg.sizes[0]), dtype=np.float32)
    labels = rng.integers(0, cfg.sizes[-1], 60000)
    YT = np.ascontiguousarray(np.eye(cfg.sizes[-1], dtype=np.float32)[:, labels])  # columns, as in fit
    # η·10⁻³ keeps the weights near their start over thousands of steps on one batch
    # (at the real η they saturate, and the parts would be timed on saturated layers).
    opt, ws = nn.SGD(cfg.eta * 1e-3), Workspace(net.sizes, m, net.dtype)
    x, y = np.empty((m, cfg.sizes[0]), np.float32), np.empty((cfg.sizes[-1], m), np.float32)
    idx = rng.permutation(60000)[:m]

    def gather():
        X.take(idx, axis=0, out=x, mode="clip")
        YT.take(idx, axis=1, out=y, mode="clip")

    gather()
    parts = {"gather": median_us(gather, n), "forward": median_us(lambda: forward(net, x.T, ws), n)}
    z, a = forward(net, x.T, ws)
    parts["cost"] = median_us(lambda: net.cost.fn(a[-1], y), n)
    parts["backward"] = median_us(lambda: backward(net, z, a, y, None, ws), n)
    parts["update"] = median_us(lambda: opt.step([net.flat], [ws.nabla]), n)
    step = median_us(lambda: train_step(net, opt, x.T, y, 0.0, None, ws), n)
    nabla, scratch = ws.nabla, net.flat.copy()
    zb = [None, *(np.empty_like(z_l) for z_l in z[1:])]  # the bias adds write here, leaving z as it is

    def bias_adds():
        for l, b in enumerate(net.b, start=1):
            np.add(z[l], b[:, None], out=zb[l])

    def activations():
        for l, act in enumerate(net.activations, start=1):
            act.fn(z[l], out=a[l])

    # The step's products on its own operands, into outputs of their own: z^l, BP4, BP2.
    products = []
    for l in range(1, net.L + 1):
        products.append((net.W[l], a[l - 1], np.empty_like(z[l])))
        products.append((ws.delta[l], a[l - 1].T, np.empty_like(net.W[l])))
        if l > 1:
            products.append((net.W[l].T, ws.delta[l], np.empty_like(z[l - 1])))

    def products_alone():
        for A, B, out in products:
            np.dot(A, B, out=out)

    inside = {
        "update: ‖∇C‖²": median_us(lambda: vdot(nabla, nabla), n),
        "update: axpy": median_us(lambda: axpy(-1e-9, nabla, scratch), n),
        "forward: bias adds": median_us(bias_adds, n),
        "forward: activations": median_us(activations, n),
        "products alone": median_us(products_alone, n),
        "GEMM bound (the benchmark's, wall clock)": gemm_step_seconds(cfg) * 1e6,
    }
    shown = {k: round(v, 1) for k, v in parts.items()}
    kind = "CPU µs" if clock is time.thread_time else "µs"
    print(name, shown, f"sum {sum(parts.values()):.1f}", f"step {step:.1f} {kind}")
    print("  of which:", {k: round(v, 1) for k, v in inside.items()})


if __name__ == "__main__":
    if "--cpu" in sys.argv[1:]:
        clock = time.thread_time
    names = [a for a in sys.argv[1:] if a != "--cpu"]
    main(names[0] if names else "A")
