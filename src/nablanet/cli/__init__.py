"""The ``nablanet`` command line.

Each module in this package that defines ``register(subparsers)`` adds its own
subcommands, and ``main`` finds them: a new command is a new file (``export.py``
for ``nablanet export``, for example). Modules whose names start with ``_`` are
the commands' shared parts and are not searched. A subcommand sets ``func``
(taking the parsed args, returning an exit code) with
``parser.set_defaults(func=...)``, and may set ``json=True`` on the args for
``--json`` output.

Exit codes: 0 ok, 1 any error (one clear line; the traceback only with
``--debug``, which may come before or after the subcommand), 2 a usage error,
130 interrupted, 141 when stdout was closed early (``nablanet train --json | head -1``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from collections.abc import Sequence

from .._version import __version__
from ._args import install_hint

FIRST = ("train", "evaluate", "predict", "info", "report")


class CommandParser(argparse.ArgumentParser):
    """A parser that accepts ``--debug`` too, so that it may follow the subcommand."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.prog != "nablanet":  # the top level adds its own, with a default
            self.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback on error"
            )


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="nablanet", description="Train feed-forward networks by backpropagation.")
    parser.add_argument("--version", action="version", version=f"nablanet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for info in sorted(pkgutil.iter_modules(__path__), key=_order):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def _order(info) -> tuple:
    """A user's way through the commands first; the others, and new ones, after, by name."""
    return (FIRST.index(info.name) if info.name in FIRST else len(FIRST), info.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        if getattr(args, "json", False):
            _event({"event": "interrupted"})
        print("nablanet: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one clear line, unless --debug
        if args.debug:
            raise
        hint = install_hint(e.name or "") if isinstance(e, ModuleNotFoundError) else None
        message = f"{args.command} needs {e.name}: {hint}" if hint else str(e)
        if getattr(args, "json", False):
            _event({"event": "error", "message": message})
        print(f"nablanet: error: {message}", file=sys.stderr)
        return 1


def _event(record: dict) -> None:
    try:
        print(json.dumps(record), flush=True)
    except BrokenPipeError:
        pass


def _stdout_closed() -> int:
    """The reader of stdout left (``| head``): end quietly, as other tools do (128 + SIGPIPE)."""
    try:  # later writes, and the interpreter's last flush, go nowhere instead of failing
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (pytest's capture)
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
