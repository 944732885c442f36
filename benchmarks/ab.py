"""What a change bought: one training step's time at a git revision against the working tree.

Run:  python -m benchmarks.ab A [--ref HEAD] [--rounds 4] [--threads 1] [--cpu]     (A, B or C)

Exports ``src/`` at ``--ref`` into a temporary directory, then alternates fresh
processes, one importing that copy and one importing the working tree's, each
timing ``train_step`` on one batch of configuration A, B or C: the minimum over
15 repeats of many calls. Rounds alternate so that a slow spell of a shared
machine hits both sides; the minimum filters out the interruptions. ``--cpu``
times the calling thread's CPU time instead of the wall clock (``time.thread_time``;
with one BLAS thread the products run in that thread): on a machine so loaded
that the wall clock mostly measures waiting, it still measures the work. Prints both
sides' medians and minima over the rounds, and new/old of the minima. The child
speaks both APIs of the step: ``Workspace(sizes, m, dtype)`` from
``nablanet.buffers`` (since the Core rewrite), ``Workspace(net, m)`` from
``nablanet.backprop`` before it; ``train_step(net, optimizer, x, y, λ/n, weights,
ws)`` in both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from benchmarks.peers.bench import CONFIGS

ROOT = Path(__file__).resolve().parent.parent

# Timed in the child: the side's nablanet is first on sys.path.
CHILD = """
import sys, time, timeit
import numpy as np
import nablanet as nn
from nablanet.train import train_step
try:
    from nablanet.buffers import Workspace
    workspace = lambda net, m: Workspace(net.sizes, m, net.dtype)
except ImportError:  # a revision before the Core rewrite
    from nablanet.backprop import Workspace
    workspace = Workspace

sizes, act, out, cost, m, eta, init, number, cpu = {setting!r}
rng = np.random.default_rng(0)
net = nn.Network(sizes, act, out, cost, init=init, seed=0)
x = rng.random((m, sizes[0]), dtype=np.float32)
y = np.ascontiguousarray(np.eye(sizes[-1], dtype=np.float32)[:, rng.integers(0, sizes[-1], m)])  # as fit
opt, ws = nn.SGD(eta * 1e-3), workspace(net, m)  # a small η keeps the weights near their start
step = lambda: train_step(net, opt, x.T, y, 0.0, None, ws)
timer = time.thread_time if cpu else time.perf_counter
print(min(timeit.repeat(step, timer=timer, number=number, repeat=15)) / number * 1e6)
"""

CALLS = {"A": 2000, "B": 200, "C": 10}  # train_step calls per repeat: about 0.1 s each


def export(ref: str, into: Path) -> Path:
    """``src/`` as it was at ``ref``, unpacked under ``into``."""
    archive = into / "src.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def time_step(src: Path, config: str, threads: int, cpu: bool = False) -> float:
    env = {**os.environ, "PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": str(threads)}
    c = CONFIGS[config]  # the benchmark's own configurations
    setting = (list(c.sizes), c.activation, c.output, c.cost, c.batch, c.eta, c.init, CALLS[config], cpu)
    code = CHILD.format(setting=setting)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", choices=sorted(CONFIGS))
    p.add_argument("--ref", default="HEAD", help="the git revision to compare with (default HEAD)")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: steadier)")
    p.add_argument("--cpu", action="store_true", help="time the thread's CPU time, not the wall clock")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old_src = export(args.ref, Path(tmp))
        old, new = [], []
        for _ in range(args.rounds):
            old.append(time_step(old_src, args.config, args.threads, args.cpu))
            new.append(time_step(ROOT / "src", args.config, args.threads, args.cpu))
    clock = "CPU " if args.cpu else ""
    print(
        f"{args.config}: train_step {clock}µs at {args.ref}: "
        f"median {statistics.median(old):.2f}, min {min(old):.2f}"
        f" | working tree: median {statistics.median(new):.2f}, min {min(new):.2f}"
        f" | new/old {min(new) / min(old):.3f}"
    )


if __name__ == "__main__":
    main()
