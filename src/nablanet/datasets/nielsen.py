"""Nielsen's ``mnist.pkl.gz``, read without ever running an unpickler.

The file is a pickle of ((X, y), (X, y), (X, y)) with NumPy arrays inside. A
pickle is a small program: ``pickle.load`` would import and call whatever the
file names, which is how a malicious file runs code. Instead, ``read_restricted``
decodes the opcodes with ``pickletools.genops`` (which only parses) and
interprets the few that build tuples, strings, numbers and arrays. The only
"callables" it knows are the four names NumPy uses to rebuild an array, and
those are never imported: they are recognised by name and replaced by code here
that checks the array's dtype and its byte count before building it.
"""

from __future__ import annotations

import math
import os
import pickletools
import warnings
from pathlib import Path

import numpy as np

from .base import MAX_BYTES, Dataset, DatasetError, read_capped

__all__ = ["read_restricted", "load_pickled_mnist"]

# (module, name) pairs the reader understands; anything else is refused.
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_FROMBUFFER = {("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}
_KNOWN = {*_RECONSTRUCT, *_FROMBUFFER, ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
_DTYPES = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}

_MARK = object()
_PUSH_ARG = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
}  # fmt: skip
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_TUPLE": ()}
_IGNORED = {"PROTO", "FRAME"}


class _Global:
    def __init__(self, module: str, name: str):
        self.key = (module, name)


class _DType:
    def __init__(self, spec: str):
        self.spec, self.order = spec, "|"

    def build(self) -> np.dtype:
        return np.dtype(self.spec).newbyteorder(self.order if self.order in "<>" else "=")


class _PendingArray:
    """What ``_reconstruct`` returns; BUILD fills in shape, dtype and bytes."""


def read_restricted(data: bytes, source: str | os.PathLike, error=DatasetError):
    """The value of a pickle made of tuples, numbers, strings and NumPy arrays, or ``error``."""
    stack: list = []
    memo: dict = {}
    try:
        with warnings.catch_warnings():  # protocol 0 strings may hold odd escapes
            warnings.simplefilter("ignore", DeprecationWarning)
            ops = list(pickletools.genops(data))
        for op, arg, pos in ops:
            name = op.name
            if name in _IGNORED:
                continue
            if name == "STOP":
                if len(stack) != 1:
                    raise error(f"{source}: malformed pickle (stack of {len(stack)} at STOP)")
                return _final(stack.pop(), source, error)
            _step(name, arg, pos, stack, memo, source, error)
    except error:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, UnicodeError, MemoryError) as e:
        raise error(f"{source}: not a valid pickle of arrays ({type(e).__name__}: {e})") from None
    raise error(f"{source}: the pickle ends without STOP")


def _step(name, arg, pos, stack, memo, source, error) -> None:
    if name in _PUSH_ARG:
        stack.append(arg)
    elif name in _CONSTANTS:
        stack.append(_CONSTANTS[name])
    elif name == "MARK":
        stack.append(_MARK)
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        n = int(name[-1])
        items = stack[-n:]
        if len(items) != n or any(x is _MARK for x in items):
            raise error(f"{source}: malformed pickle at byte {pos}")
        del stack[-n:]
        stack.append(tuple(items))
    elif name == "TUPLE":
        marks = [i for i, x in enumerate(stack) if x is _MARK]
        if not marks:
            raise error(f"{source}: malformed pickle (TUPLE without MARK at byte {pos})")
        at = marks[-1]
        items = tuple(stack[at + 1 :])
        del stack[at:]
        stack.append(items)
    elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[arg])
    elif name in ("GLOBAL", "STACK_GLOBAL"):
        if name == "GLOBAL":
            module, _, attr = arg.partition(" ")
        else:
            module, attr = stack[-2], stack[-1]
            del stack[-2:]
        if (module, attr) not in _KNOWN:
            raise error(f"{source}: the pickle refers to {module}.{attr}, which this reader refuses")
        stack.append(_Global(module, attr))
    elif name == "REDUCE":
        args = stack.pop()
        func = stack.pop()
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            raise error(f"{source}: malformed pickle (REDUCE at byte {pos})")
        stack.append(_call(func.key, args, source, error))
    elif name == "BUILD":
        state = stack.pop()
        stack[-1] = _build(stack[-1], state, source, error)
    else:
        raise error(f"{source}: pickle opcode {name} at byte {pos} is not allowed in a data file")


def _call(key, args, source, error):
    """The effect of calling one of the known names, done here without importing it."""
    if key == ("_codecs", "encode") and len(args) == 2 and isinstance(args[0], str) and args[1] == "latin1":
        return args[0].encode("latin-1")
    if key == ("numpy", "dtype") and args and isinstance(args[0], str) and args[0] in _DTYPES:
        return _DType(args[0])
    if key in _RECONSTRUCT and args and isinstance(args[0], _Global) and args[0].key == ("numpy", "ndarray"):
        return _PendingArray()
    if key in _FROMBUFFER and len(args) == 4 and isinstance(args[1], _DType):
        buffer, dtype, shape, order = args
        return _array(buffer, dtype, shape, order == "F", source, error)
    raise error(f"{source}: the pickle calls {'.'.join(key)} with arguments this reader refuses")


def _build(obj, state, source, error):
    if (
        isinstance(obj, _DType)
        and isinstance(state, tuple)
        and len(state) >= 2
        and state[1] in ("<", ">", "|", "=")
    ):
        obj.order = state[1]
        return obj
    if isinstance(obj, _PendingArray) and isinstance(state, tuple) and len(state) == 5:
        _, shape, dtype, fortran, raw = state
        if isinstance(dtype, _DType):
            return _array(raw, dtype, shape, bool(fortran), source, error)
    raise error(f"{source}: the pickle sets up an object this reader does not accept")


def _array(raw, dtype: _DType, shape, fortran: bool, source, error) -> np.ndarray:
    if isinstance(raw, str):  # a Python 2 str: its code points are the bytes
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)):
        raise error(f"{source}: array data is {type(raw).__name__}, not bytes")
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        raise error(f"{source}: an array has an invalid shape {shape!r}")
    dt = dtype.build()
    need = math.prod(shape) * dt.itemsize
    if need != len(raw):
        raise error(f"{source}: an array of shape {shape} and dtype {dt} needs {need} bytes, has {len(raw)}")
    a = np.frombuffer(bytes(raw), dtype=dt).reshape(shape, order="F" if fortran else "C")
    return a.astype(dt.newbyteorder("="))


def _final(value, source, error):
    if isinstance(value, (_Global, _DType, _PendingArray)):
        raise error(f"{source}: the pickle's result is not data")
    return value


def load_pickled_mnist(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> Dataset:
    """Nielsen's ``mnist.pkl.gz``: ((X, y) train, (X, y) validation, (X, y) test).

    The 50,000 training and 10,000 validation images together become the training
    set; hold some out again with ``train_validation_split``.
    """
    path = Path(path)
    parts = read_restricted(read_capped(path, max_bytes), path)
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise DatasetError(f"{path}: expected a (train, validation, test) tuple")
    pairs = [_check_part(path, part, which) for part, which in zip(parts, ("train", "validation", "test"))]
    (Xt, yt), (Xv, yv), (Xs, ys) = pairs
    if not Xt.shape[1] == Xv.shape[1] == Xs.shape[1]:
        raise DatasetError(f"{path}: the parts have different numbers of pixels")
    side = math.isqrt(Xt.shape[1])
    shape = (side, side) if side * side == Xt.shape[1] else None
    return Dataset("mnist.pkl", np.vstack([Xt, Xv]), np.concatenate([yt, yv]), Xs, ys, 10, shape)


def _check_part(path: Path, part, which: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(part, tuple) and len(part) == 2 and all(isinstance(a, np.ndarray) for a in part)):
        raise DatasetError(f"{path}: the {which} part is not an (images, labels) pair of arrays")
    X, y = part
    if X.ndim != 2 or X.dtype.kind != "f" or y.ndim != 1 or y.dtype.kind not in "iu":
        raise DatasetError(
            f"{path}: the {which} part has images {X.dtype} {X.shape}, labels {y.dtype} {y.shape}"
        )
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise DatasetError(f"{path}: the {which} part has {X.shape[0]} images and {y.shape[0]} labels")
    if y.min() < 0 or y.max() > 9:
        raise DatasetError(f"{path}: the {which} labels are outside 0 … 9")
    if not np.isfinite(X).all() or X.min() < 0 or X.max() > 1:
        raise DatasetError(f"{path}: the {which} images are not all within [0, 1]")
    return X.astype(np.float32), y.astype(np.int64)
