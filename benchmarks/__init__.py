"""nablanet's benchmark suite; ``python -m benchmarks.run``. The code is in ``nablanet.bench``."""
