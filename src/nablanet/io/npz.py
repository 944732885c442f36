"""Reading .npz archives and their .npy members without pickle, every size checked first.

Shared by model files (``nablanet.io.container``) and NPZ data sets.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

__all__ = ["read_npz", "read_member", "read_npy", "members", "PARSE_ERRORS", "MAX_FILE_BYTES", "DATA_DTYPES"]

MAX_FILE_BYTES = 4 << 30
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


def members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.filename in infos:
            raise ModelFileError(f"{path}: the archive holds {info.filename!r} twice")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"{path}: {info.filename!r} uses an unsupported compression method")
        infos[info.filename] = info
    return infos


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, path: Path) -> bytes:
    if info.file_size > cap:
        raise ModelFileError(f"{path}: {info.filename} is {info.file_size} bytes, over the {cap}-byte cap")
    with zf.open(info) as f:
        data = f.read(info.file_size)
        if len(data) != info.file_size or f.read(1):  # reading to the end checks the CRC
            raise ModelFileError(f"{path}: {info.filename} is not the size the archive says")
    return data


def read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, allowed: Iterable[str]) -> np.ndarray:
    """One .npy member, its header checked against its size before the data is read."""
    fmt = np.lib.format
    with zf.open(info) as f:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=4096)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=4096)
        else:
            raise ModelFileError(f"{path}: {info.filename} uses .npy version {version}, expected 1.0 or 2.0")
        if dtype.hasobject or dtype.str[1:] not in allowed:
            raise ModelFileError(f"{path}: {info.filename} has dtype {dtype}, which is not allowed here")
        nbytes = math.prod(shape) * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise ModelFileError(
                f"{path}: {info.filename} declares shape {shape} ({nbytes} bytes) "
                f"but holds {info.file_size - f.tell()} bytes of data"
            )
        data = f.read(nbytes)
        if len(data) != nbytes or f.read(1):
            raise ModelFileError(f"{path}: {info.filename} is truncated")
    a = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    # A copy, in native byte order: frombuffer's view is read-only, and a loaded
    # network must be trainable.
    return np.array(a, dtype=dtype.newbyteorder("="), order="C")


def read_npz(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> dict[str, np.ndarray]:
    """The arrays of a plain .npz (as ``np.savez`` writes), read without pickle and size-checked."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ModelFileError(f"{path}: {size} bytes is over the {max_bytes}-byte cap")
        with zipfile.ZipFile(path) as zf:
            infos = members(path, zf)
            if not infos:
                raise ModelFileError(f"{path}: the archive is empty")
            total = sum(i.file_size for i in infos.values())
            if total > max_bytes:
                raise ModelFileError(f"{path}: unpacks to {total} bytes, over the {max_bytes}-byte cap")
            arrays = {}
            for name, info in infos.items():
                if not name.endswith(".npy"):
                    raise ModelFileError(f"{path}: {name!r} is not an .npy array")
                arrays[name[:-4]] = read_npy(zf, info, path, DATA_DTYPES)
            return arrays
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except PARSE_ERRORS as e:
        raise ModelFileError(f"{path}: damaged or not an .npz file ({type(e).__name__}: {e})") from None
