"""nablanet's benchmarks, run from the repository root; not part of the installed package.

``python -m benchmarks.run``: the peer benchmark (``benchmarks/peers/``). The other
scripts here are small tools for working on the core; see ``benchmarks/README.md``.
"""
