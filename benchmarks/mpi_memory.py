"""Memory per rank of data-parallel training on Fashion-MNIST (docs/distributed.md).

    mpiexec -n 2 python -m benchmarks.mpi_memory [--dtype float32] [--epochs 1]

Every rank loads the whole data set (nablanet.datasets.load) and trains
[784, 100, 10] with ``fit(comm=MPI.COMM_WORLD)``; each rank's peak resident set
(ru_maxrss) is printed after loading and after training, with the data's own size.
"""

from __future__ import annotations

import argparse
import resource

from mpi4py import MPI

import nablanet
from nablanet import datasets
from nablanet.parallel import evaluate


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", default="float32")
    p.add_argument("--epochs", type=int, default=1)
    args = p.parse_args()
    comm = MPI.COMM_WORLD
    start = peak_mb()
    data = datasets.load("fashion-mnist")
    X = data.X_train.astype(args.dtype, copy=False)
    loaded = peak_mb()
    net = nablanet.Network([784, 100, 10], dtype=args.dtype, seed=0)
    h = nablanet.fit(net, X, data.y_train, epochs=args.epochs, batch_size=256, seed=0, comm=comm)
    test = evaluate(net, data.X_test, data.y_test, comm)
    rows = comm.gather((comm.Get_rank(), start, loaded, peak_mb()))
    if comm.Get_rank() == 0:
        nbytes = sum(a.nbytes for a in (data.X_train, data.y_train, data.X_test, data.y_test))
        print(f"Fashion-MNIST arrays: {nbytes / 2**20:.0f} MiB ({data.X_train.dtype}); K = {comm.Get_size()}")
        print(f"cost {h.cost[-1]:.4f}, test accuracy {test[1]:.4f}")
        for rank, s, l, t in rows:
            print(
                f"rank {rank}: peak RSS {s:.0f} MiB at start, {l:.0f} MiB loaded, {t:.0f} MiB after training"
            )


if __name__ == "__main__":
    main()
