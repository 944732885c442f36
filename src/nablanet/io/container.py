"""The nablanet container: an uncompressed .npz holding ``header.json`` and one .npy per array.

The header records what the file is and the SHA-256 of everything in it; reading
checks every size before allocating and the digest after (see docs/file-format.md).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from .atomic import atomic_open
from .npz import MAX_FILE_BYTES, PARSE_ERRORS, limit, open_regular, open_zip, read_member, read_npy

__all__ = ["plain", "write_container", "read_container", "payload_digest", "FORMAT", "FORMAT_VERSION"]

FORMAT = "nablanet"
FORMAT_VERSION = 1
HEADER = "header.json"
MAX_HEADER_BYTES = 16 << 20  # a long history with per-layer health fits in far less
MODEL_DTYPES = ("float32", "float64")
MAX_MEMBERS = 100_000  # header + W, b and optimizer slots for thousands of layers


def plain(value: Any) -> Any:
    """NumPy scalars and arrays, inside dicts, lists and tuples, as plain Python values for JSON."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def write_container(path: str | os.PathLike, header: dict, arrays: Mapping[str, np.ndarray]) -> None:
    """Write header and arrays atomically: a temp file in the same folder, fsync, os.replace."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    header = {**header, "arrays": {k: _describe(a) for k, a in arrays.items()}}
    header["sha256"] = payload_digest(header, arrays)
    with atomic_open(path) as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(HEADER, json.dumps(header, indent=1))
            for name, a in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(a), allow_pickle=False)
                zf.writestr(f"{name}.npy", buffer.getvalue())


def _describe(a: np.ndarray) -> dict:
    return {"dtype": a.dtype.name, "shape": list(a.shape)}


def payload_digest(header: Mapping, arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the whole header (but the digest itself) and every array's name, dtype,
    shape and bytes: the weights, the architecture, the history, the hyperparameters and
    a checkpoint's run state are all covered."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\n{name} {a.dtype.name} {list(a.shape)}\n".encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def read_container(
    path: str | os.PathLike, max_bytes: float | None = None
) -> tuple[dict, dict[str, np.ndarray]]:
    """The checked header and arrays of a nablanet file, or ModelFileError.

    ``max_bytes`` caps the file's size (default ``$NABLANET_MAX_FILE_BYTES`` or 4 GiB).
    Members are stored, so nothing unpacks past the file's own size, and the arrays
    the header lists must fill their members exactly; the SHA-256 is checked last.
    """
    path = Path(path)
    try:
        max_bytes = limit("MAX_FILE_BYTES", max_bytes, MAX_FILE_BYTES)
        with open_regular(path, ModelFileError) as f:
            header, arrays = _read_container(f, path, max_bytes)
    except ModelFileError:
        raise
    except PARSE_ERRORS as e:
        raise ModelFileError(f"{path}: damaged or not a nablanet file ({type(e).__name__}: {e})") from None
    if payload_digest(header, arrays) != header["sha256"]:
        raise ModelFileError(
            f"{path}: the SHA-256 of the contents does not match the header: the file was altered"
        )
    return header, arrays


def _read_container(f, path: Path, max_bytes: float) -> tuple[dict, dict[str, np.ndarray]]:
    # ratio 1: stored members unpack to their own size, never more than the file's.
    zf, infos = open_zip(
        f, path, ModelFileError, stored_only=True, max_bytes=max_bytes, max_ratio=1.0,
        max_members=MAX_MEMBERS,
    )  # fmt: skip
    with zf:
        if HEADER not in infos:
            raise ModelFileError(f"{path}: not a nablanet file (no {HEADER} inside)")
        header = _parse_header(path, read_member(zf, infos[HEADER], MAX_HEADER_BYTES, path))
        expected = {HEADER, *(f"{k}.npy" for k in header["arrays"])}
        if set(infos) != expected:
            raise ModelFileError(
                f"{path}: members {sorted(infos)} do not match the header's {sorted(expected)}"
            )
        arrays = {}
        for name, spec in header["arrays"].items():
            a = read_npy(zf, infos[f"{name}.npy"], path, {np.dtype(spec["dtype"]).str[1:]})
            if a.dtype.name != spec["dtype"] or list(a.shape) != spec["shape"]:
                raise ModelFileError(f"{path}: array {name} is {a.dtype} {a.shape}, the header says {spec}")
            arrays[name] = a
    return header, arrays


def _parse_header(path: Path, raw: bytes) -> dict:
    header = json.loads(raw.decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a nablanet file (header format is not {FORMAT!r})")
    version = header.get("format_version")
    if type(version) is not int or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(
            f"{path}: format version {version!r}; this nablanet reads version {FORMAT_VERSION}"
        )
    arrays, digest = header.get("arrays"), header.get("sha256")
    if not isinstance(arrays, dict) or not isinstance(digest, str):
        raise ModelFileError(f"{path}: the header lacks its array list or SHA-256")
    for name, spec in arrays.items():
        if not (name.isidentifier() or name.replace(".", "_").isidentifier()):
            raise ModelFileError(f"{path}: bad array name {name!r}")
        if not isinstance(spec, dict) or spec.get("dtype") not in MODEL_DTYPES:
            raise ModelFileError(f"{path}: array {name} has a dtype outside {MODEL_DTYPES}")
        shape = spec.get("shape")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise ModelFileError(f"{path}: array {name} has a bad shape {shape!r}")
    if not isinstance(header.get("network"), dict):
        raise ModelFileError(f"{path}: the header has no network description")
    return header
