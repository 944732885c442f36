"""Reading files from anyone: regular files only, zip directories checked, .npy without pickle.

Shared by model files (``nablanet.io.container``) and the data loaders. Every
size a file declares is checked against a cap before anything is allocated, and
again while the bytes stream in, so a file that lies about its sizes costs no
more than one that tells the truth (see docs/file-format.md, "Caps").
"""

from __future__ import annotations

import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DatasetError, ModelFileError

__all__ = [
    "open_regular",
    "limit",
    "open_zip",
    "read_member",
    "read_npy",
    "read_npz",
    "PARSE_ERRORS",
    "MAX_FILE_BYTES",
    "MAX_RATIO",
    "RATIO_FLOOR",
    "DATA_DTYPES",
]

MAX_FILE_BYTES = 4 << 30  # any one file, and what an archive may unpack to
# A deflated member may unpack to at most MAX_RATIO times the archive's size (plus
# RATIO_FLOOR): real data sets compress 2–5×, a zip bomb 1000×.
MAX_RATIO = 10.0
RATIO_FLOOR = 4 << 20
MAX_DATA_MEMBERS = 64  # arrays in a data .npz: x, y, x_test, y_test and a few more
CHUNK = 1 << 20
# What an .npz of data may hold: numbers and booleans, nothing with Python objects inside.
DATA_DTYPES = frozenset(np.dtype(c).str[1:] for c in "? u1 i1 u2 i2 u4 i4 u8 i8 f2 f4 f8".split())

# Anything the zip, JSON or .npy parsers can raise on a damaged file.
PARSE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,  # includes json.JSONDecodeError and UnicodeDecodeError
    KeyError,
    IndexError,
    TypeError,
    struct.error,
    zlib.error,
    NotImplementedError,
    RuntimeError,  # includes RecursionError from deeply nested JSON
    OverflowError,
    MemoryError,
    SyntaxError,
)


def limit(name: str, given: float | None, default: float) -> float:
    """A cap: ``given`` if the caller passed one, else ``$NABLANET_<NAME>``, else ``default``."""
    if given is not None:
        value, where = given, f"{name.lower()}="
    else:
        env = f"NABLANET_{name}"
        value, where = os.environ.get(env, default), f"${env}"
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be a number, got {value!r}") from None
    if not value > 0:
        raise ValueError(f"{where} must be positive, got {value!r}")
    return value


def open_regular(path: str | os.PathLike, error: type[Exception] = DatasetError) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file (after following symlinks).

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer,
    and the check is made on the opened descriptor, so the file cannot be swapped
    for a device between the check and the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as e:
        raise error(f"{path}: cannot open ({e.strerror or e})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
        raise error(f"{path}: is {kind}, not a regular file")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def file_size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size


# -- zip archives ------------------------------------------------------------------------------


def open_zip(
    f: BinaryIO,
    path: Path,
    error: type[Exception],
    *,
    stored_only: bool,
    max_bytes: float,
    max_ratio: float,
    max_members: int,
) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """The archive and its members by name, after checking its directory against the caps.

    The directory's sizes are checked here; ``read_member`` and ``read_npy`` check
    them again while reading, so a directory that lies is caught either way.
    """
    size = file_size(f)
    if size > max_bytes:
        raise error(f"{path}: {size} bytes is over the {int(max_bytes)}-byte cap")
    zf = zipfile.ZipFile(f)
    infos = zf.infolist()
    if len(infos) > max_members:
        raise error(f"{path}: {len(infos)} members, more than the {max_members} this file type may hold")
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        _check_member(info, path, error, stored_only)
        if info.filename in by_name:
            raise error(f"{path}: the archive holds {info.filename!r} twice")
        by_name[info.filename] = info
    # Members that overlap (one stretch of bytes read many times) are never legitimate.
    packed = sum(i.compress_size for i in infos)
    if packed > size:
        raise error(f"{path}: the members claim {packed} packed bytes in a {size}-byte file")
    unpacked = sum(i.file_size for i in infos)
    cap = min(max_bytes, max(RATIO_FLOOR, max_ratio * size))
    if unpacked > cap:
        raise error(
            f"{path}: unpacks to {unpacked} bytes, over the {int(cap)}-byte cap "
            f"({max_ratio:g}× the file's size; raise it with max_ratio= or $NABLANET_MAX_RATIO)"
        )
    return zf, by_name


def _check_member(info: zipfile.ZipInfo, path: Path, error, stored_only: bool) -> None:
    allowed = (zipfile.ZIP_STORED,) if stored_only else (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    if info.compress_type not in allowed:
        how = "stored (uncompressed), as the format requires" if stored_only else "stored or deflated"
        raise error(f"{path}: {info.filename!r} is not {how}")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise error(f"{path}: {info.filename!r} is stored but its two sizes differ")
    if info.flag_bits & 0x1:
        raise error(f"{path}: {info.filename!r} is encrypted")


def _read_exactly(f, n: int, into: memoryview | None, what: str, path: Path, error) -> bytes | None:
    """n bytes from a zip member in chunks, then its end (which checks the CRC).

    Counting here, rather than trusting the directory, is what bounds the cost when
    the directory lies: never more than n bytes are inflated.
    """
    parts, done = [], 0
    while done < n:
        chunk = f.read(min(CHUNK, n - done))
        if not chunk:
            raise error(f"{path}: {what} is shorter than the archive says")
        if into is not None:
            into[done : done + len(chunk)] = chunk
        else:
            parts.append(chunk)
        done += len(chunk)
    if f.read(1):
        raise error(f"{path}: {what} is longer than the archive says")
    return None if into is not None else b"".join(parts)


def read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, path: Path, error=ModelFileError
) -> bytes:
    """One member's bytes, at most ``cap`` of them."""
    if info.file_size > cap:
        raise error(f"{path}: {info.filename} is {info.file_size} bytes, over the {cap}-byte cap")
    with zf.open(info) as f:
        return _read_exactly(f, info.file_size, None, info.filename, path, error)


def read_npy(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, allowed: Iterable[str], error=ModelFileError
) -> np.ndarray:
    """One .npy member, its header checked against its size before the array is allocated."""
    with zf.open(info) as f:
        shape, fortran, dtype = _npy_header(f, info, path, set(allowed), error)
        nbytes = math.prod(shape) * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise error(
                f"{path}: {info.filename} declares shape {shape} ({nbytes} bytes) "
                f"but holds {info.file_size - f.tell()} bytes of data"
            )
        a = np.empty(math.prod(shape), dtype=dtype.newbyteorder("="))
        _read_exactly(f, nbytes, memoryview(a).cast("B"), info.filename, path, error)
    if not dtype.isnative:  # the bytes came in the file's order: swap them where they lie
        a.byteswap(inplace=True)
    a = a.reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(a)


def _npy_header(f, info, path: Path, allowed: set[str], error):
    fmt = np.lib.format
    version = fmt.read_magic(f)
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    if version not in readers:
        raise error(f"{path}: {info.filename} uses .npy version {version}, expected 1.0 or 2.0")
    try:
        shape, fortran, dtype = readers[version](f, max_header_size=4096)
    except Exception as e:  # NumPy's parser of a hostile 4 KB header: tokenize, ast, dtype errors
        raise error(f"{path}: {info.filename} has a damaged .npy header ({type(e).__name__}: {e})") from None
    if dtype.hasobject or dtype.str[1:] not in allowed:
        raise error(f"{path}: {info.filename} has dtype {dtype}, which is not allowed here")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise error(f"{path}: {info.filename} has a bad shape {shape!r}")
    return shape, fortran, dtype


def read_npz(
    path: str | os.PathLike,
    max_bytes: float | None = None,
    *,
    max_ratio: float | None = None,
    error: type[Exception] = ModelFileError,
) -> dict[str, np.ndarray]:
    """The arrays of a plain .npz (as ``np.savez`` writes), read without pickle and size-checked.

    ``max_bytes`` caps the file and what it unpacks to (default ``$NABLANET_MAX_FILE_BYTES``
    or 4 GiB); ``max_ratio`` caps the unpacked size at that many times the file's
    (default ``$NABLANET_MAX_RATIO`` or 10).
    """
    path = Path(path)
    max_bytes = limit("MAX_FILE_BYTES", max_bytes, MAX_FILE_BYTES)
    max_ratio = limit("MAX_RATIO", max_ratio, MAX_RATIO)
    try:
        with open_regular(path, error) as f:
            zf, infos = open_zip(
                f, path, error, stored_only=False, max_bytes=max_bytes, max_ratio=max_ratio,
                max_members=MAX_DATA_MEMBERS,
            )  # fmt: skip
            with zf:
                return _npz_arrays(zf, infos, path, error)
    except error:
        raise
    except PARSE_ERRORS as e:
        raise error(f"{path}: damaged or not an .npz file ({type(e).__name__}: {e})") from None


def _npz_arrays(zf, infos, path: Path, error) -> dict[str, np.ndarray]:
    if not infos:
        raise error(f"{path}: the archive is empty")
    arrays = {}
    for name, info in infos.items():
        if not name.endswith(".npy"):
            raise error(f"{path}: {name!r} is not an .npy array")
        arrays[name[:-4]] = read_npy(zf, info, path, DATA_DTYPES, error)
    return arrays
