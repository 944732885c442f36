"""Nielsen's ``mnist.pkl.gz``, read without ever running an unpickler.

The file is a pickle of ((X, y), (X, y), (X, y)) with NumPy arrays inside. A
pickle is a small program: ``pickle.load`` would import and call whatever the
file names, which is how a malicious file runs code. Instead, ``read_restricted``
decodes the opcodes itself and interprets the few that build tuples, strings,
numbers and arrays. The only "callables" it knows are the names NumPy uses to
rebuild an array, and those are never imported: they are recognised by name and
replaced by code here that checks the array's dtype and byte count first.

Its cost is bounded by the input: each opcode does constant work besides copying
its own argument (TUPLE pops what was pushed; marks have their own stack), the
stack, the memo and the opcode count are capped, and arrays are views of the
decompressed bytes, so copies made on the file's behalf never exceed its size.
"""

from __future__ import annotations

import codecs
import math
import os
import struct
from pathlib import Path

import numpy as np

from .base import Dataset, DatasetError, check_rows, read_capped

__all__ = ["read_restricted", "load_pickled_mnist", "MAX_OPS", "MAX_STACK"]

# (module, name) pairs the reader understands; anything else is refused.
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_FROMBUFFER = {("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}
_KNOWN = {*_RECONSTRUCT, *_FROMBUFFER, ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
_DTYPES = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}

# Nielsen's file holds 6 arrays in some 200 opcodes: these caps are far above any data
# pickle and far below what makes a hostile one slow.
MAX_OPS = 20_000
MAX_STACK = 10_000
MAX_RATIO = 20.0  # the real file unpacks 12.9×; its arrays are already float32
_MARK = object()


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


class _Py2Str(bytes):
    """A Python 2 ``str``: bytes that stand for text (a dtype name) or data (an array's)."""


def _text(x) -> str | None:
    if isinstance(x, str):
        return x
    return x.decode("latin-1") if isinstance(x, _Py2Str) else None


class _Input:
    """A cursor over the pickle's bytes; every read is bounds-checked."""

    def __init__(self, data, error, source):
        self.data, self.view, self.pos = data, memoryview(data), 0
        self.error, self.source = error, source

    def take(self, n: int) -> memoryview:
        """The next n bytes, as a view: each argument is copied once, by its own type."""
        if n < 0 or self.pos + n > len(self.data):
            raise self.error(f"{self.source}: the pickle is truncated at byte {self.pos}")
        chunk = self.view[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def line(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise self.error(f"{self.source}: the pickle is truncated at byte {self.pos}")
        text = bytes(self.data[self.pos : end])
        self.pos = end + 1
        return text

    def sized(self, width: int, signed: bool = False) -> memoryview:
        n = int.from_bytes(self.take(width), "little", signed=signed)
        return self.take(n)


def _small_int(text: bytes) -> int | bool:
    """INT and LONG in protocol 0: a decimal line, "01"/"00" for True/False; 20 digits at most."""
    text = text.rstrip(b"L")
    if text in (b"01", b"00"):
        return text == b"01"
    if len(text) > 20:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _long(raw: memoryview) -> int:
    if len(raw) > 8:  # shapes and flags: no array needs a wider integer
        raise ValueError(f"an integer of {len(raw)} bytes")
    return int.from_bytes(raw, "little", signed=True)


# opcode → (name, how its argument is read)
_OPS = {
    0x80: ("PROTO", lambda r: r.uint(1)),
    0x95: ("FRAME", lambda r: r.uint(8)),
    ord("."): ("STOP", None),
    ord("("): ("MARK", None),
    ord("t"): ("TUPLE", None),
    0x85: ("TUPLE1", None),
    0x86: ("TUPLE2", None),
    0x87: ("TUPLE3", None),
    ord(")"): ("PUSH", lambda r: ()),
    ord("N"): ("PUSH", lambda r: None),
    0x88: ("PUSH", lambda r: True),
    0x89: ("PUSH", lambda r: False),
    ord("I"): ("PUSH", lambda r: _small_int(r.line())),
    ord("L"): ("PUSH", lambda r: _small_int(r.line())),
    ord("J"): ("PUSH", lambda r: int.from_bytes(r.take(4), "little", signed=True)),
    ord("K"): ("PUSH", lambda r: r.uint(1)),
    ord("M"): ("PUSH", lambda r: r.uint(2)),
    0x8A: ("PUSH", lambda r: _long(r.sized(1))),
    0x8B: ("PUSH", lambda r: _long(r.sized(4, signed=True))),
    ord("S"): ("PUSH", lambda r: _Py2Str(codecs.escape_decode(r.line().strip()[1:-1])[0])),
    ord("T"): ("PUSH", lambda r: _Py2Str(r.sized(4, signed=True))),
    ord("U"): ("PUSH", lambda r: _Py2Str(r.sized(1))),
    ord("V"): ("PUSH", lambda r: r.line().decode("raw-unicode-escape")),
    ord("X"): ("PUSH", lambda r: str(r.sized(4), "utf-8", "surrogatepass")),
    0x8C: ("PUSH", lambda r: str(r.sized(1), "utf-8", "surrogatepass")),
    0x8D: ("PUSH", lambda r: str(r.sized(8), "utf-8", "surrogatepass")),
    ord("B"): ("PUSH", lambda r: bytes(r.sized(4))),
    ord("C"): ("PUSH", lambda r: bytes(r.sized(1))),
    0x8E: ("PUSH", lambda r: bytes(r.sized(8))),
    0x96: ("PUSH", lambda r: bytearray(r.sized(8))),
    ord("p"): ("PUT", lambda r: _small_int(r.line())),
    ord("q"): ("PUT", lambda r: r.uint(1)),
    ord("r"): ("PUT", lambda r: r.uint(4)),
    0x94: ("MEMOIZE", None),
    ord("g"): ("GET", lambda r: _small_int(r.line())),
    ord("h"): ("GET", lambda r: r.uint(1)),
    ord("j"): ("GET", lambda r: r.uint(4)),
    ord("c"): ("GLOBAL", lambda r: (r.line().decode("ascii"), r.line().decode("ascii"))),
    0x93: ("STACK_GLOBAL", None),
    ord("R"): ("REDUCE", None),
    ord("b"): ("BUILD", None),
}


def read_restricted(data, source: str | os.PathLike, error=DatasetError):
    """The value of a pickle made of tuples, numbers, strings and NumPy arrays, or ``error``."""
    machine = _Machine(source, error, budget=len(data))
    r = _Input(data, error, source)
    try:
        for _ in range(MAX_OPS):
            if r.pos >= len(data):
                raise error(f"{source}: the pickle ends without STOP")
            pos, code = r.pos, r.take(1)[0]
            if code not in _OPS:
                raise error(
                    f"{source}: pickle opcode 0x{code:02x} at byte {pos} is not allowed in a data file"
                )
            name, read_arg = _OPS[code]
            if name == "STOP":
                return machine.result()
            machine.step(name, read_arg(r) if read_arg else None, pos)
    except error:
        raise
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, UnicodeError, struct.error) as e:
        raise error(f"{source}: not a valid pickle of arrays ({type(e).__name__}: {e})") from None
    raise error(f"{source}: more than {MAX_OPS} pickle opcodes: not a data pickle this reader takes")


class _Machine:
    """The pickle machine's stack, marks and memo, for the allowed opcodes only."""

    def __init__(self, source, error, budget: int):
        self.stack: list = []
        self.marks: list[int] = []  # where each open MARK is: TUPLE finds its own in O(1)
        self.memo: dict = {}
        self.source, self.error, self.budget = source, error, budget

    def fail(self, why: str, pos: int | None = None):
        at = "" if pos is None else f" at byte {pos}"
        return self.error(f"{self.source}: malformed pickle ({why}{at})")

    def push(self, value) -> None:
        if len(self.stack) >= MAX_STACK:
            raise self.error(f"{self.source}: the pickle's stack grows past {MAX_STACK} items")
        self.stack.append(value)

    def pop(self, n: int, pos: int) -> list:
        start = len(self.stack) - n
        if start < (self.marks[-1] if self.marks else 0):
            raise self.fail(f"{n} items wanted", pos)
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def step(self, name: str, arg, pos: int) -> None:
        if name in ("PROTO", "FRAME"):
            return
        if name == "PUSH":
            self.push(arg)
        elif name == "MARK":
            if len(self.marks) >= MAX_STACK:
                raise self.error(f"{self.source}: more than {MAX_STACK} open marks")
            self.marks.append(len(self.stack))
        elif name == "TUPLE":
            if not self.marks:
                raise self.fail("TUPLE without MARK", pos)
            at = self.marks.pop()
            items = tuple(self.stack[at:])
            del self.stack[at:]
            self.push(items)
        elif name.startswith("TUPLE"):
            self.push(tuple(self.pop(int(name[-1]), pos)))
        else:
            self._memo_or_call(name, arg, pos)

    def _memo_or_call(self, name: str, arg, pos: int) -> None:
        if name in ("PUT", "MEMOIZE"):
            if not self.stack:
                raise self.fail(f"{name} on an empty stack", pos)
            if len(self.memo) >= MAX_OPS:
                raise self.error(f"{self.source}: the pickle's memo grows past {MAX_OPS} items")
            self.memo[len(self.memo) if arg is None else arg] = self.stack[-1]
        elif name == "GET":
            if arg not in self.memo:
                raise self.fail(f"GET of {arg}, never put", pos)
            self.push(self.memo[arg])
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            module, attr = arg if name == "GLOBAL" else self.pop(2, pos)
            if (module, attr) not in _KNOWN:
                raise self.error(
                    f"{self.source}: the pickle refers to {module}.{attr}, which this reader refuses"
                )
            self.push(_Global(module, attr))
        elif name == "REDUCE":
            func, args = self.pop(2, pos)
            if not isinstance(func, _Global) or not isinstance(args, tuple):
                raise self.fail("REDUCE", pos)
            self.push(_call(func.key, args, self))
        elif name == "BUILD":
            obj, state = self.pop(2, pos)
            self.push(_build(obj, state, self))

    def spend(self, n: int) -> None:
        """Count bytes copied on the file's behalf: never more than the file holds."""
        self.budget -= n
        if self.budget < 0:
            raise self.error(f"{self.source}: the pickle builds more data than it holds")

    def result(self):
        if len(self.stack) != 1 or self.marks:
            raise self.error(f"{self.source}: malformed pickle (stack of {len(self.stack)} at STOP)")
        value = self.stack[0]
        if isinstance(value, (_Global, _DType, _PendingArray)):
            raise self.error(f"{self.source}: the pickle's result is not data")
        return value


def _call(key, args, m: _Machine):
    """The effect of calling one of the known names, done here without importing it."""
    source, error = m.source, m.error
    if (
        key == ("_codecs", "encode")
        and len(args) == 2
        and isinstance(args[0], str)
        and _text(args[1]) == "latin1"
    ):
        m.spend(len(args[0]))
        return args[0].encode("latin-1")
    if key == ("numpy", "dtype") and args and _text(args[0]) in _DTYPES:
        return _DType(_text(args[0]))
    if key in _RECONSTRUCT and args and isinstance(args[0], _Global) and args[0].key == ("numpy", "ndarray"):
        return _PendingArray()
    if key in _FROMBUFFER and len(args) == 4 and isinstance(args[1], _DType):
        buffer, dtype, shape, order = args
        return _array(buffer, dtype, shape, _text(order) == "F", m)
    raise error(f"{source}: the pickle calls {'.'.join(key)} with arguments this reader refuses")


def _build(obj, state, m: _Machine):
    if isinstance(obj, _DType) and isinstance(state, tuple) and len(state) >= 2:
        order = _text(state[1])
        if order in ("<", ">", "|", "="):
            obj.order = order
            return obj
    if isinstance(obj, _PendingArray) and isinstance(state, tuple) and len(state) == 5:
        _, shape, dtype, fortran, raw = state
        if isinstance(dtype, _DType) and type(fortran) in (bool, int):
            return _array(raw, dtype, shape, bool(fortran), m)
    raise m.error(f"{m.source}: the pickle sets up an object this reader does not accept")


def _array(raw, dtype: _DType, shape, fortran: bool, m: _Machine) -> np.ndarray:
    """A read-only view of the pickle's own bytes (no copy), after checking the byte count."""
    source, error = m.source, m.error
    if isinstance(raw, str):  # protocol 0 keeps bytes as text: its code points are the bytes
        m.spend(len(raw))
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)):
        raise error(f"{source}: array data is {type(raw).__name__}, not bytes")
    # At most NumPy's 64 dimensions, so that the byte count below is a cheap product.
    if not (isinstance(shape, tuple) and len(shape) <= 64 and all(type(n) is int and n >= 0 for n in shape)):
        raise error(f"{source}: an array has an invalid shape {str(shape)[:80]}")
    dt = dtype.build()
    need = math.prod(shape) * dt.itemsize
    if need != len(raw):
        raise error(f"{source}: an array of shape {shape} and dtype {dt} needs {need} bytes, has {len(raw)}")
    return np.frombuffer(raw, dtype=dt).reshape(shape, order="F" if fortran else "C")


def load_pickled_mnist(
    path: str | os.PathLike, max_bytes: float | None = None, max_ratio: float | None = None
) -> Dataset:
    """Nielsen's ``mnist.pkl.gz``: ((X, y) train, (X, y) validation, (X, y) test).

    The 50,000 training and 10,000 validation images together become the training
    set; hold some out again with ``train_validation_split``. The file may unpack to
    ``max_ratio`` times its size (default ``$NABLANET_MAX_RATIO`` or 20).
    """
    path = Path(path)
    parts = read_restricted(read_capped(path, max_bytes, max_ratio, default_ratio=MAX_RATIO), path)
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise DatasetError(f"{path}: expected a (train, validation, test) tuple")
    pairs = [_check_part(path, part, which) for part, which in zip(parts, ("train", "validation", "test"))]
    (Xt, yt), (Xv, yv), (Xs, ys) = pairs
    if not Xt.shape[1] == Xv.shape[1] == Xs.shape[1]:
        raise DatasetError(f"{path}: the parts have different numbers of pixels")
    side = math.isqrt(Xt.shape[1])
    shape = (side, side) if side * side == Xt.shape[1] else None
    # One copy each, into float32 and the machine's byte order; the views of the file go.
    X_train = np.concatenate([Xt, Xv], dtype=np.float32)
    y_train = np.concatenate([yt, yv]).astype(np.int64)
    digits = [str(k) for k in range(10)]
    return Dataset(
        "mnist.pkl", X_train, y_train, Xs.astype(np.float32), ys.astype(np.int64), 10, shape, digits
    )


def _check_part(path: Path, part, which: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(part, tuple) and len(part) == 2 and all(isinstance(a, np.ndarray) for a in part)):
        raise DatasetError(f"{path}: the {which} part is not an (images, labels) pair of arrays")
    X, y = part
    if X.ndim != 2 or X.dtype.kind != "f" or y.ndim != 1 or y.dtype.kind not in "iu":
        raise DatasetError(
            f"{path}: the {which} part has images {X.dtype} {X.shape}, labels {y.dtype} {y.shape}"
        )
    if X.shape[0] != y.shape[0]:
        raise DatasetError(f"{path}: the {which} part has {X.shape[0]} images and {y.shape[0]} labels")
    check_rows(X.shape[0], path, f"the {which} part")
    if y.min() < 0 or y.max() > 9:
        raise DatasetError(f"{path}: the {which} labels are outside 0 … 9")
    if not np.isfinite(X).all() or X.min() < 0 or X.max() > 1:
        raise DatasetError(f"{path}: the {which} images are not all within [0, 1]")
    return X, y
