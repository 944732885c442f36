"""The ``nablanet`` command line.

Each module in this package that defines ``register(subparsers)`` adds its own
subcommands; ``main`` finds them, so a new command is a new file. A subcommand
sets ``func`` (taking the parsed args, returning an exit code) with
``parser.set_defaults(func=...)``.

Exit codes: 0 ok, 1 any error (one clear line; the traceback only with
``--debug``), 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from nablanet import __version__

    parser = argparse.ArgumentParser(
        prog="nablanet", description="Train feed-forward networks by backpropagation."
    )
    parser.add_argument("--version", action="version", version=f"nablanet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("nablanet: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one clear line, unless --debug
        if args.debug:
            raise
        print(f"nablanet: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
