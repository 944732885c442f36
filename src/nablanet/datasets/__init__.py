"""Datasets: the bundled digits, MNIST and Fashion-MNIST, and your own CSV or NPZ files.

Every loader returns a ``Dataset`` whose inputs are float32, one row per example,
scaled to [0, 1] (or standardised with the training set's mean and standard
deviation), and whose labels are integers 0 … n_classes − 1.

Nothing here trusts a file: IDX headers are checked against their payload, sizes
are capped before anything is allocated, and the Nielsen ``mnist.pkl.gz`` is read
by a small opcode interpreter that builds tuples and arrays only, never a general
unpickler. A bad file raises ``DatasetError`` naming the file and the problem.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset",
    "DatasetError",
    "load",
    "read_idx",
    "load_idx",
    "load_csv",
    "load_npz",
    "train_validation_split",
    "one_hot",
    "NAMES",
]

MAX_BYTES = 1 << 30  # decompressed-size cap: 1 GiB, well above EMNIST's largest file
NAMES = ("digits", "fashion-mnist", "mnist")


class DatasetError(ValueError):
    """A dataset file is missing, truncated, corrupt or not what it claims to be."""


@dataclass
class Dataset:
    """Train and test splits: X float32 (one row per example), y integer labels."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, ...] | None = None
    classes: list[str] | None = None  # label names, when the file gave them as text

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def summary(self) -> dict:
        """Name and sizes, as plain numbers (for reports and JSON)."""
        return {
            "name": self.name,
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "n_features": self.n_features,
            "n_classes": int(self.n_classes),
        }


# -- helpers ------------------------------------------------------------------------------


def train_validation_split(
    X: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a seeded ``fraction`` of the rows: (X_train, y_train, X_val, y_val).

    With ``stratify`` (integer labels), each class keeps its share in both parts.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must be strictly between 0 and 1, got {fraction}")
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    if stratify and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        held = []
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            held.append(members[: int(round(fraction * members.size))])
        val = np.sort(np.concatenate(held))
    else:
        val = np.sort(rng.permutation(n)[: int(round(fraction * n))])
    if val.size == 0 or val.size == n:
        raise ValueError(f"a fraction of {fraction} of {n} examples leaves one part empty")
    keep = np.ones(n, dtype=bool)
    keep[val] = False
    return X[keep], y[keep], X[val], y[val]


def one_hot(y: np.ndarray, n_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer labels → rows with a single 1: y = 3 of 5 gives [0, 0, 0, 1, 0]."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"one_hot needs a 1-D array of integer labels, got {y.dtype} of shape {y.shape}")
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must be in [0, {n_classes - 1}], found {y.min()} … {y.max()}")
    Y = np.zeros((y.size, n_classes), dtype=dtype)
    Y[np.arange(y.size), y] = 1
    return Y


def _scale(data: Dataset, standardize: bool, lo: float | None = None, hi: float | None = None) -> Dataset:
    """[0, 1] by a known range (else the training set's per-feature range), or standardise."""
    if not standardize and lo is not None:  # e.g. pixels 0 … 255: stay in float32
        span = np.float32(hi - lo)
        data.X_train = (data.X_train.astype(np.float32) - np.float32(lo)) / span
        data.X_test = (data.X_test.astype(np.float32) - np.float32(lo)) / span
        return data
    X_train = data.X_train.astype(np.float64)
    if standardize:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        shift, span = mean, np.where(std > 0, std, 1.0)
    else:
        lo, hi = X_train.min(axis=0), X_train.max(axis=0)
        shift, span = lo, np.where(hi > lo, hi - lo, 1.0)
    data.X_train = ((X_train - shift) / span).astype(np.float32)
    data.X_test = ((data.X_test.astype(np.float64) - shift) / span).astype(np.float32)
    return data


# -- reading bytes with a cap ----------------------------------------------------------------


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, gunzipped if it ends in .gz; never more than max_bytes."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        else:
            if path.stat().st_size > max_bytes:
                raise DatasetError(f"{path}: {path.stat().st_size} bytes is over the {max_bytes}-byte cap")
            data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{path}: cannot decompress ({e or type(e).__name__})") from None
    if len(data) > max_bytes:
        raise DatasetError(f"{path}: decompresses to more than the {max_bytes}-byte cap")
    return data


# -- IDX (MNIST, Fashion-MNIST, EMNIST) ---------------------------------------------------

# The third byte of an IDX magic number says how each value is stored (big-endian).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """An IDX file (raw or .gz) as an array, after checking its header against its payload."""
    path = Path(path)
    data = _read_capped(path, max_bytes)
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zero0, zero1, code, ndim = data[:4]
    if zero0 or zero1:
        raise DatasetError(f"{path}: not an IDX file (magic number {data[:4].hex()} should start 0000)")
    if code not in _IDX_DTYPES:
        raise DatasetError(f"{path}: unknown IDX dtype code 0x{code:02x}")
    if not 1 <= ndim <= 4:
        raise DatasetError(f"{path}: IDX header claims {ndim} dimensions; expected 1 to 4")
    if len(data) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: truncated in the header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    payload = len(data) - 4 - 4 * ndim
    if payload != expected:
        problem = "truncated" if payload < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: {problem}: the header's shape {shape} needs {expected} bytes of data, "
            f"the file holds {payload}"
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape).astype(dtype.newbyteorder("="))
    )


def load_idx(
    images: str | os.PathLike, labels: str | os.PathLike, n_classes: int = 10, max_bytes: int = MAX_BYTES
) -> tuple[np.ndarray, np.ndarray]:
    """An IDX image file and its label file: (uint8 images (n, h, w), int64 labels (n,))."""
    X, y = read_idx(images, max_bytes), read_idx(labels, max_bytes)
    if X.dtype != np.uint8 or X.ndim < 2:
        raise DatasetError(f"{images}: expected unsigned-byte images, got {X.dtype} of shape {X.shape}")
    if y.dtype != np.uint8 or y.ndim != 1:
        raise DatasetError(f"{labels}: expected a 1-D unsigned-byte label file, got {y.dtype} {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise DatasetError(f"{images} holds {X.shape[0]} images but {labels} holds {y.shape[0]} labels")
    if y.size and y.max() >= n_classes:
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
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    digest, done = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(1 << 16):
                done += len(chunk)
                if done > MAX_DOWNLOAD_BYTES:
                    raise DatasetError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes; refusing it")
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    _show_progress(dest.name, done, total)
            out.flush()
            os.fsync(out.fileno())
        if progress:
            print(file=sys.stderr)
        if digest.hexdigest() != sha256:
            raise DatasetError(f"{url}: SHA-256 {digest.hexdigest()} does not match the expected {sha256}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _show_progress(name: str, done: int, total: int) -> None:
    share = f"{100 * done / total:5.1f}% of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
    print(f"\rdownloading {name}: {share}", end="", file=sys.stderr, flush=True)


def _fetch_idx(name: str, mirrors: Sequence[str] | None, sha256: Mapping[str, str] | None, progress: bool):
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


def _load_idx_set(name, data_dir, download, mirrors, sha256, progress) -> Dataset:
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
    return Dataset(
        name,
        X_train.reshape(X_train.shape[0], -1),
        y_train,
        X_test.reshape(X_test.shape[0], -1),
        y_test,
        10,
        tuple(X_train.shape[1:]),
    )


# -- the bundled digits --------------------------------------------------------------------


def _load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    X_train, y_train, X_test, y_test = train_validation_split(X, y, test_fraction, seed)
    return Dataset("digits", X_train, y_train, X_test, y_test, 10, (8, 8))


# -- your own data: CSV and NPZ -------------------------------------------------------------


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def load_csv(
    path: str | os.PathLike,
    target: int | str = -1,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    max_bytes: int = MAX_BYTES,
) -> Dataset:
    """A CSV table: one row per example, the ``target`` column (name or index) holds the labels.

    A first row with any non-numeric cell is taken as the header. Labels may be
    integers ≥ 0 or text (class names, numbered in sorted order). The rows are
    split into train and test with a seeded, stratified split.
    """
    path = Path(path)
    text = _read_capped(path, max_bytes)
    try:
        rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: not a readable CSV file ({e})") from None
    rows = [(i, r) for i, r in enumerate(rows, start=1) if r and any(c.strip() for c in r)]
    if not rows:
        raise DatasetError(f"{path}: the file holds no rows")
    header = None
    if not all(_is_number(c) for c in rows[0][1]):
        header = [c.strip() for c in rows.pop(0)[1]]
    if not rows:
        raise DatasetError(f"{path}: the file has a header but no data rows")
    width = len(header) if header else len(rows[0][1])
    if width < 2:
        raise DatasetError(f"{path}: need at least 2 columns (features and a target), found {width}")
    t = _target_index(path, target, header, width)
    names = header or [str(j + 1) for j in range(width)]
    features, labels = [], []
    for line, row in rows:
        if len(row) != width:
            raise DatasetError(f"{path}: row {line} has {len(row)} columns; expected {width}")
        values = []
        for j, cell in enumerate(row):
            if j == t:
                labels.append(cell.strip())
                continue
            try:
                v = float(cell)
            except ValueError:
                raise DatasetError(
                    f"{path}: row {line}, column {j + 1} ({names[j]!r}): {cell!r} is not a number"
                ) from None
            if not math.isfinite(v):
                raise DatasetError(
                    f"{path}: row {line}, column {j + 1} ({names[j]!r}): {cell!r} is not finite"
                )
            values.append(v)
        features.append(values)
    y, classes = _encode_labels(path, labels, [line for line, _ in rows], t, names[t])
    X = np.array(features, dtype=np.float64)
    X_train, y_train, X_test, y_test = _split(path, X, y, test_fraction, seed)
    n_classes = len(classes) if classes else int(y.max()) + 1
    data = Dataset(path.name, X_train, y_train, X_test, y_test, n_classes, None, classes)
    return _scale(data, standardize)


def _split(path: Path, X, y, test_fraction: float, seed: int):
    try:
        return train_validation_split(X, y, test_fraction, seed)
    except ValueError as e:
        raise DatasetError(f"{path}: cannot split {X.shape[0]} examples into train and test ({e})") from None


def _target_index(path: Path, target: int | str, header: list[str] | None, width: int) -> int:
    if isinstance(target, str) and not target.lstrip("-").isdigit():
        if header is None or target not in header:
            known = f"the header has {header}" if header else "the file has no header row"
            raise DatasetError(f"{path}: no column named {target!r} ({known})")
        return header.index(target)
    t = int(target)
    if not -width <= t < width:
        raise DatasetError(f"{path}: target column {t} is out of range for {width} columns")
    return t % width


def _encode_labels(path, labels, lines, column, name) -> tuple[np.ndarray, list[str] | None]:
    if all(_is_number(v) for v in labels):
        y = np.array([float(v) for v in labels])
        bad = ~np.isfinite(y) | (y < 0) | (y != np.round(y))
        if bad.any():
            i = int(np.argmax(bad))
            raise DatasetError(
                f"{path}: row {lines[i]}, column {column + 1} ({name!r}): label {labels[i]!r} "
                "is not an integer ≥ 0"
            )
        return y.astype(np.int64), None
    classes = sorted(set(labels))
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index[v] for v in labels], dtype=np.int64), classes


def load_npz(
    path: str | os.PathLike,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    max_bytes: int = MAX_BYTES,
) -> Dataset:
    """An .npz with X_train, y_train, X_test, y_test (or X and y, split here); no pickles."""
    from ..files import ModelFileError, read_npz

    path = Path(path)
    try:
        arrays = read_npz(path, max_bytes=max_bytes)
    except ModelFileError as e:
        raise DatasetError(str(e)) from None
    keys = set(arrays)
    if {"X_train", "y_train", "X_test", "y_test"} <= keys:
        parts = [arrays[k] for k in ("X_train", "y_train", "X_test", "y_test")]
    elif {"X", "y"} <= keys:
        parts = None
    else:
        raise DatasetError(
            f"{path}: expected arrays X_train, y_train, X_test, y_test (or X, y); found {sorted(keys)}"
        )
    for k in keys & {"X", "X_train", "X_test"}:
        X = arrays[k]
        if X.ndim < 2 or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise DatasetError(
                f"{path}: {k} must be a numeric array of 2 or more dimensions, got {X.dtype} {X.shape}"
            )
        if not np.isfinite(X).all():
            raise DatasetError(
                f"{path}: {k} contains NaN or inf at index {tuple(np.argwhere(~np.isfinite(X))[0])}"
            )
    for k in keys & {"y", "y_train", "y_test"}:
        y = arrays[k]
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise DatasetError(f"{path}: {k} must be 1-D integer labels ≥ 0, got {y.dtype} {y.shape}")
    if parts is None:
        X, y = arrays["X"], arrays["y"]
        if X.shape[0] != y.shape[0]:
            raise DatasetError(f"{path}: X has {X.shape[0]} rows but y has {y.shape[0]}")
        parts = _split(path, X, y, test_fraction, seed)
    X_train, y_train, X_test, y_test = parts
    for Xp, yp, which in ((X_train, y_train, "train"), (X_test, y_test, "test")):
        if Xp.shape[0] != yp.shape[0]:
            raise DatasetError(f"{path}: X_{which} has {Xp.shape[0]} rows but y_{which} has {yp.shape[0]}")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DatasetError(f"{path}: X_train and X_test differ in shape: {X_train.shape} vs {X_test.shape}")
    image_shape = tuple(X_train.shape[1:]) if X_train.ndim > 2 else None
    n_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    data = Dataset(
        path.name,
        X_train.reshape(X_train.shape[0], -1),
        y_train.astype(np.int64),
        X_test.reshape(X_test.shape[0], -1),
        y_test.astype(np.int64),
        n_classes,
        image_shape,
    )
    if X_train.dtype == np.uint8 and not standardize:  # pixels: keep the 0 … 255 scale
        return _scale(data, False, 0.0, 255.0)
    return _scale(data, standardize)


# -- the one entry point ---------------------------------------------------------------------


def load(
    name: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    standardize: bool = False,
    *,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    sha256: Mapping[str, str] | None = None,
    progress: bool | None = None,
    target: int | str = -1,
) -> Dataset:
    """A dataset by name (``"digits"``, ``"fashion-mnist"``, ``"mnist"``) or by file path.

    Parameters
    ----------
    name : str or path
        A known name, or a ``.csv``, ``.npz`` or Nielsen ``mnist.pkl.gz`` file.
    data_dir : path, optional
        Looked in first for MNIST-style IDX files (default ``$NABLANET_DATA``);
        then ``~/.cache/nablanet/<name>`` and ``/usr/share/datasets/<name>``.
    standardize : bool
        Zero mean, unit variance per feature (training-set statistics) instead of [0, 1].
    download : bool
        Fetch MNIST / Fashion-MNIST into the cache if no copy is found.
    mirrors, sha256 : optional
        Base URLs and expected SHA-256 per file, replacing the official ones
        (``$NABLANET_MNIST_URL`` / ``$NABLANET_FASHION_MNIST_URL`` replace the URL too).
    progress : bool, optional
        Show download progress on stderr (default: when stderr is a terminal).
    target : int or str
        The label column of a CSV file.

    Returns
    -------
    Dataset
    """
    progress = sys.stderr.isatty() if progress is None else progress
    key = str(name).lower().replace("_", "-")
    if key == "digits":
        data = _load_digits()
        return _scale(data, standardize, 0.0, 16.0)
    if key in ("fashion-mnist", "mnist"):
        data = _load_idx_set(key, data_dir, download, mirrors, sha256, progress)
        return _scale(data, standardize, 0.0, 255.0)
    path = Path(name)
    loaders: dict[str, Callable[[], Dataset]] = {
        ".csv": lambda: load_csv(path, target, standardize=standardize),
        ".npz": lambda: load_npz(path, standardize=standardize),
    }
    if path.name.endswith((".pkl.gz", ".pkl")):
        from .nielsen import load_pickled_mnist

        data = load_pickled_mnist(path)
        return _scale(data, True) if standardize else data
    if path.suffix.lower() in loaders:
        if not path.is_file():
            raise DatasetError(f"{path}: no such file")
        return loaders[path.suffix.lower()]()
    raise DatasetError(
        f"unknown dataset {str(name)!r}: use one of {', '.join(NAMES)}, or a .csv, .npz or mnist.pkl.gz file"
    )
