"""``nablanet bench``: nablanet against scikit-learn, PyTorch and the GEMM bound.

The suite itself is ``nablanet.bench``; ``python -m benchmarks.run`` is the same.
"""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    from nablanet import bench

    parser = subparsers.add_parser(
        "bench",
        help="time one epoch against scikit-learn, PyTorch and the GEMM bound",
        description="Train the same networks for one epoch with nablanet, its per-example reference, "
        "scikit-learn and PyTorch; time the GEMM bound; write a markdown table and a JSON file.",
    )
    bench.add_arguments(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if any measured target is missed")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    from nablanet import bench

    report, md_path = bench.run_and_write(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(bench.markdown(report))
    print(f"written: {md_path} and {md_path.with_suffix('.json')}", file=sys.stderr)
    missed = [t for t in report["summary"]["targets"] if not t["met"]]
    return 1 if args.check and missed else 0
