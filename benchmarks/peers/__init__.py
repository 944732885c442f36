"""The peer benchmark: nablanet against scikit-learn, PyTorch, a plain NumPy loop and the GEMM bound.

``bench`` is the harness (``python -m benchmarks.run``), ``floor`` the plain NumPy
training loop it measures beside nablanet. Both use nablanet's public modules only.
"""
