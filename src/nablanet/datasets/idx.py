"""IDX files (MNIST, Fashion-MNIST, EMNIST), and finding or downloading the MNIST sets.

An IDX file is a 4-byte magic number (0, 0, a dtype code, the number of
dimensions), one big-endian uint32 per dimension, then the values. Nothing is
built until the header has been checked against the payload.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_open
from .base import Dataset, DatasetError, check_rows, read_capped

__all__ = ["read_idx", "load_idx", "load_idx_set", "cache_dir", "SYSTEM_DIR", "CLASSES"]

# The third byte of an IDX magic number says how each value is stored (big-endian).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(
    path: str | os.PathLike, max_bytes: float | None = None, max_ratio: float | None = None
) -> np.ndarray:
    """An IDX file (raw or .gz) as an array, after checking its header against its payload.

    ``max_bytes`` caps the (decompressed) size, default ``$NABLANET_MAX_FILE_BYTES`` or
    1 GiB; a .gz may inflate ``max_ratio`` times (default ``$NABLANET_MAX_RATIO`` or 10).
    """
    path = Path(path)
    data = read_capped(path, max_bytes, max_ratio)
    shape, dtype, offset = _idx_header(path, data)
    expected = math.prod(shape) * dtype.itemsize
    payload = len(data) - offset
    if payload != expected:  # checked before an array is made
        problem = "truncated" if payload < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: {problem}: the header's shape {shape} needs {expected} bytes of data, "
            f"the file holds {payload}"
        )
    a = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return a.astype(dtype.newbyteorder("="), copy=not isinstance(data, bytearray) or not dtype.isnative)


def _idx_header(path: Path, data) -> tuple[tuple[int, ...], np.dtype, int]:
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zero0, zero1, code, ndim = data[:4]
    if zero0 or zero1:
        raise DatasetError(
            f"{path}: not an IDX file (magic number {bytes(data[:4]).hex()} should start 0000)"
        )
    if code not in _IDX_DTYPES:
        raise DatasetError(f"{path}: unknown IDX dtype code 0x{code:02x}")
    if not 1 <= ndim <= 4:
        raise DatasetError(f"{path}: IDX header claims {ndim} dimensions; expected 1 to 4")
    if len(data) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: truncated in the header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return shape, np.dtype(_IDX_DTYPES[code]), 4 + 4 * ndim


def load_idx(
    images: str | os.PathLike,
    labels: str | os.PathLike,
    n_classes: int = 10,
    max_bytes: float | None = None,
    max_ratio: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """An IDX image file and its label file: (uint8 images (n, h, w), int64 labels (n,))."""
    X, y = read_idx(images, max_bytes, max_ratio), read_idx(labels, max_bytes, max_ratio)
    if X.dtype != np.uint8 or X.ndim < 2:
        raise DatasetError(f"{images}: expected unsigned-byte images, got {X.dtype} of shape {X.shape}")
    if y.dtype != np.uint8 or y.ndim != 1:
        raise DatasetError(f"{labels}: expected a 1-D unsigned-byte label file, got {y.dtype} {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise DatasetError(f"{images} holds {X.shape[0]} images but {labels} holds {y.shape[0]} labels")
    check_rows(X.shape[0], images, "the file")
    if y.max() >= n_classes:
        i = int(np.argmax(y >= n_classes))
        raise DatasetError(f"{labels}: label {y[i]} at index {i} is out of range 0 … {n_classes - 1}")
    return X, y.astype(np.int64)


# -- MNIST and Fashion-MNIST: find, or download and verify ------------------------------------

_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# SHA-256 of each official .gz file, checked after every download.
_SOURCES: dict[str, dict] = {
    "mnist": {
        "env": "NABLANET_MNIST_URL",
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    },
    "fashion-mnist": {
        "env": "NABLANET_FASHION_MNIST_URL",
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "sha256": {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    },
}
# What each of the ten labels stands for (Fashion-MNIST's from its README).
CLASSES = {
    "mnist": tuple(str(k) for k in range(10)),
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}  # fmt: skip
SYSTEM_DIR = Path("/usr/share/datasets")  # where `apt-get install dataset-fashion-mnist` puts it
MAX_DOWNLOAD_BYTES = 100 << 20


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nablanet``, or ``~/.cache/nablanet``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nablanet"


def _search_dirs(name: str, data_dir: str | os.PathLike | None) -> list[Path]:
    first = data_dir if data_dir is not None else os.environ.get("NABLANET_DATA")
    dirs = [Path(first), Path(first) / name] if first else []
    return [*dirs, cache_dir() / name, SYSTEM_DIR / name]


def _find_idx(directory: Path) -> list[Path] | None:
    """The four IDX files in ``directory`` (each .gz or raw), or None if any is missing."""
    found = []
    for stem in _IDX_FILES:
        candidates = [directory / f"{stem}.gz", directory / stem]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            return None
        found.append(hit)
    return found


def _download(url: str, dest: Path, sha256: str, progress: bool) -> None:
    """Fetch url into dest atomically, checking its SHA-256 before it is kept."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    import urllib.request  # here, not at the top: it pulls in http and email

    digest, done = hashlib.sha256(), 0
    # Raising inside the block (too big, wrong hash, Ctrl-C) leaves nothing at dest.
    with atomic_open(dest) as out, urllib.request.urlopen(url, timeout=30) as response:
        total = int(response.headers.get("Content-Length") or 0)
        while chunk := response.read(1 << 16):
            done += len(chunk)
            if done > MAX_DOWNLOAD_BYTES:
                raise DatasetError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes; refusing it")
            digest.update(chunk)
            out.write(chunk)
            if progress:
                _show_progress(dest.name, done, total)
        if progress:
            print(file=sys.stderr)
        if digest.hexdigest() != sha256:
            raise DatasetError(f"{url}: SHA-256 {digest.hexdigest()} does not match the expected {sha256}")


def _show_progress(name: str, done: int, total: int) -> None:
    share = f"{100 * done / total:5.1f}% of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
    print(f"\rdownloading {name}: {share}", end="", file=sys.stderr, flush=True)


def _fetch_idx(name: str, mirrors: Sequence[str] | None, sha256: Mapping[str, str] | None, progress: bool):
    import urllib.error

    source = _SOURCES[name]
    env = os.environ.get(source["env"])
    mirrors = list(mirrors) if mirrors else ([env] if env else list(source["mirrors"]))
    sha256 = dict(sha256 or source["sha256"])
    target = cache_dir() / name
    errors = []
    for stem in _IDX_FILES:
        fname = f"{stem}.gz"
        if (target / fname).is_file():
            continue
        for base in mirrors:
            url = base.rstrip("/") + "/" + fname
            try:
                _download(url, target / fname, sha256[fname], progress)
                break
            except (OSError, urllib.error.URLError, DatasetError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', e)}")
        else:
            raise DatasetError(
                f"cannot find {name} locally and could not download {fname} "
                f"({'; '.join(errors[-len(mirrors) :])}). Put the four IDX files "
                f"({', '.join(s + '.gz' for s in _IDX_FILES)}) in {target}, or in a folder "
                "given by --data-dir or $NABLANET_DATA"
            )
    return _find_idx(target)


def load_idx_set(name, data_dir, download, mirrors, sha256, progress) -> Dataset:
    files = None
    for d in _search_dirs(name, data_dir):
        files = _find_idx(d)
        if files:
            break
    if files is None:
        if not download:
            where = ", ".join(str(d) for d in _search_dirs(name, data_dir))
            raise DatasetError(f"{name} not found; looked in {where}")
        files = _fetch_idx(name, mirrors, sha256, progress)
    X_train, y_train = load_idx(files[0], files[1])
    X_test, y_test = load_idx(files[2], files[3])
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DatasetError(f"{files[0]} and {files[2]} have different image shapes")
    n_pixels = math.prod(X_train.shape[1:])
    return Dataset(
        name,
        X_train.reshape(X_train.shape[0], n_pixels),
        y_train,
        X_test.reshape(X_test.shape[0], n_pixels),
        y_test,
        10,
        tuple(X_train.shape[1:]),
        list(CLASSES[name]),
    )
