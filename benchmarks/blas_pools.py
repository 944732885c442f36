"""fit's time with SciPy's BLAS thread pool as it comes, or held to one thread.

Run:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.blas_pools C [--scipy-one]

NumPy and SciPy each ship an OpenBLAS, each with its own pool of worker threads.
When nablanet's step calls into both (the update's axpy through SciPy), the two
pools compete for the cores. This times one epoch of ``fit`` (plain SGD, after a
warm-up, on Fashion-MNIST where present, else random data) of configuration A, B
or C of the peer benchmark, and prints the wall and CPU µs per example and every
BLAS pool with its threads. ``--scipy-one`` loads SciPy's BLAS first and sets its
pool to one thread (threadpoolctl), leaving NumPy's as it is. Run it alternately
with and without, and against an older checkout with ``PYTHONPATH=<tree>/src``.
"""

from __future__ import annotations

import argparse
import time

import nablanet as nn
from benchmarks.peers.bench import CONFIGS, load_data


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", choices=sorted(CONFIGS))
    p.add_argument("--examples", type=int, default=6144)
    p.add_argument("--scipy-one", action="store_true", help="hold SciPy's BLAS pool to one thread")
    args = p.parse_args(argv)
    from threadpoolctl import ThreadpoolController  # the benchmark's dependency, not nablanet's

    numpy_blas = {c.filepath for c in ThreadpoolController().lib_controllers}
    if args.scipy_one:
        import scipy.linalg.blas  # noqa: F401  (loads SciPy's OpenBLAS now)

        for c in ThreadpoolController().lib_controllers:
            if c.filepath not in numpy_blas:
                c.set_num_threads(1)
    cfg = CONFIGS[args.config]
    X, y, _ = load_data(args.examples)
    net = nn.Network(cfg.sizes, cfg.activation, cfg.output, cfg.cost, cfg.init, seed=0)
    warm = min(len(X), 20 * cfg.batch)
    nn.fit(net, X[:warm], y[:warm], epochs=1, batch_size=cfg.batch, optimizer=nn.SGD(cfg.eta), seed=0)
    cpu, wall = time.process_time(), time.perf_counter()
    nn.fit(net, X, y, epochs=1, batch_size=cfg.batch, optimizer=nn.SGD(cfg.eta), seed=1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pools = [(c.filepath.rsplit("/", 1)[-1], c.num_threads) for c in ThreadpoolController().lib_controllers]
    print(
        f"{args.config}: wall {wall / len(X) * 1e6:.1f} µs/example, CPU {cpu / len(X) * 1e6:.1f} µs/example "
        f"(CPU/wall {cpu / wall:.2f}); BLAS pools {pools}"
    )


if __name__ == "__main__":
    main()
