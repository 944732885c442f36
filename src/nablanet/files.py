"""Model files: ``save(net, path)`` and ``load(path)``, safe to open from anyone.

A model file is an uncompressed ``.npz`` (a zip archive) holding ``header.json``
and one ``.npy`` member per array (W1 … WL, b1 … bL). The JSON header records the
format version, the library version, the layer sizes, activations, cost, init and
dtype, the training history and hyperparameters, and the SHA-256 of the arrays.
docs/file-format.md describes it and says why npz rather than safetensors.

Reading trusts nothing: the archive's size, the header's size, each member's
name, dtype, shape and byte count are checked before anything is allocated, the
arrays are parsed from their bytes (never through pickle), and the SHA-256 must
match. Whatever is wrong, the caller sees one ``ModelFileError``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from . import activations as _activations
from . import costs as _costs
from .network import Network

__all__ = ["ModelFileError", "save", "load", "load_model", "read_header", "read_npz", "FORMAT_VERSION"]

FORMAT = "nablanet"
FORMAT_VERSION = 1
HEADER = "header.json"
MAX_HEADER_BYTES = 16 << 20  # a long history with per-layer health fits in far less
MAX_FILE_BYTES = 4 << 30
MODEL_DTYPES = ("float32", "float64")
# What an .npz of data may hold: numbers and booleans, nothing with Python objects inside.
DATA_DTYPES = frozenset(np.dtype(c).str[1:] for c in "? u1 i1 u2 i2 u4 i4 u8 i8 f2 f4 f8".split())

# Anything the zip, JSON or .npy parsers can raise on a damaged file.
_PARSE_ERRORS = (
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


class ModelFileError(ValueError):
    """A model or checkpoint file is missing, damaged, tampered with or not a nablanet file."""


# -- the container: header.json plus .npy members --------------------------------------------


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


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """A file that appears at ``path`` whole or not at all.

    It is written to a temporary file in the same folder, flushed to disk, and
    renamed over ``path``; any exception (Ctrl-C included) leaves ``path`` as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; these are ordinary files
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (see ``atomic_open``)."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES
) -> tuple[dict, dict[str, np.ndarray]]:
    """The checked header and arrays of a nablanet file, or ModelFileError."""
    path = Path(path)
    try:
        header, arrays = _read_container(path, max_bytes)
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except _PARSE_ERRORS as e:
        raise ModelFileError(f"{path}: damaged or not a nablanet file ({type(e).__name__}: {e})") from None
    if payload_digest(header, arrays) != header["sha256"]:
        raise ModelFileError(
            f"{path}: the SHA-256 of the contents does not match the header: the file was altered"
        )
    return header, arrays


def _read_container(path: Path, max_bytes: int) -> tuple[dict, dict[str, np.ndarray]]:
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelFileError(f"{path}: {size} bytes is over the {max_bytes}-byte cap")
    with zipfile.ZipFile(path) as zf:
        infos = _members(path, zf)
        # We write members stored, not compressed: a small file that unpacks to
        # gigabytes is refused before anything is read.
        unpacked = sum(info.file_size for info in infos.values())
        if unpacked > max_bytes:
            raise ModelFileError(f"{path}: unpacks to {unpacked} bytes, over the {max_bytes}-byte cap")
        if HEADER not in infos:
            raise ModelFileError(f"{path}: not a nablanet file (no {HEADER} inside)")
        header = _parse_header(path, _read_member(zf, infos[HEADER], MAX_HEADER_BYTES, path))
        expected = {HEADER, *(f"{k}.npy" for k in header["arrays"])}
        if set(infos) != expected:
            raise ModelFileError(
                f"{path}: members {sorted(infos)} do not match the header's {sorted(expected)}"
            )
        arrays = {}
        for name, spec in header["arrays"].items():
            a = _read_npy(zf, infos[f"{name}.npy"], path, {np.dtype(spec["dtype"]).str[1:]})
            if a.dtype.name != spec["dtype"] or list(a.shape) != spec["shape"]:
                raise ModelFileError(f"{path}: array {name} is {a.dtype} {a.shape}, the header says {spec}")
            arrays[name] = a
    return header, arrays


def _members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.filename in infos:
            raise ModelFileError(f"{path}: the archive holds {info.filename!r} twice")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"{path}: {info.filename!r} uses an unsupported compression method")
        infos[info.filename] = info
    return infos


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, path: Path) -> bytes:
    if info.file_size > cap:
        raise ModelFileError(f"{path}: {info.filename} is {info.file_size} bytes, over the {cap}-byte cap")
    with zf.open(info) as f:
        data = f.read(info.file_size)
        if len(data) != info.file_size or f.read(1):  # reading to the end checks the CRC
            raise ModelFileError(f"{path}: {info.filename} is not the size the archive says")
    return data


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, allowed: Iterable[str]) -> np.ndarray:
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
            infos = _members(path, zf)
            if not infos:
                raise ModelFileError(f"{path}: the archive is empty")
            total = sum(i.file_size for i in infos.values())
            if total > max_bytes:
                raise ModelFileError(f"{path}: unpacks to {total} bytes, over the {max_bytes}-byte cap")
            arrays = {}
            for name, info in infos.items():
                if not name.endswith(".npy"):
                    raise ModelFileError(f"{path}: {name!r} is not an .npy array")
                arrays[name[:-4]] = _read_npy(zf, info, path, DATA_DTYPES)
            return arrays
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except _PARSE_ERRORS as e:
        raise ModelFileError(f"{path}: damaged or not an .npz file ({type(e).__name__}: {e})") from None


# -- the header ------------------------------------------------------------------------------


def _parse_header(path: Path, raw: bytes) -> dict:
    header = json.loads(raw.decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a nablanet file (header format is not {FORMAT!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
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


def network_spec(net: Network) -> dict:
    """The JSON description of a network's architecture (everything but the weights)."""
    return {
        "sizes": list(net.sizes),
        "activations": [_object_spec(a, _activations.Activation) for a in net.activations],
        "cost": _object_spec(net.cost, _costs.Cost),
        "init": net.init,
        "dtype": net.dtype.name,
    }


def _object_spec(obj: Any, base: type) -> dict:
    registry = _activations if base is _activations.Activation else _costs
    if obj.name not in registry.names() or type(registry.get(obj.name)) is not type(obj):
        raise ValueError(f"cannot save {obj!r}: only the built-in {base.__name__.lower()}s can be saved")
    return {"name": obj.name, **vars(obj)}


def network_from_spec(spec: Mapping, source: str | os.PathLike = "") -> Network:
    """A Network with the described architecture (its weights still to be filled in)."""
    try:
        sizes = spec["sizes"]
        acts = [_build(_activations, s) for s in spec["activations"]]
        cost = _build(_costs, spec["cost"])
        if spec["dtype"] not in MODEL_DTYPES or not isinstance(spec["init"], str):
            raise ValueError(f"dtype {spec['dtype']!r} or init {spec['init']!r} is not valid")
        net = Network(sizes, acts[:-1], acts[-1], cost, "standard", spec["dtype"], seed=0)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"{source}: the network description is invalid ({e})") from None
    net.init = spec["init"]
    return net


def _build(registry, spec: Any):
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(f"bad layer description {spec!r}")
    params = {k: v for k, v in spec.items() if k != "name"}
    if not all(isinstance(v, (int, float, bool)) for v in params.values()):
        raise ValueError(f"bad parameters in {spec!r}")
    return type(registry.get(spec["name"]))(**params)


def weight_arrays(net: Network) -> dict[str, np.ndarray]:
    """{"W1": W^1, …, "b1": b^1, …}: the names the file uses for the parameters."""
    return {
        **{f"W{l}": W for l, W in enumerate(net.W, start=1)},
        **{f"b{l}": b for l, b in enumerate(net.b, start=1)},
    }


def check_weights(net: Network, arrays: Mapping[str, np.ndarray], source: str | os.PathLike) -> None:
    """Every W^l and b^l present, with the network's shapes and dtype."""
    for name, target in weight_arrays(net).items():
        a = arrays.get(name)
        if a is None or a.shape != target.shape or a.dtype != target.dtype:
            got = "missing" if a is None else f"{a.dtype} {a.shape}"
            raise ModelFileError(f"{source}: {name} should be {target.dtype} {target.shape}, is {got}")


# -- models ----------------------------------------------------------------------------------


def save(
    net: Network,
    path: str | os.PathLike,
    history: Any = None,
    hyperparameters: Mapping | None = None,
) -> Path:
    """Save ``net`` (and optionally its ``History`` and hyperparameters) to ``path``.

    Parameters
    ----------
    net : Network
    path : path
        Conventionally ``*.npz``; written atomically.
    history : History or dict, optional
    hyperparameters : dict, optional
        JSON-serialisable settings of the run (eta, epochs, …).

    Returns
    -------
    Path
    """
    from . import __version__

    history = history.to_dict() if hasattr(history, "to_dict") else history
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": "model",
        "library_version": __version__,
        "network": network_spec(net),
        "history": history,
        "hyperparameters": dict(hyperparameters or {}),
    }
    _check_json(header)
    write_container(path, header, weight_arrays(net))
    return Path(path)


def _check_json(header: dict) -> None:
    try:
        json.dumps(header)
    except (TypeError, ValueError) as e:
        raise ValueError(f"cannot save: history or hyperparameters are not JSON-serialisable ({e})") from None


def load_model(path: str | os.PathLike) -> tuple[Network, dict]:
    """The network in a model file and its header (history, hyperparameters, versions)."""
    header, arrays = read_container(path)
    if header.get("kind") != "model":
        raise ModelFileError(f"{path}: this is a {header.get('kind')!r} file, not a model")
    net = network_from_spec(header["network"], path)
    check_weights(net, arrays, path)
    net.W = [arrays[f"W{l}"] for l in range(1, net.L + 1)]
    net.b = [arrays[f"b{l}"] for l in range(1, net.L + 1)]
    return net, header


def load(path: str | os.PathLike) -> Network:
    """The network saved in ``path``; raises ModelFileError if the file is not intact."""
    return load_model(path)[0]


def read_header(path: str | os.PathLike) -> dict:
    """A model or checkpoint file's header, after the whole file has been verified."""
    return read_container(path)[0]
