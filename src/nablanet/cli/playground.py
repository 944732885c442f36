"""``nablanet playground``: backpropagation live in the browser, and the live view of real runs.

    nablanet playground [--port N] [--host 127.0.0.1] [--no-browser] [--live]

Prints the page's address with its token and serves until Ctrl-C. ``--live`` opens
the live view, which follows runs started with ``nablanet train --live URL``.
Needs ``pip install "nablanet[web]"`` (Starlette and uvicorn).
"""

from __future__ import annotations

import argparse
import sys

from nablanet.web.server import serve


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(
            f"a port is an integer in [0, 65535] (0: any free one), got {text!r}"
        )
    return n


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "playground",
        help="train a network live in the browser, with BP1-BP4 on screen",
        description="Serve the nablanet playground on 127.0.0.1 (a free port by default) and open it. "
        "The network trains in Python, with nablanet; the page draws it.",
    )
    p.add_argument("--port", type=_port, default=0, help="port to listen on (default: any free one)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    p.add_argument("--live", action="store_true", help="open the live view of real training runs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        print('nablanet: error: the playground needs pip install "nablanet[web]"', file=sys.stderr)
        return 1
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"nablanet: warning: serving on {args.host}, reachable from other machines", file=sys.stderr)
    serve(args.host, args.port, open_browser=not args.no_browser, live=args.live)
    return 0
