"""``python -m benchmarks.run``: nablanet against scikit-learn, PyTorch and the GEMM bound.

A thin entry point: the suite lives in ``nablanet.bench`` so that the installed
``nablanet bench`` runs the same code. ``--help`` lists the options.
"""

import sys

from nablanet.bench import main

if __name__ == "__main__":
    sys.exit(main())
