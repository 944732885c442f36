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


def _step_time(net, par, x, y, steps: int, m: int) -> tuple[float, float, float]:
    """Median and smallest seconds per training step, and mean seconds a step waited on the all-reduce.

    The machine is shared: the median is what a run gets, the smallest what the
    step costs undisturbed (the compute model is fitted to it).
    """
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
        train_step(
            net, opt, x, y, 0.0, None, ws, reduce, m, layer_done=None if par is None else reduce.layer_done
        )
        times.append(time.perf_counter() - t)
    wait = 0.0 if par is None else par.wait_seconds / par.steps
    return float(np.median(times[3:])), float(np.min(times[3:])), wait


def _allreduce_times(comm) -> list[tuple[int, float, float]]:
    """(bytes, smallest, median seconds) of Allreduce calls, each timed on its own after a Barrier."""
    from mpi4py import MPI

    out = []
    for nbytes in SIZES:
        a = np.ones(nbytes // 4, np.float32)
        times = []
        for _ in range(max(5, min(100, (1 << 26) // nbytes))):
            comm.Barrier()
            t = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, a)
            times.append(time.perf_counter() - t)
        times = np.array(times)
        comm.Allreduce(MPI.IN_PLACE, times, op=MPI.MAX)  # a call ends when both ranks have the sum
        out.append((nbytes, float(np.min(times)), float(np.median(times))))
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
        m = 2 * b  # the global batch of the K = 2 runs
        x = np.asfortranarray(rng.random((sizes[0], b if K > 1 else 2 * b), dtype=np.float32))
        y = np.zeros((sizes[-1], x.shape[1]), np.float32)
        y[rng.integers(0, sizes[-1], x.shape[1]), np.arange(x.shape[1])] = 1
        row: dict = {"per_rank_batch": b, "global_batch": m, "gradient_bytes": net.n_params * 4}
        if K == 1:  # the global batch of 2 ranks, and smaller ones for T_compute(b)
            row["T"], row["T_min"], _ = _step_time(net, None, x, y, steps, m)
            row["by_batch"] = {}
            for bb in (b // 4, b // 2, b):
                t, t_min, _ = _step_time(net, None, np.asfortranarray(x[:, :bb]), y[:, :bb], steps, bb)
                row["by_batch"][bb] = {"T": t, "T_min": t_min}
            row["by_batch"][m] = {"T": row["T"], "T_min": row["T_min"]}
        else:
            for mode, overlap in (("overlapped", True), ("blocking", False)):
                par = DataParallel(comm, overlap=overlap)
                t, t_min, wait = _step_time(net, par, x, y, steps, m)
                row[mode] = {
                    "T": max(comm.allgather(t)),
                    "T_min": max(comm.allgather(t_min)),
                    "wait": max(comm.allgather(wait)),
                }
        result["configs"][name] = row
    if K > 1:
        result["allreduce"] = _allreduce_times(comm)
    if rank == 0:
        print(json.dumps(result), flush=True)


def _fit_alpha_beta(points: list[tuple[int, float, float]], K: int = 2) -> tuple[float, float]:
    """α from the smallest message, β from the messages of 1 MB and more (the gradients' range).

    Ring model t = 2(K−1)·α + 2(K−1)/K · bytes/β, on the smallest times: 2(K−1)·α is
    the 1 KB all-reduce's time, and β the least-squares slope of the rest above it.
    """
    alpha = points[0][1] / (2 * (K - 1))
    big = [(n, t - 2 * (K - 1) * alpha) for n, t, _ in points if n >= 1 << 20]
    x = np.array([n * 2 * (K - 1) / K for n, _ in big], float)
    y = np.array([t for _, t in big])
    return alpha, float(x @ x / (x @ y))


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
        done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300, check=True)
        runs[K] = json.loads(done.stdout.strip().splitlines()[-1])
    alpha, beta = _fit_alpha_beta(runs[2]["allreduce"])
    report = {
        "load_average": [load_before, os.getloadavg()],
        "cores": os.cpu_count(),
        "alpha_s": alpha,
        "beta_bytes_per_s": beta,
        "allreduce": runs[2]["allreduce"],
        "configs": {},
    }
    print(
        f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores"
    )
    print(f"all-reduce (2 ranks, float32): alpha = {alpha * 1e6:.1f} us, beta = {beta / 1e9:.2f} GB/s")
    for nbytes, t, t_median in runs[2]["allreduce"]:
        predicted = ring(nbytes, 2, alpha, beta)
        print(
            f"  {nbytes / 1024:>8.0f} KB  smallest {t * 1e3:8.3f} ms  median {t_median * 1e3:8.3f} ms"
            f"  model {predicted * 1e3:8.3f} ms"
        )
    for name in CONFIGS:
        one, two = runs[1]["configs"][name], runs[2]["configs"][name]
        T1 = one["T"]
        row = {"T1": T1, "T1_min": one["T_min"], "by_batch": one["by_batch"]}
        row["gradient_bytes"] = one["gradient_bytes"]
        for mode in ("overlapped", "blocking"):
            T2 = two[mode]["T"]
            row[mode] = {
                "T2": T2,
                "T2_min": two[mode]["T_min"],
                "wait": two[mode]["wait"],
                "speedup": T1 / T2,
                "efficiency": T1 / (2 * T2),
                "throughput": two["global_batch"] / T2,
            }
        blocking_wait = two["blocking"]["wait"]
        row["hidden_fraction"] = (two["blocking"]["T"] - two["overlapped"]["T"]) / blocking_wait
        row["hidden_fraction_min"] = (two["blocking"]["T_min"] - two["overlapped"]["T_min"]) / blocking_wait
        report["configs"][name] = row
        print(
            f"{name}: per-rank batch {two['per_rank_batch']}, gradient {one['gradient_bytes'] / 1e6:.2f} MB"
        )
        print(
            f"  K=1, batch {two['global_batch']}: {T1 * 1e3:.2f} ms/step, "
            f"{two['global_batch'] / T1:,.0f} ex/s"
            f" (smallest {one['T_min'] * 1e3:.2f} ms; batch {two['per_rank_batch']}: "
            f"{one['by_batch'][str(two['per_rank_batch'])]['T'] * 1e3:.2f} ms)"
        )
        for mode in ("overlapped", "blocking"):
            r = row[mode]
            print(
                f"  K=2 {mode:>10}: {r['T2'] * 1e3:.2f} ms/step (smallest {r['T2_min'] * 1e3:.2f}), "
                f"{r['throughput']:,.0f} ex/s, speed-up "
                f"{r['speedup']:.2f}x, efficiency {r['efficiency']:.0%}, wait {r['wait'] * 1e3:.2f} ms/step"
            )
        print(
            f"  overlap hides {row['hidden_fraction']:.0%} of the blocking all-reduce's time "
            f"({row['hidden_fraction_min']:.0%} by the smallest times)"
        )
    report["model_check"] = model_check(report)
    report["projection"] = project(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


def ring(nbytes: float, K: int, alpha: float, beta: float) -> float:
    """The ring all-reduce's time: 2(K−1)/K · bytes/β + 2(K−1)·α."""
    return 2 * (K - 1) / K * nbytes / beta + 2 * (K - 1) * alpha


def compute_model(row: dict, b: int) -> tuple[float, float]:
    """T_compute(b) = c0 + c1·b, least squares (relative) on one process's smallest step times."""
    bs = np.array([float(k) for k in row["by_batch"]])
    t = np.array([v["T_min"] for v in row["by_batch"].values()])
    A = np.stack([np.ones_like(bs), bs], axis=1) / t[:, None]
    c0, c1 = np.linalg.lstsq(A, np.ones_like(t), rcond=None)[0]
    return max(0.0, float(c0)), float(c1)


def model_check(report: dict) -> dict:
    """T(K) = T_compute(m/K) + T_allreduce, against the K = 1 and K = 2 (blocking) runs."""
    out = {}
    print("model T(K) = T_compute(m/K) + ring all-reduce, with the alpha and beta above:")
    for name, (_, b) in CONFIGS.items():
        row = report["configs"][name]
        c0, c1 = compute_model(row, b)
        t_ar = ring(row["gradient_bytes"], 2, report["alpha_s"], report["beta_bytes_per_s"])
        predicted = {"T1": c0 + c1 * 2 * b, "T2": c0 + c1 * b + t_ar}
        measured = {"T1": row["T1_min"], "T2": row["blocking"]["T2_min"]}
        out[name] = {"predicted": predicted, "measured": measured, "allreduce": t_ar}
        print(
            f"  {name} (smallest times): T(1) predicted {predicted['T1'] * 1e3:.2f} ms, "
            f"measured {measured['T1'] * 1e3:.2f}; "
            f"T(2) predicted {predicted['T2'] * 1e3:.2f} ms (all-reduce {t_ar * 1e3:.2f}), "
            f"measured {measured['T2'] * 1e3:.2f}"
        )
    return out


# Networks of a cluster: bandwidth in bytes/s and a per-message latency (TCP over Ethernet,
# and RDMA-class 100 Gb/s); assumptions, stated in docs/distributed.md.
NETWORKS = {"10 Gb/s": (10e9 / 8, 30e-6), "100 Gb/s": (100e9 / 8, 5e-6)}


def project(report: dict) -> dict:
    """Efficiency T_c(b)/(T_c(b) + T_ar(K)) at the benchmark's per-rank batch, for 2-64 machines,
    and the per-rank batch b with T_c(b) ≥ 9·T_ar (≥ 90 %), compute as measured on one core here."""
    out: dict = {}
    print("projection (one rank per machine, compute per rank as measured here, no overlap):")
    for name, (_, b) in CONFIGS.items():
        row = report["configs"][name]
        c0, c1 = compute_model(row, b)
        for net_name, (beta, alpha) in NETWORKS.items():
            cells = []
            for K in (2, 4, 8, 16, 32, 64):
                t_ar = ring(row["gradient_bytes"], K, alpha, beta)
                eff = (c0 + c1 * b) / (c0 + c1 * b + t_ar)
                need = max(1, int(np.ceil((9 * t_ar - c0) / c1)))
                cells.append({"K": K, "efficiency": eff, "batch_for_90": need, "allreduce_s": t_ar})
            out[f"{name} {net_name}"] = cells
            print(
                f"  {name} on {net_name}: "
                + ", ".join(f"K={c['K']} {c['efficiency']:.0%} (b>={c['batch_for_90']})" for c in cells)
            )
    return out


if __name__ == "__main__":
    main()
