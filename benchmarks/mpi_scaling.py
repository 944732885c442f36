"""Data-parallel scaling on MPI: K = 1 and 2 ranks, one BLAS thread each (docs/distributed.md).

    python -m benchmarks.mpi_scaling [--steps 20] [--out docs/bench-runs/mpi-scaling.json]

Starts ``mpiexec -n 1`` and ``-n 2`` of this file (``--rank`` mode) and reports, for
configurations B ([784, 100, 10], per-rank batch 128) and C ([784, 1024, 1024, 10],
per-rank batch 256), float32, ReLU, softmax + cross-entropy, plain SGD:

- T(1): one process, the global batch K·b; T(K): K ranks, b each, overlapped and blocking;
- throughput (examples/s), speed-up T(1)/T(K) and scaling efficiency T(1)/(K·T(K));
- the time per step spent waiting on the all-reduce (overlapped and blocking), and the
  share of the blocking all-reduce's time that overlapping hides:
  (T_blocking − T_overlapped) / wait_blocking;
- the all-reduce's latency α and bandwidth β on this machine: MPI Allreduce (sum, float32)
  of 1 KB to 64 MB between 2 ranks, fitted to the ring model t = 2(K−1)/K·bytes/β + 2(K−1)·α.

The machine's load average is recorded with the figures: the runs share its cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CONFIGS = {"B": ([784, 100, 10], 128), "C": ([784, 1024, 1024, 10], 256)}
SIZES = [2**k for k in range(10, 27, 2)]  # 1 KB ... 64 MB
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _step_time(net, par, x, y, steps: int, m: int) -> tuple[float, float]:
    """Median seconds per training step, and mean seconds a step waited on the all-reduce."""
    from nablanet.buffers import Workspace
    from nablanet.optimizers import SGD
    from nablanet.train import train_step

    opt = SGD(0.01)
    ws = Workspace(net.sizes, x.shape[1], net.dtype)
    reduce = None if par is None else par.reducer(ws)
    times = []
    for i in range(steps + 3):  # three warm-up steps
        if par is not None:
            par.comm.Barrier()  # every rank starts the step together: the timing is the step's
            reduce.begin(x.shape[1], m)
            if i == 3:
                par.wait_seconds, par.steps = 0.0, 0
        t = time.perf_counter()
        train_step(net, opt, x, y, 0.0, None, ws, reduce, m, layer_done=None if par is None else reduce.layer_done)
        times.append(time.perf_counter() - t)
    wait = 0.0 if par is None else par.wait_seconds / par.steps
    return float(np.median(times[3:])), wait


def _allreduce_times(comm) -> list[tuple[int, float]]:
    from mpi4py import MPI

    out = []
    for nbytes in SIZES:
        a = np.ones(nbytes // 4, np.float32)
        reps = max(3, min(200, (1 << 24) // nbytes))
        comm.Allreduce(MPI.IN_PLACE, a)
        comm.Barrier()
        t = time.perf_counter()
        for _ in range(reps):
            comm.Allreduce(MPI.IN_PLACE, a)
        out.append((nbytes, (time.perf_counter() - t) / reps))
    return out


def rank_main(steps: int) -> None:
    from mpi4py import MPI

    import nablanet
    from nablanet.parallel import DataParallel

    comm = MPI.COMM_WORLD
    K, rank = comm.Get_size(), comm.Get_rank()
    rng = np.random.default_rng(0)
    result: dict = {"K": K, "configs": {}}
    for name, (sizes, b) in CONFIGS.items():
        net = nablanet.Network(sizes, "relu", dtype="float32", seed=1)
        m = K * b
        x = np.asfortranarray(rng.random((sizes[0], b if K > 1 else m), dtype=np.float32))
        y = np.zeros((sizes[-1], x.shape[1]), np.float32)
        y[rng.integers(0, sizes[-1], x.shape[1]), np.arange(x.shape[1])] = 1
        row: dict = {"per_rank_batch": b, "global_batch": m, "gradient_bytes": net.n_params * 4}
        if K == 1:
            row["T"], _ = _step_time(net, None, x, y, steps, m)
            row["T_per_rank_batch"], _ = _step_time(net, None, np.asfortranarray(x[:, :b]), y[:, :b], steps, b)
        else:
            for mode, overlap in (("overlapped", True), ("blocking", False)):
                par = DataParallel(comm, overlap=overlap)
                t, wait = _step_time(net, par, x, y, steps, m)
                row[mode] = {"T": max(comm.allgather(t)), "wait": max(comm.allgather(wait))}
        result["configs"][name] = row
    if K > 1:
        result["allreduce"] = _allreduce_times(comm)
    if rank == 0:
        print(json.dumps(result), flush=True)


def _fit_alpha_beta(points: list[tuple[int, float]], K: int = 2) -> tuple[float, float]:
    """Least squares t = a + c·bytes; ring: a = 2(K−1)·α, c = 2(K−1)/K / β."""
    nbytes = np.array([p[0] for p in points], float)
    t = np.array([p[1] for p in points])
    w = 1 / t  # relative errors: small messages weigh as much as large ones
    A = np.stack([np.ones_like(nbytes), nbytes], axis=1) * w[:, None]
    a, c = np.linalg.lstsq(A, t * w, rcond=None)[0]
    return a / (2 * (K - 1)), (2 * (K - 1) / K) / c


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", type=Path)
    p.add_argument("--rank", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rank:
        return rank_main(args.steps)
    mpiexec = Path(sys.executable).parent / "mpiexec"
    runs = {}
    load_before = os.getloadavg()
    for K in (1, 2):
        cmd = [str(mpiexec), "-n", str(K), sys.executable, __file__, "--rank", "--steps", str(args.steps)]
        done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=900, check=True)
        runs[K] = json.loads(done.stdout.strip().splitlines()[-1])
    alpha, beta = _fit_alpha_beta(runs[2]["allreduce"])
    report = {"load_average": [load_before, os.getloadavg()], "cores": os.cpu_count(), "alpha_s": alpha,
              "beta_bytes_per_s": beta, "allreduce": runs[2]["allreduce"], "configs": {}}
    print(f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"all-reduce (2 ranks, float32): alpha = {alpha * 1e6:.1f} us, beta = {beta / 1e9:.2f} GB/s")
    for nbytes, t in runs[2]["allreduce"]:
        print(f"  {nbytes / 1024:>8.0f} KB  {t * 1e3:8.3f} ms")
    for name in CONFIGS:
        one, two = runs[1]["configs"][name], runs[2]["configs"][name]
        T1 = one["T"]
        row = {"T1": T1, "T1_per_rank_batch": one["T_per_rank_batch"], "gradient_bytes": one["gradient_bytes"]}
        for mode in ("overlapped", "blocking"):
            T2 = two[mode]["T"]
            row[mode] = {"T2": T2, "wait": two[mode]["wait"], "speedup": T1 / T2, "efficiency": T1 / (2 * T2),
                         "throughput": two["global_batch"] / T2}
        blocking_wait = two["blocking"]["wait"]
        row["hidden_fraction"] = (two["blocking"]["T"] - two["overlapped"]["T"]) / blocking_wait
        report["configs"][name] = row
        print(f"{name}: per-rank batch {two['per_rank_batch']}, gradient {one['gradient_bytes'] / 1e6:.2f} MB")
        print(f"  K=1, batch {two['global_batch']}: {T1 * 1e3:.2f} ms/step, {two['global_batch'] / T1:,.0f} ex/s"
              f" (batch {two['per_rank_batch']}: {one['T_per_rank_batch'] * 1e3:.2f} ms)")
        for mode in ("overlapped", "blocking"):
            r = row[mode]
            print(f"  K=2 {mode:>10}: {r['T2'] * 1e3:.2f} ms/step, {r['throughput']:,.0f} ex/s, speed-up "
                  f"{r['speedup']:.2f}x, efficiency {r['efficiency']:.0%}, waiting {r['wait'] * 1e3:.2f} ms/step")
        print(f"  overlap hides {row['hidden_fraction']:.0%} of the blocking all-reduce's time")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
