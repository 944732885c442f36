"""Argument types shared by the subcommands: a bad value is a usage error (exit 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


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


positive_int = _number(int, lambda n: n >= 1, "a positive integer")
count = _number(int, lambda n: n >= 0, "an integer ≥ 0")
positive_float = _number(float, lambda x: 0 < x < math.inf, "a positive number")
nonnegative_float = _number(float, lambda x: 0 <= x < math.inf, "a number ≥ 0")
fraction = _number(float, lambda x: 0 <= x < 1, "a fraction in [0, 1)")


def sizes(text: str) -> list[int]:
    """Comma-separated layer sizes, each ≥ 1: ``784,30,10``."""
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or any(n < 1 for n in values):
        raise argparse.ArgumentTypeError(f"expected integers ≥ 1, got {text!r}")
    return values


def hidden_sizes(text: str) -> list[int]:
    """Hidden layer sizes, or ``none`` (or 0) for a network without hidden layers."""
    return [] if text.strip().lower() in ("none", "0") else sizes(text)


def numbers(text: str) -> list[float]:
    """Comma-separated finite numbers."""
    try:
        values = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values
