"""What every subcommand checks the same way: numbers, size lists, output paths, optional extras.

A bad value given on the command line is a usage error (argparse, exit 2); an
output path that cannot be written is an error (exit 1) raised before any work.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ..io.atomic import resolve_target

# The extra that installs each optional library the commands use.
EXTRAS = {
    "rich": "cli",
    "sklearn": "cli",  # the bundled digits
    "matplotlib": "plot",
    "starlette": "web",
    "uvicorn": "web",
    "onnx": "export",
    "onnxruntime": "export",
    "mpi4py": "mpi",
}


def install_hint(module: str) -> str | None:
    """The exact ``pip install`` line for an optional library, or None if it is not one."""
    extra = EXTRAS.get(module.split(".")[0])
    return None if extra is None else f'pip install "nablanet[{extra}]"'


def need(module: str, what: str) -> None:
    """Fail now, naming the install line, when an optional library is missing."""
    if not has(module):
        raise MissingExtra(f"{what} needs {module}: {install_hint(module)}")


def has(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that is not a package; a module without a spec
        return False


class MissingExtra(RuntimeError):
    """An optional library that a command needs is not installed."""


# -- numbers -------------------------------------------------------------------------------


def _number(kind: type, ok: Callable[[float], bool], what: str) -> Callable[[str], float]:
    def parse(text: str):
        try:
            x = kind(text)
        except ValueError:
            x = None
        if x is None or not ok(x):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return x

    parse.__name__ = what  # argparse names the type in its messages
    return parse


def integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in [minimum, maximum]: the one integer check every option uses."""
    if maximum is None:
        what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
    else:
        what = f"an integer in [{minimum}, {maximum}]"
    return _number(int, lambda n: n >= minimum and (maximum is None or n <= maximum), what)


positive_int = integer(1)
count = integer(0)
seed = integer(0, 2**32 - 1)
positive_float = _number(float, lambda x: 0 < x < math.inf, "a positive number")
nonnegative_float = _number(float, lambda x: 0 <= x < math.inf, "a number ≥ 0")
fraction = _number(float, lambda x: 0 <= x < 1, "a fraction in [0, 1)")
open_fraction = _number(float, lambda x: 0 < x < 1, "a fraction in (0, 1)")


def integers(text: str, what: str, sep: str = ",") -> list[int]:
    """Integers ≥ 1 separated by ``sep``: every list of sizes, shapes and indices is read here."""
    cells = text.split(sep)
    if any(not c.strip() for c in cells):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty entry; expected {what}")
    parse = integer(1)
    try:
        return [parse(c.strip()) for c in cells]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected {what} (integers ≥ 1), got {text!r}") from None


def sizes(text: str) -> list[int]:
    """Every layer's size, input first: ``784,30,10`` (``--sizes``)."""
    values = integers(text, "layer sizes such as 784,30,10")
    if len(values) < 2:
        raise argparse.ArgumentTypeError(
            f"--sizes lists every layer, input first and output last (e.g. 784,30,10), got {text!r}"
        )
    return values


def hidden_sizes(text: str) -> list[int]:
    """Hidden layer sizes (``--layers``), or ``none`` (or 0) for no hidden layer."""
    return [] if text.strip().lower() in ("none", "0") else integers(text, "hidden sizes such as 128,64")


def numbers(text: str) -> list[float]:
    """Comma-separated finite numbers."""
    try:
        values = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def rates(text: str) -> float | list[float]:
    """A dropout rate in [0, 1), or one per hidden layer: ``0.5`` or ``0.5,0.2``."""
    values = numbers(text)
    if not all(0 <= p < 1 for p in values):
        raise argparse.ArgumentTypeError(f"dropout rates must be in [0, 1), got {text!r}")
    return values[0] if len(values) == 1 and "," not in text else values


def no_layers(command: str, example: str):
    """The type of a command's ``--layers`` where only ``--sizes`` applies: a clear usage error."""

    def parse(text: str):
        raise argparse.ArgumentTypeError(
            f"{command} takes every layer's size as --sizes (e.g. --sizes {example}); "
            "--layers means hidden sizes only, as in nablanet train"
        )

    parse.__name__ = "--layers"
    return parse


# -- output paths ----------------------------------------------------------------------------


def check_output(path: str | os.PathLike, flag: str, suffixes: Sequence[str] = ()) -> Path:
    """``path`` if a file can be written there, or an error naming ``flag`` (call before any work)."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} {p}: the name must end in {' or '.join(suffixes)}")
    if p.is_dir():
        example = p / ("out" + (suffixes[0] if suffixes else ".npz"))
        raise IsADirectoryError(f"{flag} {p}: is a folder; give a file name, e.g. {example}")
    if not p.parent.is_dir():
        raise FileNotFoundError(f"{flag} {p}: the folder {p.parent} does not exist")
    try:
        target = resolve_target(p)
    except OSError as e:
        raise OSError(e.errno, f"{flag} {p}: {e.strerror}") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{flag} {p}: the folder {target.parent} is not writable")
    return p
