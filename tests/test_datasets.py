"""Datasets: IDX, the download path, CSV, NPZ, the restricted pickle reader, helpers."""

import gzip
import hashlib
import http.server
import os
import pickle
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from nablanet import datasets
from nablanet.datasets import (
    DatasetError,
    load,
    load_csv,
    load_npz,
    one_hot,
    read_idx,
    train_validation_split,
)
from nablanet.datasets.nielsen import load_pickled_mnist, read_restricted

from .helpers import mutations

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(a: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}[a.dtype.type]
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write_idx_set(folder: Path, n_train=12, n_test=5, gz=True, seed=0) -> dict:
    """Four small MNIST-style files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        IDX_NAMES[0]: rng.integers(0, 256, (n_train, 4, 3), dtype=np.uint8),
        IDX_NAMES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        IDX_NAMES[2]: rng.integers(0, 256, (n_test, 4, 3), dtype=np.uint8),
        IDX_NAMES[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, a in arrays.items():
        data = idx_bytes(a)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real cache, system folder or $NABLANET_DATA: everything under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NABLANET_DATA", raising=False)
    monkeypatch.delenv("NABLANET_MNIST_URL", raising=False)
    monkeypatch.setattr(datasets.idx, "SYSTEM_DIR", tmp_path / "system")
    return tmp_path


# -- IDX ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    arrays = write_idx_set(tmp_path, gz=gz)
    for name, a in arrays.items():
        got = read_idx(tmp_path / (name + (".gz" if gz else "")))
        assert got.dtype == a.dtype and np.array_equal(got, a)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, np.float64])
def test_idx_reads_every_dtype_code(tmp_path, dtype):
    a = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    (tmp_path / "f").write_bytes(idx_bytes(a))
    assert np.array_equal(read_idx(tmp_path / "f"), a)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda b: b"\x01" + b[1:], "not an IDX file"),
        (lambda b: b[:2] + b"\x07" + b[3:], "dtype code 0x07"),
        (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
        (lambda b: b[:9], "truncated in the header"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "trailing bytes"),
        (lambda b: b[:2], "too short"),
        (lambda b: b[:4] + (10**9).to_bytes(4, "big") + b[8:], "needs 6000000000 bytes"),
    ],
)
def test_idx_rejects_damaged_headers(tmp_path, edit, message):
    good = idx_bytes(np.zeros((2, 2, 3), dtype=np.uint8))
    (tmp_path / "f").write_bytes(edit(good))
    with pytest.raises(DatasetError, match=message) as e:
        read_idx(tmp_path / "f")
    assert str(tmp_path / "f") in str(e.value)


def test_idx_decompressed_size_cap(tmp_path):
    (tmp_path / "big.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(5000, dtype=np.uint8))))
    with pytest.raises(DatasetError, match="cap"):
        read_idx(tmp_path / "big.gz", max_bytes=1000)
    (tmp_path / "big").write_bytes(idx_bytes(np.zeros(5000, dtype=np.uint8)))
    with pytest.raises(DatasetError, match="cap"):
        read_idx(tmp_path / "big", max_bytes=1000)


def test_idx_not_gzip(tmp_path):
    (tmp_path / "f.gz").write_bytes(b"this is not gzip data at all")
    with pytest.raises(DatasetError, match="cannot decompress"):
        read_idx(tmp_path / "f.gz")


def test_idx_counts_and_label_range(tmp_path):
    write_idx_set(tmp_path, gz=False)
    labels = tmp_path / IDX_NAMES[1]
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros(11, dtype=np.uint8)))
    with pytest.raises(DatasetError, match="12 images but .* 11 labels"):
        datasets.load_idx(tmp_path / IDX_NAMES[0], tmp_path / "short")
    (tmp_path / "bad").write_bytes(idx_bytes(np.array([1] * 11 + [10], dtype=np.uint8)))
    with pytest.raises(DatasetError, match="label 10 at index 11 is out of range"):
        datasets.load_idx(tmp_path / IDX_NAMES[0], tmp_path / "bad")
    X, y = datasets.load_idx(tmp_path / IDX_NAMES[0], labels)
    assert X.shape == (12, 4, 3) and y.dtype == np.int64


@pytest.mark.parametrize("gz", [False, True])
def test_idx_mutation_loop_raises_only_dataset_error(tmp_path, gz):
    good = idx_bytes(np.random.default_rng(1).integers(0, 256, (3, 5, 4), dtype=np.uint8))
    if gz:
        good = gzip.compress(good, mtime=0)
    target = tmp_path / ("m.gz" if gz else "m")
    outcomes = {"error": 0, "ok": 0}
    for data in mutations(good, 1200):
        target.write_bytes(data)
        try:
            a = read_idx(target)
        except DatasetError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
            assert a.ndim >= 1
    assert outcomes["error"] > 600  # most damage is detected, the rest is harmless payload changes


# -- load: search order and download --------------------------------------------------------


def test_load_digits():
    d = load("digits")
    assert d.name == "digits" and d.n_classes == 10 and d.image_shape == (8, 8)
    assert d.X_train.shape[0] + d.X_test.shape[0] == 1797 and d.X_train.shape[1] == 64
    assert d.X_train.dtype == np.float32 and d.X_train.min() == 0 and d.X_train.max() == 1
    assert d.y_train.dtype == np.int64 and set(np.unique(d.y_test)) == set(range(10))
    again = load("digits")
    assert np.array_equal(again.X_test, d.X_test)  # the split is seeded
    s = load("digits", standardize=True)
    assert abs(float(s.X_train.mean())) < 1e-6


def test_load_searches_data_dir_then_cache_then_system(isolated, monkeypatch):
    system = write_idx_set(isolated / "system" / "fashion-mnist", seed=1)
    d = load("fashion-mnist", download=False)
    assert np.array_equal(d.X_train, system[IDX_NAMES[0]].reshape(12, -1).astype(np.float32) / 255)
    assert d.image_shape == (4, 3) and d.y_test.dtype == np.int64
    cached = write_idx_set(isolated / "cache" / "nablanet" / "fashion-mnist", seed=2)
    assert np.array_equal(load("fashion-mnist", download=False).y_train, cached[IDX_NAMES[1]])
    mine = write_idx_set(isolated / "mine", n_train=7, seed=3, gz=False)
    assert np.array_equal(load("fashion-mnist", data_dir=isolated / "mine").y_train, mine[IDX_NAMES[1]])
    monkeypatch.setenv("NABLANET_DATA", str(isolated / "mine"))
    assert load("fashion-mnist").X_train.shape == (7, 12)


def test_load_not_found_without_download(isolated):
    with pytest.raises(DatasetError, match="not found; looked in"):
        load("mnist", download=False)


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="dataset-fashion-mnist")
def test_load_real_fashion_mnist(monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-cache")
    monkeypatch.delenv("NABLANET_DATA", raising=False)
    d = load("fashion-mnist", download=False)
    assert d.X_train.shape == (60000, 784) and d.X_test.shape == (10000, 784)
    assert np.bincount(d.y_test).tolist() == [1000] * 10


class _Server:
    """A static file server on 127.0.0.1 that counts requests."""

    def __init__(self, root: Path):
        handler = self._handler(root)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _handler(self, root):
        server = self
        server.requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _served(isolated):
    arrays = write_idx_set(isolated / "www", seed=4)
    sha = {
        f"{n}.gz": hashlib.sha256((isolated / "www" / f"{n}.gz").read_bytes()).hexdigest() for n in IDX_NAMES
    }
    return arrays, sha


def test_download_verifies_and_caches(isolated):
    arrays, sha = _served(isolated)
    with _Server(isolated / "www") as server:
        d = load("mnist", mirrors=[server.url], sha256=sha, progress=True)
        assert len(server.requests) == 4
        again = load("mnist", mirrors=[server.url], sha256=sha)
        assert len(server.requests) == 4  # the second load reads the cache
    assert np.array_equal(d.y_train, arrays[IDX_NAMES[1]]) and np.array_equal(again.X_test, d.X_test)
    cached = sorted(p.name for p in (isolated / "cache" / "nablanet" / "mnist").iterdir())
    assert cached == sorted(f"{n}.gz" for n in IDX_NAMES)  # no temp files left behind


def test_download_url_from_environment(isolated, monkeypatch):
    arrays, sha = _served(isolated)
    with _Server(isolated / "www") as server:
        monkeypatch.setenv("NABLANET_MNIST_URL", server.url)
        d = load("mnist", sha256=sha)
        assert len(server.requests) == 4
    assert np.array_equal(d.y_test, arrays[IDX_NAMES[3]])


def test_download_rejects_wrong_checksum_and_keeps_nothing(isolated):
    _, sha = _served(isolated)
    sha[f"{IDX_NAMES[2]}.gz"] = "0" * 64
    with _Server(isolated / "www") as server:
        with pytest.raises(DatasetError, match="SHA-256 .* does not match"):
            load("mnist", mirrors=[server.url], sha256=sha)
    cache = isolated / "cache" / "nablanet" / "mnist"
    assert not (cache / f"{IDX_NAMES[2]}.gz").exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_download_offline_says_where_to_put_files(isolated):
    _, sha = _served(isolated)
    with _Server(isolated / "www") as server:
        url = server.url
    with pytest.raises(DatasetError, match=r"Put the four IDX files .* in .*cache/nablanet/mnist"):
        load("mnist", mirrors=[url], sha256=sha)


def test_download_falls_back_to_next_mirror(isolated):
    arrays, sha = _served(isolated)
    (isolated / "empty").mkdir()
    with _Server(isolated / "empty") as bad, _Server(isolated / "www") as good:
        d = load("mnist", mirrors=[bad.url, good.url], sha256=sha)
    assert np.array_equal(d.y_train, arrays[IDX_NAMES[1]])


def test_unknown_name():
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
        load("cifar")


# -- CSV -------------------------------------------------------------------------------------


def _table(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_target_by_name_and_index(tmp_path):
    rows = "\n".join(f"{i},{2 * i},{i % 3}" for i in range(30))
    p = _table(tmp_path, "a,b,label\n" + rows + "\n")
    d = load_csv(p, target="label", scaling="minmax")
    assert d.n_classes == 3 and d.X_train.shape[1] == 2 and d.X_train.shape[0] + d.X_test.shape[0] == 30
    assert d.X_train.dtype == np.float32 and d.X_train.min() == 0 and d.X_train.max() == 1
    assert np.array_equal(load_csv(p, target=2).y_train, d.y_train)
    first = _table(tmp_path, "label,a,b\n" + "\n".join(f"{i % 3},{i},{2 * i}" for i in range(30)), "f.csv")
    assert np.array_equal(load(first, target=0).y_train, d.y_train)


def test_csv_text_labels(tmp_path):
    p = _table(tmp_path, "".join(f"{i},{['cat', 'dog'][i % 2]}\n" for i in range(20)))
    d = load(p)
    assert d.classes == ["cat", "dog"] and d.n_classes == 2
    assert set(np.unique(d.y_train)) == {0, 1}


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,y\n1,2,0\n3,4\n", "row 3 has 2 columns; expected 3"),
        ("a,b,y\n1,2,0\n3,x,1\n", r"row 3, column 2 \('b'\): 'x' is not a number"),
        ("a,b,y\n1,nan,0\n3,4,1\n", r"row 2, column 2 \('b'\): 'nan' is not finite"),
        ("a,b,y\n1,2,0\n-inf,4,1\n", r"row 3, column 1 \('a'\): '-inf' is not finite"),
        ("a,b,y\n1,2,0\n3,4,1.5\n", r"row 3, column 3 \('y'\): label '1.5' is not an integer"),
        ("a,b,y\n", "no data rows"),
        ("", "no rows"),
        ("1\n2\n", "at least 2 columns"),
        ("a,y\n1,0\n", "cannot split 1 examples"),
    ],
)
def test_csv_errors_name_row_and_column(tmp_path, text, message):
    with pytest.raises(DatasetError, match=message):
        load_csv(_table(tmp_path, text))


def test_csv_target_errors(tmp_path):
    p = _table(tmp_path, "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DatasetError, match="no column named 'z'"):
        load_csv(p, target="z")
    with pytest.raises(DatasetError, match="target column 5 is out of range"):
        load_csv(p, target=5)


def test_csv_mutation_loop_raises_only_dataset_error(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5},{i % 2}" for i in range(12))
    good = ("x1,x2,y\n" + rows + "\n").encode()
    p = tmp_path / "m.csv"
    ok = 0
    for data in mutations(good, 1200, seed=1):
        p.write_bytes(data)
        try:
            d = load_csv(p)
        except DatasetError:
            continue
        ok += 1
        assert np.isfinite(d.X_train).all() and d.y_train.min() >= 0
    assert ok > 0


# -- NPZ -------------------------------------------------------------------------------------


def test_npz_four_arrays_and_two_arrays(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (20, 3, 3), dtype=np.uint8)
    y = np.arange(20) % 4
    np.savez(tmp_path / "a.npz", X_train=X[:15], y_train=y[:15], X_test=X[15:], y_test=y[15:])
    d = load(tmp_path / "a.npz")
    assert d.image_shape == (3, 3) and d.X_train.shape == (15, 9) and d.n_classes == 4
    assert np.allclose(d.X_test, X[15:].reshape(5, -1) / 255)
    np.savez_compressed(tmp_path / "b.npz", X=rng.random((30, 2)), y=np.arange(30) % 3)
    d = load_npz(tmp_path / "b.npz")
    assert d.X_train.shape[0] + d.X_test.shape[0] == 30 and d.X_train.dtype == np.float32


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "k.npz", inputs=np.zeros((2, 2)))
    with pytest.raises(DatasetError, match="expected arrays X_train"):
        load_npz(tmp_path / "k.npz")
    np.savez(tmp_path / "n.npz", X=np.array([[1.0, np.nan]] * 4), y=np.zeros(4, int))
    with pytest.raises(DatasetError, match="NaN or inf"):
        load_npz(tmp_path / "n.npz")
    np.savez(tmp_path / "f.npz", X=np.zeros((4, 2)), y=np.zeros(4))
    with pytest.raises(DatasetError, match="integer labels"):
        load_npz(tmp_path / "f.npz")


class _Bomb:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_npz_object_array_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "MARKER"
    np.savez(
        tmp_path / "evil.npz", X=np.array([_Bomb(marker)] * 4, dtype=object).reshape(2, 2), y=np.zeros(2, int)
    )
    assert not marker.exists()
    with pytest.raises(DatasetError, match="dtype object"):
        load_npz(tmp_path / "evil.npz")
    assert not marker.exists()


def test_npz_mutation_loop_raises_only_dataset_error(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "good.npz", X=rng.random((6, 2)), y=np.arange(6) % 2)
    good = (tmp_path / "good.npz").read_bytes()
    p = tmp_path / "m.npz"
    ok = 0
    for data in mutations(good, 1200, seed=2):
        p.write_bytes(data)
        try:
            load_npz(p)
        except DatasetError:
            continue
        ok += 1
    assert ok < 1200 // 2


# -- the restricted pickle reader --------------------------------------------------------------


def _nielsen(rng, n=(20, 6, 7), pixels=16):
    return tuple(
        (rng.random((k, pixels), dtype=np.float32), rng.integers(0, 10, k).astype(np.int64)) for k in n
    )


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_pickled_mnist_round_trip(tmp_path, protocol):
    parts = _nielsen(np.random.default_rng(protocol))
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps(parts, protocol=protocol)))
    d = load(tmp_path / "mnist.pkl.gz")
    assert np.array_equal(d.X_train, np.vstack([parts[0][0], parts[1][0]]))
    assert np.array_equal(d.y_test, parts[2][1]) and d.image_shape == (4, 4)


def test_python2_style_pickle_with_str_data(tmp_path):
    """Nielsen's file came from Python 2: array bytes stored as a latin-1 str."""
    a = np.arange(6, dtype=np.float64).reshape(2, 3) / 10
    raw = a.tobytes().decode("latin-1")
    payload = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85U\x01b\x87R"
        b"(K\x01K\x02K\x03\x86cnumpy\ndtype\nU\x02f8K\x00K\x01\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        b"\x89T" + len(raw).to_bytes(4, "little") + raw.encode("latin-1") + b"tb."
    )
    assert np.array_equal(read_restricted(payload, "py2"), a)


@pytest.mark.parametrize(
    "payload",
    [
        lambda m: pickle.dumps(_Bomb(m)),
        lambda m: pickle.dumps(_Bomb(m), protocol=0),
        lambda m: f"cos\nsystem\n(Vtouch {m}\ntR.".encode(),
        lambda m: b"\x80\x04\x95" + b"\x00" * 8 + b"\x8c\x08builtins\x8c\x04exec\x93\x8c\x01x\x85R.",
        lambda m: pickle.dumps(((_Bomb(m), np.zeros(2)),) * 3, protocol=2),
    ],
)
def test_malicious_pickle_never_runs(tmp_path, payload):
    marker = tmp_path / "MARKER"
    data = payload(marker)
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(data))
    with pytest.raises(DatasetError, match="refuses|not allowed"):
        load(tmp_path / "mnist.pkl.gz")
    assert not marker.exists()


def test_pickle_of_wrong_structure(tmp_path):
    rng = np.random.default_rng(0)
    for bad, message in [
        (_nielsen(rng)[:2], "expected a"),
        (((np.zeros((2, 4), np.float32), np.zeros(3, np.int64)),) * 3, "2 images and 3 labels"),
        (((np.zeros((2, 4), np.float32), np.array([0, 12])),) * 3, "outside 0"),
        (((np.full((2, 4), 2, np.float32), np.array([0, 1])),) * 3, "within"),
        ([1, 2, 3], "not allowed"),
    ]:
        (tmp_path / "x.pkl").write_bytes(pickle.dumps(bad, protocol=2))
        with pytest.raises(DatasetError, match=message):
            load_pickled_mnist(tmp_path / "x.pkl")


def test_pickle_mutation_loop_raises_only_dataset_error():
    good = pickle.dumps(_nielsen(np.random.default_rng(0), n=(3, 2, 2), pixels=4), protocol=2)
    for data in mutations(good, 1200, seed=3):
        try:
            read_restricted(data, "m")
        except DatasetError:
            pass


# -- helpers ---------------------------------------------------------------------------------


def test_split_is_seeded_stratified_and_disjoint():
    X = np.arange(200).reshape(100, 2)
    y = np.repeat(np.arange(4), 25)
    a = train_validation_split(X, y, 0.2, seed=3)
    b = train_validation_split(X, y, 0.2, seed=3)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    X_tr, y_tr, X_val, y_val = a
    assert np.bincount(y_val).tolist() == [5] * 4 and len(X_tr) == 80
    assert not set(X_tr[:, 0]) & set(X_val[:, 0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_validation_split(X, y, 1.0)


def test_one_hot():
    assert one_hot(np.array([2, 0])).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert one_hot(np.array([1]), 4).shape == (1, 4)
    with pytest.raises(ValueError, match=r"must be in \[0, 2\], found 3"):
        one_hot(np.array([3]), 3)
    with pytest.raises(ValueError, match="integer labels"):
        one_hot(np.array([0.5]))


def test_dataset_summary():
    d = load("digits")
    assert d.summary() == {
        "name": "digits",
        "n_train": 1438,
        "n_test": 359,
        "n_features": 64,
        "n_classes": 10,
        "scaling": "divided by 16 (whole numbers 0 … 16, as pixels are)",
    }


def test_transform_repeats_the_scaling_on_raw_inputs(tmp_path):
    d = load("digits")
    assert d.input_shift == 0 and d.input_scale == 16
    assert np.array_equal(d.transform(d.X_test * 16), d.X_test)  # pixels 0 … 16 → [0, 1]
    s = load("digits", standardize=True)
    assert np.allclose(s.transform(d.X_train * 16), s.X_train, atol=1e-6)
    table = "\n".join(f"{i},{3 * i + 1},{i % 2}" for i in range(20))
    c = load_csv(_table(tmp_path, "a,b,y\n" + table + "\n"), scaling="minmax")
    assert c.input_shift.tolist() == [0, 1]  # the training rows' minima; the maxima depend on the split
    lows_and_highs = np.array([c.input_shift, c.input_shift + c.input_scale])
    assert np.array_equal(c.transform(lows_and_highs), [[0, 0], [1, 1]])


def test_transform_composes_with_a_pickle_already_in_unit_range(tmp_path):
    parts = _nielsen(np.random.default_rng(0))
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps(parts, protocol=2)))
    d = load(tmp_path / "mnist.pkl.gz", standardize=True)
    assert np.allclose(d.transform(parts[2][0]), d.X_test, atol=1e-6)
    assert abs(float(d.X_train.mean())) < 1e-5


# -- hostile files: bounded cost, exact labels, one error type (issue 15) ----------------------


def _timed_peak(fn):
    """(seconds, peak traced bytes, the DatasetError raised or None): fn run twice, once
    timed and once under tracemalloc, which slows Python code several times over."""
    import time
    import tracemalloc

    def call():
        try:
            fn()
        except DatasetError as e:
            return e
        return None

    start = time.perf_counter()
    error = call()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, error


def test_a_pickle_of_many_marks_and_tuples_is_linear(tmp_path):
    """The old reader rescanned the stack at every TUPLE: 9,000 of them took seconds."""
    data = b"\x80\x02" + b"(" * 9000 + b"t" * 9000 + b"."
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(data))
    seconds, _, error = _timed_peak(lambda: load(tmp_path / "mnist.pkl.gz"))
    assert seconds < 0.5 and "expected a (train, validation, test) tuple" in str(error)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"N" * 20_000 + b".", "stack grows past 10000"),
        (b"(" * 20_000, "more than 10000 open marks"),
        (b"N" + b"\x85" * 50_000 + b".", "more than 20000 pickle opcodes"),
        (b"\x80\x02" + b"N" * (30 << 20) + b".", "decompresses to more than"),
    ],
)
def test_pickle_bombs_are_refused_quickly_and_small(tmp_path, data, message):
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(data, 9))
    assert (tmp_path / "mnist.pkl.gz").stat().st_size < 1 << 20
    seconds, peak, error = _timed_peak(lambda: load(tmp_path / "mnist.pkl.gz"))
    assert message in str(error) and seconds < 1 and peak < 50 << 20


def test_pickled_bytes_reused_through_the_memo_do_not_multiply():
    """One string encoded to bytes again and again through the memo would copy it each time."""
    big = "\0" * 100_000
    body = b"\x80\x02c_codecs\nencode\nq\x00X" + len(big).to_bytes(4, "little") + big.encode() + b"q\x01"
    calls = b"h\x00h\x01\x8c\x06latin1\x86R" * 50
    seconds, peak, error = _timed_peak(lambda: read_restricted(body + b"(" + calls + b"t.", "m"))
    assert "builds more data than it holds" in str(error) and peak < 5 << 20


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
@pytest.mark.parametrize("name", ["x.pkl", "t.csv", "d.npz", "train-images-idx3-ubyte"])
def test_only_regular_files_are_read(tmp_path, kind, name):
    path = tmp_path / name
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    read = read_idx if name.startswith("train") else load
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_timed_peak(lambda: read(path))), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive() and kind == "fifo":  # unblock the old code's open(), then fail
        with open(path, "wb"):
            pass
    assert not reader.is_alive()
    seconds, peak, error = outcome[0]
    assert "not a regular file" in str(error) and peak < 1 << 20


def test_a_gzip_bomb_stops_at_the_ratio_cap_and_the_cap_can_be_raised(tmp_path, monkeypatch):
    a = np.zeros((6000, 28, 28), np.uint8)  # 4.7 MB of zeros: 5 KB compressed
    (tmp_path / "i.gz").write_bytes(gzip.compress(idx_bytes(a)))
    seconds, peak, error = _timed_peak(lambda: read_idx(tmp_path / "i.gz"))
    assert "decompresses to more than 4194304 bytes (10× its size" in str(error) and peak < 10 << 20
    assert read_idx(tmp_path / "i.gz", max_ratio=10_000).shape == a.shape
    monkeypatch.setenv("NABLANET_MAX_RATIO", "10000")
    assert read_idx(tmp_path / "i.gz").shape == a.shape


def test_an_npz_that_inflates_past_the_ratio_is_refused_from_its_directory(tmp_path):
    np.savez_compressed(tmp_path / "z.npz", X=np.zeros((8000, 784), np.uint8), y=np.zeros(8000, np.int64))
    assert (tmp_path / "z.npz").stat().st_size < 100_000
    seconds, peak, error = _timed_peak(lambda: load_npz(tmp_path / "z.npz"))
    assert "unpacks to" in str(error) and "max_ratio=" in str(error) and peak < 1 << 20
    assert load_npz(tmp_path / "z.npz", max_ratio=1000).n_features == 784


def _lie_about_size(path: Path, member: str, size: int) -> None:
    """Rewrite the central directory's uncompressed size of one member (the CRC stays)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_len] == member.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("size", [200, 10**6])
def test_an_npz_whose_directory_lies_is_caught_while_streaming(tmp_path, size):
    np.savez_compressed(tmp_path / "z.npz", X=np.zeros((3000, 784), np.uint8), y=np.zeros(3000, np.int64))
    _lie_about_size(tmp_path / "z.npz", "X.npy", size)
    seconds, peak, error = _timed_peak(lambda: load_npz(tmp_path / "z.npz", max_ratio=1000))
    assert error is not None and peak < 4 << 20


@pytest.mark.parametrize(
    "cell, message",
    [
        ("1e19", "needs more classes than the cap of 10,000"),
        ("2000000", "needs more classes than the cap of 10,000"),
        ("1e999999999", "needs more classes than the cap"),
        ("", "row 4, column 3 \\('y'\\): the label is blank"),
        ("-1", "label '-1' is not an integer ≥ 0"),
        ("nan", "label 'nan' is not an integer ≥ 0"),
        ("cat", "mixes numbers \\(row 2\\) and text \\(row 4\\)"),
    ],
)
def test_csv_labels_are_exact_integers(tmp_path, cell, message):
    p = _table(tmp_path, f"a,b,y\n1,2,0\n3,4,1\n5,6,{cell}\n7,8,1\n")
    seconds, peak, error = _timed_peak(lambda: load_csv(p))
    assert re.search(message, str(error)) and seconds < 0.5 and peak < 1 << 20


def test_csv_integer_labels_in_other_spellings_and_the_class_cap_override(tmp_path, monkeypatch):
    p = _table(tmp_path, "".join(f"{i},{['0', '1.0', '2e0', '+3'][i % 4]}\n" for i in range(40)))
    assert sorted(set(load_csv(p).y_train)) == [0, 1, 2, 3]
    with pytest.raises(DatasetError, match="cap of 3 "):
        load_csv(p, max_classes=3)
    monkeypatch.setenv("NABLANET_MAX_CLASSES", "3")
    with pytest.raises(DatasetError, match="cap of 3 "):
        load(p)
    text = _table(tmp_path, "".join(f"{i},c{i % 5}\n" for i in range(40)), "names.csv")
    with pytest.raises(DatasetError, match="5 distinct labels, over the cap of 3 classes"):
        load(text)


def test_npz_labels_out_of_range_and_empty_sets(tmp_path):
    X = np.zeros((4, 2))
    np.savez(tmp_path / "u.npz", X=X, y=np.array([0, 1, 2**64 - 1, 0], np.uint64))
    with pytest.raises(DatasetError, match=r"y\[2\]: label 18446744073709551615 means"):
        load_npz(tmp_path / "u.npz")
    np.savez(tmp_path / "n.npz", X=X, y=np.array([0, 1, -1, 0]))
    with pytest.raises(DatasetError, match=r"y\[2\] is -1, not a label ≥ 0"):
        load_npz(tmp_path / "n.npz")
    np.savez(tmp_path / "e.npz", X=np.zeros((0, 2)), y=np.zeros(0, np.int64))
    with pytest.raises(DatasetError, match="X has 0 examples"):
        load_npz(tmp_path / "e.npz")
    np.savez(tmp_path / "b.npz", X=X, y=np.array([True, False] * 2))
    with pytest.raises(DatasetError, match="integer labels"):
        load_npz(tmp_path / "b.npz")


def test_idx_with_zero_images_says_so(tmp_path):
    (tmp_path / "i").write_bytes(idx_bytes(np.zeros((0, 4, 4), np.uint8)))
    (tmp_path / "l").write_bytes(idx_bytes(np.zeros(0, np.uint8)))
    with pytest.raises(DatasetError, match="has 0 examples"):
        datasets.load_idx(tmp_path / "i", tmp_path / "l")


def test_npz_common_key_names_and_a_key_mapping(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20) % 2
    np.savez(tmp_path / "k.npz", x=X[:15], y=y[:15], x_test=X[15:], y_test=y[15:])
    d = load(tmp_path / "k.npz")
    assert d.X_train.shape == (15, 784) and np.array_equal(d.y_test, y[15:]) and d.image_shape == (28, 28)
    np.savez(tmp_path / "m.npz", images=X, labels=y)
    d = load(tmp_path / "m.npz", keys={"x": "images", "y": "labels"})
    assert d.X_train.shape[0] + d.X_test.shape[0] == 20
    with pytest.raises(DatasetError, match="expected arrays"):
        load(tmp_path / "m.npz")
    np.savez(tmp_path / "two.npz", X=X, x=X, y=y)
    with pytest.raises(DatasetError, match="both 'X' and 'x' could be x"):
        load(tmp_path / "two.npz")


def test_default_scaling_is_chosen_by_the_data_and_recorded(tmp_path):
    rng = np.random.default_rng(0)
    centred = rng.normal(5, 3, (200, 40))  # already-continuous features: standardised
    np.savez(tmp_path / "s.npz", X=centred, y=np.arange(200) % 2)
    d = load(tmp_path / "s.npz")
    assert d.scaling.startswith("standardised") and np.allclose(d.X_train.mean(axis=0), 0, atol=1e-5)
    pixels = rng.integers(0, 17, (200, 64)).astype(np.float64)  # whole numbers 0 … 16, as digits
    np.savez(tmp_path / "p.npz", X=pixels, y=np.arange(200) % 2)
    d = load(tmp_path / "p.npz")
    assert d.scaling.startswith("divided by 16") and d.input_scale == 16 and d.X_train.max() == 1
    unit = rng.random((200, 5))
    np.savez(tmp_path / "u.npz", X=unit, y=np.arange(200) % 2)
    assert load(tmp_path / "u.npz").scaling.startswith("unchanged")
    assert load(tmp_path / "u.npz", scaling="minmax").scaling.startswith("min–max")
    assert load(tmp_path / "u.npz", standardize=True).scaling.startswith("standardised")


def test_mnist_sets_carry_their_class_names(isolated):
    write_idx_set(isolated / "fashion-mnist")
    d = load("fashion-mnist", data_dir=isolated, download=False)
    assert d.classes[0] == "T-shirt/top" and d.classes[9] == "Ankle boot" and len(d.classes) == 10
    write_idx_set(isolated / "mnist")
    assert load("mnist", data_dir=isolated, download=False).classes == [str(k) for k in range(10)]
    assert load("digits").classes == [str(k) for k in range(10)]
