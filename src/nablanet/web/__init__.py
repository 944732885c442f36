"""The browser views: ``nablanet playground`` (backprop live) and the live view of real runs.

``data`` and ``protocol`` need NumPy only; ``server`` imports Starlette and uvicorn
(``pip install "nablanet[web]"``) only when it builds or runs the server; ``live``
reports a training run to a server with the standard library alone.
"""
