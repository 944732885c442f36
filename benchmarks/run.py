"""``python -m benchmarks.run``: nablanet against scikit-learn, PyTorch and the GEMM bound.

Run it from the repository root (the harness is ``benchmarks/peers/``, which is not
installed with nablanet); ``--help`` lists the options.
"""

import sys

from benchmarks.peers.bench import main

if __name__ == "__main__":
    sys.exit(main())
