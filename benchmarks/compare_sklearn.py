"""NablaClassifier against scikit-learn's MLPClassifier: test accuracy and fit time.

Both get the same architecture (one hidden layer of 100 ReLU units, a softmax
output), the same solver (Adam, η = 0.001, β₁ = 0.9, β₂ = 0.999, alpha = 1e-4),
the same mini-batch size (200) and the same number of epochs: stopping on the
loss is switched off (tol=0, n_iter_no_change=epochs) so that neither stops
earlier than the other. Each configuration is fitted several times with
seeds 0, 1, …; the table shows the medians and the range of the test accuracy.

MLPClassifier computes in the dtype of its input: float64 data (what most users
pass) trains in float64 and float32 data in float32. Both rows are shown.
NablaClassifier trains in its ``dtype`` parameter (float32 by default).

BLAS runs on ``--threads`` threads (default 1) for both libraries, through
threadpoolctl: on a small shared machine, multi-threaded BLAS timings swing by
a factor of ten with whatever else is running. Times are medians of wall-clock
time and of the process's CPU time; with one thread and other jobs on the
machine, CPU time is the steadier measure of the work each library does.

    python benchmarks/compare_sklearn.py            # digits and Fashion-MNIST
    python benchmarks/compare_sklearn.py --quick    # digits only, one run
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import nablanet
from nablanet import datasets
from nablanet.estimators import NablaClassifier


def make(kind: str, epochs: int, seed: int):
    """The two estimators with identical settings; kind picks the library and dtype."""
    common = dict(
        hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=1e-4, batch_size=200,
        max_iter=epochs, tol=0.0, n_iter_no_change=epochs, random_state=seed,
    )  # fmt: skip
    if kind.startswith("MLPClassifier"):
        return MLPClassifier(learning_rate_init=1e-3, **common)
    return NablaClassifier(learning_rate=1e-3, dtype=kind.split()[-1], **common)


KINDS = {  # label -> dtype of the data given to fit
    "MLPClassifier float64": np.float64,
    "MLPClassifier float32": np.float32,
    "NablaClassifier float32": np.float64,  # float64 data, as users pass it; cast inside
    "NablaClassifier float64": np.float64,
}


def fit_once(data, kind: str, epochs: int, seed: int) -> tuple[float, float, float]:
    """(test accuracy, wall-clock seconds, CPU seconds) of one fit."""
    X_train = data.X_train.astype(KINDS[kind])
    est = make(kind, epochs, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wall, cpu = time.perf_counter(), time.process_time()
        est.fit(X_train, data.y_train)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert est.n_iter_ == epochs, f"{kind} stopped after {est.n_iter_} of {epochs} epochs"
    return est.score(data.X_test.astype(KINDS[kind]), data.y_test), wall, cpu


def measure(data, epochs: int, runs: int) -> dict[str, dict]:
    """Medians per configuration. The configurations take turns within each seed, so that
    a change in the machine's load during the benchmark affects them all alike."""
    fits: dict[str, list] = {kind: [] for kind in KINDS}
    for seed in range(runs):
        for kind in KINDS:
            fits[kind].append(fit_once(data, kind, epochs, seed))
    results = {}
    for kind, triples in fits.items():
        accuracy, wall, cpu = zip(*triples)
        results[kind] = {
            "accuracy": statistics.median(accuracy),
            "range": (min(accuracy), max(accuracy)),
            "wall": statistics.median(wall),
            "cpu": statistics.median(cpu),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits-runs", type=int, default=10, help="fits per configuration (seeds 0, 1, …)")
    parser.add_argument("--fashion-runs", type=int, default=3)
    parser.add_argument("--digits-epochs", type=int, default=100)
    parser.add_argument("--fashion-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both libraries")
    parser.add_argument("--quick", action="store_true", help="digits only, one run")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args) -> None:
    sets = [("digits", args.digits_epochs, 1 if args.quick else args.digits_runs)]
    if not args.quick:
        sets.append(("fashion-mnist", args.fashion_epochs, args.fashion_runs))

    import sklearn

    print(
        f"nablanet {nablanet.__version__}, scikit-learn {sklearn.__version__}, NumPy {np.__version__}, "
        f"Python {platform.python_version()}; {args.threads} BLAS thread(s); "
        "seeds 0, 1, … per configuration\n"
    )
    print(
        "| dataset (train/test, epochs, runs) | estimator | trains in "
        "| test accuracy, median (min–max) | fit wall time (s) | fit CPU time (s) | speed-up (wall, CPU) |"
    )
    print("|---|---|---|---:|---:|---:|---:|")
    for name, epochs, runs in sets:
        data = datasets.load(name, download=False)
        label = f"{name} ({len(data.y_train)}/{len(data.y_test)}, {epochs}, {runs})"
        results = measure(data, epochs, runs)
        base = results["MLPClassifier float64"]
        for kind, r in results.items():
            estimator, dtype = kind.split()
            low, high = r["range"]
            print(
                f"| {label} | {estimator} | {dtype} | {r['accuracy']:.4f} ({low:.4f}–{high:.4f}) "
                f"| {r['wall']:.2f} | {r['cpu']:.2f} "
                f"| {base['wall'] / r['wall']:.2f}×, {base['cpu'] / r['cpu']:.2f}× |",
                flush=True,
            )


if __name__ == "__main__":
    main()
