"""Fuzz every file loader: is each file up to 1 MB accepted or refused, with the documented error,
in under 1 s and 100 MB?

    python -m benchmarks.fuzz                      # 10,000 cases per format (a few minutes)
    python -m benchmarks.fuzz --cases 500 --formats model,csv --json fuzz.json

Formats: model and checkpoint files (``ModelFileError``), IDX raw and gzipped, CSV, NPZ and
Nielsen's ``mnist.pkl.gz`` (``DatasetError``). Each case is one file, made from a small
valid seed by one of:

- ``mutation``: random bit flips, overwritten, inserted, deleted or repeated bytes;
- ``inner``: the same inside the compression (gzip, or one zip member rewritten with a
  valid CRC), so the parser rather than the decompressor meets the damage;
- ``crafted``: a well-formed file with hostile contents: header fields of the wrong type or
  size with the SHA-256 recomputed (it is integrity, not authenticity), hostile CSV cells,
  NPZ arrays with bad labels or lying .npy headers, IDX dimensions, random pickle opcodes;
- ``lie``: a zip directory whose sizes, methods or offsets were edited;
- ``bomb``: a file under 1 MB that claims, or inflates to, far more.

Cases run in a worker process, one at a time; the parent kills a worker that is silent
for ``--timeout`` seconds and records a ``Timeout``. Time is the loader's CPU time and its
wall time (which, on a busy machine, includes waiting for a core);
memory is the rise of the worker's peak RSS during the case (the kernel's high-water
mark is reset before each case through /proc/self/clear_refs; tracemalloc where that is
not available). Any outcome but acceptance or the format's documented error is a failure;
such files are kept under ``--keep`` for replay.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import io
import json
import os
import pickle
import random
import select
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

FORMATS = ("model", "checkpoint", "idx", "idx.gz", "csv", "npz", "mnist.pkl.gz")
EXPECTED = {f: "ModelFileError" if f in ("model", "checkpoint") else "DatasetError" for f in FORMATS}
SUFFIX = {"model": ".npz", "checkpoint": ".npz", "idx": "", "idx.gz": ".gz", "csv": ".csv",
          "npz": ".npz", "mnist.pkl.gz": ".pkl.gz"}  # fmt: skip
MAX_CASE_BYTES = 1 << 20
HOSTILE = [
    None, True, False, 0, -1, 1.5, float("nan"), float("inf"), 10**9, 2**64, 10**30, "", "x",
    "relu", "float16", [], [1], [None], [10**9, 10**9], {}, {"name": "relu"},
    {"name": "softmax", "x": 1}, [5, 20_000_000, 3], [5, 10**9, 3], [[[[[]]]]], "0" * 5000,
]  # fmt: skip
CELLS = [
    "", " ", "1e19", "2000000", "-1", "nan", "inf", "-inf", "1.5", "0x10", "١٢", "9" * 5000,
    "\x00", '"', "a,b", "1e999999999", "+3", "3.0", "1_0", "cat", "1e-999", "Infinity",
]  # fmt: skip


# -- seeds: one or two small valid files per format --------------------------------------------


def seeds(workdir: Path) -> dict[str, list[bytes]]:
    """Valid files of each format, made with nablanet and NumPy's own writers."""
    import nablanet
    from nablanet.io.model import save

    rng = np.random.default_rng(0)
    out: dict[str, list[bytes]] = {}
    net = nablanet.Network([6, 5, 3], seed=0)
    history = nablanet.History(cost=[0.5, 0.4], val_cost=[None, 0.45], val_accuracy=[None, 0.5])
    save(net, workdir / "m.npz", history=history, hyperparameters={"eta": 0.1, "data": "digits"})
    save(nablanet.Network([4, 3, 2], "leaky_relu", "sigmoid", "quadratic", seed=1), workdir / "q.npz")
    out["model"] = [(workdir / n).read_bytes() for n in ("m.npz", "q.npz")]
    X, y = rng.random((16, 6)), np.arange(16) % 3
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 16 random examples: the chance-level check speaks up
        nablanet.fit(nablanet.Network([6, 5, 3], seed=0), X, y, epochs=1, batch_size=4, eta=0.1,
                     checkpoint=workdir / "c.npz", checkpoint_every=2)  # fmt: skip
    out["checkpoint"] = [(workdir / "c.npz").read_bytes()]
    images, labels = rng.integers(0, 256, (20, 6, 6), dtype=np.uint8), rng.integers(0, 10, 20, dtype=np.uint8)
    out["idx"] = [idx_bytes(images), idx_bytes(labels)]
    out["idx.gz"] = [gzip.compress(b, mtime=0) for b in out["idx"]]
    rows = "".join(f"{i},{i * 0.5:.2f},{(i * 7) % 5},{i % 3}\n" for i in range(30))
    names = "".join(f"{i},{i % 4},{['setosa', 'versicolor', 'virginica'][i % 3]}\n" for i in range(30))
    out["csv"] = [("a,b,c,label\n" + rows).encode(), ("x1,x2,species\n" + names).encode()]
    out["npz"] = [_npz(np.savez, X=X, y=y), _npz(np.savez_compressed, x=images[:15], y=labels[:15],
                                                 x_test=images[15:], y_test=labels[15:])]  # fmt: skip
    parts = tuple((rng.random((k, 16), dtype=np.float32), rng.integers(0, 10, k)) for k in (6, 3, 3))
    out["mnist.pkl.gz"] = [gzip.compress(pickle.dumps(parts, protocol=p), mtime=0) for p in (0, 2, 5)]
    return out


def idx_bytes(a: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}[a.dtype.type]
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def _npz(save, **arrays) -> bytes:
    buffer = io.BytesIO()
    save(buffer, **arrays)
    return buffer.getvalue()


# -- mutators -----------------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits of the bytes."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            b += bytes([rng.randrange(256)])
        at = rng.randrange(len(b))
        op = rng.randrange(7)
        if op == 0:
            b[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[at] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        elif op == 2:
            del b[rng.randrange(len(b) + 1) :]
        elif op == 3:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4:
            del b[at : at + rng.randint(1, 64)]
        elif op == 5:
            b[at:at] = b[at : at + rng.randint(1, 256)] * rng.randint(1, 64)
        else:
            b[at : at + 4] = rng.choice(
                [0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, rng.getrandbits(32)]
            ).to_bytes(4, "little")
    return bytes(b[:MAX_CASE_BYTES])


def zip_members(data: bytes) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.infolist(), {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(infos, contents: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for info in infos:
            zf.writestr(info.filename, contents[info.filename], compress_type=info.compress_type)
    return buffer.getvalue()


def inner(fmt: str, data: bytes, rng: random.Random) -> bytes:
    """Damage inside the compression: the checksums of gzip or zip stay valid."""
    if fmt in ("idx.gz", "mnist.pkl.gz"):
        return gzip.compress(mutate(gzip.decompress(data), rng), mtime=0)
    if fmt in ("model", "checkpoint", "npz"):
        infos, contents = zip_members(data)
        name = rng.choice(infos).filename
        contents[name] = mutate(contents[name], rng)
        return rezip(infos, contents)
    return mutate(data, rng)


def lie(data: bytes, rng: random.Random) -> bytes:
    """Edit one central-directory field: a size, the method, the flags or the offset."""
    b = bytearray(data)
    entries = [i for i in range(len(b) - 4) if b[i : i + 4] == b"PK\x01\x02"]
    if not entries:
        return mutate(data, rng)
    at = rng.choice(entries)
    field, width = rng.choice(
        [(20, 4), (24, 4), (10, 2), (8, 2), (42, 4)]
    )  # csize, size, method, flags, offset
    old = int.from_bytes(b[at + field : at + field + width], "little")
    value = rng.choice([0, 1, old + 1, max(0, old - 1), old * 1000, (1 << (8 * width)) - 1, 8, 12, 99])
    b[at + field : at + field + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(b)


# -- crafted files: well formed, hostile contents -----------------------------------------------


def crafted_container(data: bytes, rng: random.Random) -> bytes:
    """A model or checkpoint whose header has one hostile field, its SHA-256 recomputed."""
    from nablanet.io.container import payload_digest

    infos, contents = zip_members(data)
    header = json.loads(contents["header.json"])
    arrays = {n[:-4]: np.load(io.BytesIO(b)) for n, b in contents.items() if n.endswith(".npy")}
    for _ in range(rng.randint(1, 3)):
        _edit_tree(header, rng)
    header.pop("sha256", None)
    with contextlib.suppress(Exception):  # an edit that leaves no digest to compute: keep it as is
        header["sha256"] = payload_digest(header, arrays)
    contents["header.json"] = json.dumps(header).encode()
    return rezip(infos, contents)


def _edit_tree(tree, rng: random.Random) -> None:
    """Replace, delete or add one value somewhere in a JSON tree."""
    node, depth = tree, rng.randint(0, 4)
    for _ in range(depth):
        children = (
            list(node.values() if isinstance(node, dict) else node) if isinstance(node, (dict, list)) else []
        )
        children = [c for c in children if isinstance(c, (dict, list)) and c]
        if not children:
            break
        node = rng.choice(children)
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        action = rng.randrange(3)
        if action == 0:
            del node[key]
        elif action == 1:
            node[key] = _hostile(rng)
        else:
            node[rng.choice(["extra", key + "_", "W9"])] = _hostile(rng)
    elif isinstance(node, list) and node:
        node[rng.randrange(len(node))] = _hostile(rng)


def _hostile(rng: random.Random):
    return copy.deepcopy(rng.choice(HOSTILE))  # a fresh copy: later edits must not reach the pool


def crafted_csv(data: bytes, rng: random.Random) -> bytes:
    rows = [line.split(",") for line in data.decode().splitlines()]
    for _ in range(rng.randint(1, 3)):
        r = rng.randrange(len(rows))
        action = rng.randrange(4)
        if action == 0 or not rows[r]:
            rows[r] = rows[r] + [rng.choice(CELLS)] if rows[r] else [rng.choice(CELLS)]
        elif action == 1:
            rows[r][rng.randrange(len(rows[r]))] = rng.choice(CELLS)
        elif action == 2:
            rows[r][-1] = rng.choice(CELLS)  # the label column
        else:
            del rows[r][rng.randrange(len(rows[r]))]
    return "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")


def crafted_npz(rng: random.Random) -> bytes:
    """An .npz that np.savez would write, with hostile arrays, or a .npy header that lies."""
    n = rng.choice([0, 1, 2, 5, 20])
    X = rng.choice([np.zeros((n, 3)), np.full((n, 3), np.nan), np.ones(n), np.zeros((n, 2, 2), np.uint8),
                    np.full((n, 3), 1e300), np.zeros((n, 3), bool)])  # fmt: skip
    y = rng.choice([np.arange(n) % 2, np.full(n, 2**64 - 1, np.uint64), np.full(n, -1), np.arange(n) * 0.5,
                    np.full(n, 2_000_000), np.ones(n, bool), np.arange(n + 1) % 2,
                    np.zeros((n, 2), int)])  # fmt: skip
    keys = rng.choice([("X", "y"), ("x", "y"), ("X_train", "y_train"), ("X", "Y"), ("inputs", "y")])
    arrays = {keys[0]: X, keys[1]: y}
    if rng.random() < 0.3:
        arrays.update(x_test=X, y_test=y)
    data = _npz(rng.choice([np.savez, np.savez_compressed]), **arrays)
    if rng.random() < 0.3:  # a .npy header that claims another shape or dtype
        infos, contents = zip_members(data)
        name = rng.choice(infos).filename
        fake = rng.choice([b"(1000000000,)", b"(4294967296, 4294967296)", b"(-1,)", b"()", b"(3, 0)"])
        text = contents[name]
        start, end = text.find(b"'shape': ") + 9, text.find(b"), }") + 1
        contents[name] = text[:start] + fake + text[end:] if start > 8 and end > 0 else text
        data = rezip(infos, contents)
    return data


def crafted_idx(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    edit = rng.randrange(3)
    if edit == 0:
        b[2] = rng.choice([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, rng.randrange(256)])
    elif edit == 1:
        b[3] = rng.choice([0, 1, 2, 3, 4, 5, 255])
    else:
        dim = rng.randrange(max(1, b[3]))
        value = rng.choice([0, 1, 2**31, 2**32 - 1, rng.getrandbits(32), 20])
        b[4 + 4 * dim : 8 + 4 * dim] = value.to_bytes(4, "big")
    return bytes(b)


_OPCODES = b"(.0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]abcdefghijklmnopqrstuvwxyz)}" + bytes(
    range(0x80, 0x98)
)
_ARGS = [b"", b"\x00", b"\x01\x00\x00\x00", b"\xff\xff\xff\xff", b"numpy\ndtype\n", b"os\nsystem\n", b"f8\n",
         b"\x06latin1", b"\x02f4", b"0\n", b"01\n", b"999999999999999999999999\n",
         b"\x08" + b"\x00" * 8]  # fmt: skip


def crafted_pickle(data: bytes, rng: random.Random) -> bytes:
    """Random opcodes with random arguments, spliced into a real numpy pickle, gzipped."""
    program = bytearray(gzip.decompress(data))
    for _ in range(rng.randint(1, 20)):
        at = rng.randrange(len(program) + 1)
        program[at:at] = bytes([rng.choice(_OPCODES)]) + rng.choice(_ARGS)
    return gzip.compress(bytes(program), mtime=0)


def crafted(fmt: str, data: bytes, rng: random.Random) -> bytes:
    if fmt in ("model", "checkpoint"):
        return crafted_container(data, rng)
    if fmt == "csv":
        return crafted_csv(data, rng)
    if fmt == "npz":
        return crafted_npz(rng)
    if fmt == "idx":
        return crafted_idx(data, rng)
    if fmt == "idx.gz":
        return gzip.compress(crafted_idx(gzip.decompress(data), rng), mtime=0)
    return crafted_pickle(data, rng)


# -- bombs: under 1 MB on disk, far more when believed ---------------------------------------------


BOMB_BYTES = 300 << 20


def bombs(fmt: str, seed_files: list[bytes], size: int = BOMB_BYTES) -> list[bytes]:
    """A few fixed files per format that claim or inflate to ``size`` bytes or more."""
    zeros = b"\0" * size
    if fmt in ("model", "checkpoint"):
        infos, contents = zip_members(seed_files[0])
        buffer = io.BytesIO(rezip(infos, contents))
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("extra.npy", zeros)
        big = crafted_sizes(seed_files[0], [5, 20_000_000, 3]), crafted_sizes(seed_files[0], [5, 10**9, 3])
        return [buffer.getvalue(), *big]
    if fmt == "npz":
        n = size // 1000
        return [_npz(np.savez_compressed, X=np.zeros((n, 1000), np.uint8), y=np.zeros(n, np.int64))]
    if fmt in ("idx", "idx.gz"):
        head = bytes([0, 0, 8, 3]) + (1_000_000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        raw = head + zeros
        return [gzip.compress(raw, 9)] if fmt == "idx.gz" else [head + zeros[:1000]]
    if fmt == "csv":
        return [b"a,y\n" + b"".join(b"%d,%d\n" % (i, 2_000_000 * (i % 2)) for i in range(60)),
                b"a,y\n" + b"1,0\n" * 100 + b"1," + b"9" * 100_000 + b"\n"]  # fmt: skip
    return [gzip.compress(b"\x80\x02" + b"N" * size + b".", 9),
            gzip.compress(b"\x80\x02" + b"(" * 9000 + b"t" * 9000 + b".", 9),
            gzip.compress(b"\x80\x02" + b"N" + b"\x85" * 500_000 + b".", 9)]  # fmt: skip


def crafted_sizes(data: bytes, sizes: list[int]) -> bytes:
    from nablanet.io.container import payload_digest

    infos, contents = zip_members(data)
    header = json.loads(contents["header.json"])
    arrays = {n[:-4]: np.load(io.BytesIO(b)) for n, b in contents.items() if n.endswith(".npy")}
    header["network"]["sizes"] = sizes
    header.pop("sha256")
    header["sha256"] = payload_digest(header, arrays)
    contents["header.json"] = json.dumps(header).encode()
    return rezip(infos, contents)


def make_case(
    fmt: str, i: int, seed: int, seed_files: list[bytes], bomb_files: list[bytes]
) -> tuple[str, bytes]:
    """Case i of a format: its kind and its bytes, the same for the same (format, i, seed)."""
    rng = random.Random(f"{seed}/{fmt}/{i}")
    if i < len(bomb_files):
        return "bomb", bomb_files[i]
    data = rng.choice(seed_files)
    kinds = ["mutation", "inner", "crafted"] + (["lie"] if fmt in ("model", "checkpoint", "npz") else [])
    kind = rng.choice(kinds)
    make = {"mutation": lambda: mutate(data, rng), "inner": lambda: inner(fmt, data, rng),
            "crafted": lambda: crafted(fmt, data, rng), "lie": lambda: lie(data, rng)}[kind]  # fmt: skip
    return kind, make()[:MAX_CASE_BYTES]


# -- running one case ---------------------------------------------------------------------------


def loader(fmt: str):
    """The public function that reads a file of this format, and a second reader if any."""
    from nablanet.datasets import load_csv, load_npz, read_idx
    from nablanet.datasets.nielsen import load_pickled_mnist
    from nablanet.io.model import load_model
    from nablanet.training.checkpoint import read_checkpoint

    return {"model": load_model, "checkpoint": read_checkpoint, "idx": read_idx, "idx.gz": read_idx,
            "csv": load_csv, "npz": load_npz, "mnist.pkl.gz": load_pickled_mnist}[fmt]  # fmt: skip


def info(path: Path) -> str:
    """What ``nablanet info`` does with the file: "printed", or the type of what it raised."""
    from nablanet.cli import main as cli

    try:  # --debug: the CLI lets the exception through, so its type can be seen
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli(["--debug", "info", str(path)])
    except Exception as e:  # the type is the result
        return type(e).__name__
    return "printed" if code == 0 else f"exit {code}"


def run_case(fmt: str, path: Path, with_info: bool = True) -> dict:
    """Read one file: the outcome (accepted, or the exception's type), seconds, peak memory."""
    read = loader(fmt)
    meter = _Meter()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        read(path)
        outcome, message = "accepted", ""
    except (Exception, MemoryError) as e:  # noqa: BLE001 — the type is what is recorded
        outcome, message = type(e).__name__, str(e)[:300]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    result = {"outcome": outcome, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": meter.peak_mb()}
    result["message"] = message
    if with_info and fmt in ("model", "checkpoint"):
        result["info"] = info(path)
    return result


class _Meter:
    """The rise in peak RSS since construction: /proc's high-water mark, reset first."""

    def __init__(self):
        self.proc = _reset_hwm()
        if not self.proc:
            import tracemalloc

            tracemalloc.start()
        self.base = _rss_kb("VmRSS") if self.proc else 0

    def peak_mb(self) -> float:
        if self.proc:
            return max(0, _rss_kb("VmHWM") - self.base) / 1024
        import tracemalloc

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak / 2**20


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# -- the worker and the parent ------------------------------------------------------------------


def worker(fmt: str, start: int, stop: int, seed: int, cache: Path) -> None:
    """Run cases start … stop − 1, printing one JSON line per case (flushed)."""
    warnings_off()
    seed_files = json_bytes(cache / "seeds.json")[fmt]
    bomb_files = [p.read_bytes() for p in sorted((cache / "bombs").glob(f"{fmt}.*"))]
    work = Path(tempfile.mkdtemp(prefix="fuzz-", dir=cache))
    for i in range(start, stop):
        try:
            kind, data = make_case(fmt, i, seed, seed_files, bomb_files)
        except Exception as e:  # the harness's own failure, reported as such, not as a timeout
            print(json.dumps({"i": i, "kind": "?", "bytes": 0, "outcome": f"harness:{type(e).__name__}",
                              "seconds": 0.0, "peak_mb": 0.0, "message": str(e)[:300]}),
                  flush=True)  # fmt: skip
            continue
        path = work / f"case{SUFFIX[fmt]}"
        path.write_bytes(data)
        result = run_case(fmt, path)
        print(json.dumps({"i": i, "kind": kind, "bytes": len(data), **result}), flush=True)


def warnings_off() -> None:
    warnings.simplefilter("ignore")  # a checkpoint falling back to .prev warns; counted as its outcome


def json_bytes(path: Path) -> dict[str, list[bytes]]:
    return {k: [bytes.fromhex(h) for h in v] for k, v in json.loads(path.read_text()).items()}


def prepare(cache: Path, formats) -> None:
    """Seeds and bombs, made once and shared with the workers through files."""
    with tempfile.TemporaryDirectory() as tmp:
        files = seeds(Path(tmp))
    (cache / "seeds.json").write_text(json.dumps({k: [b.hex() for b in v] for k, v in files.items()}))
    (cache / "bombs").mkdir(exist_ok=True)
    for fmt in formats:
        for j, data in enumerate(bombs(fmt, files[fmt])):
            assert len(data) <= MAX_CASE_BYTES, (fmt, j, len(data))
            (cache / "bombs" / f"{fmt}.{j}").write_bytes(data)


def special_files(fmt: str, work: Path) -> list[dict]:
    """A symlink to /dev/zero, a FIFO and a folder under the format's name, each in a child
    process with a deadline, since a reader that blocks on a FIFO never returns."""
    results = []
    for kind in ("dev-zero", "fifo", "folder"):
        path = work / f"{kind}{SUFFIX[fmt] or '.idx'}"
        if kind == "dev-zero":
            path.symlink_to("/dev/zero")
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path.mkdir()
        code = (
            "import json, pathlib; from benchmarks.fuzz import run_case; "
            f"print(json.dumps(run_case({fmt!r}, pathlib.Path({str(path)!r}))))"
        )
        # The child times the read itself; the deadline only catches a read that never returns,
        # so it is generous enough for an interpreter starting on a busy machine.
        try:
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            result = {
                "outcome": "Timeout",
                "seconds": 60.0,
                "cpu_seconds": 0.0,
                "peak_mb": 0.0,
                "message": "blocked",
            }
        results.append({"i": -1, "kind": "special", "bytes": 0, **result})
    return results


def run_format(fmt: str, cases: int, seed: int, cache: Path, timeout: float, keep: Path | None) -> list[dict]:
    """All cases of one format in worker processes; a silent worker is killed and replaced."""
    results, i = special_files(fmt, Path(tempfile.mkdtemp(dir=cache))), 0
    while i < cases:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fuzz", "--worker", fmt, *map(str, (i, cases, seed, cache))],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        i = _collect(proc, i, cases, timeout, results)
        if i < cases and (not results or results[-1]["i"] != i):  # the worker died or hung on case i
            results.append({"i": i, "kind": "?", "bytes": 0, "outcome": "Timeout", "seconds": timeout,
                            "cpu_seconds": 0.0, "peak_mb": 0.0, "message": "no answer"})  # fmt: skip
            i += 1
    if keep:
        _keep_failures(fmt, results, seed, cache, keep)
    return results


def _collect(proc, i: int, cases: int, timeout: float, results: list[dict]) -> int:
    """Read the worker's lines until it finishes or is silent for ``timeout``; the next case."""
    while i < cases:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        if not line:
            break
        results.append(json.loads(line))
        i = results[-1]["i"] + 1
    proc.kill()
    proc.wait()
    return i


def _keep_failures(fmt, results, seed, cache, keep: Path) -> None:
    seed_files = json_bytes(cache / "seeds.json")[fmt]
    bomb_files = [p.read_bytes() for p in sorted((cache / "bombs").glob(f"{fmt}.*"))]
    keep.mkdir(parents=True, exist_ok=True)
    for r in results:
        if (
            r["i"] >= 0
            and r["outcome"] not in ("accepted", EXPECTED[fmt])
            or r.get("info", "printed") not in ("printed", EXPECTED[fmt])
        ):
            (keep / f"{fmt.replace('.', '_')}-{r['i']}{SUFFIX[fmt]}").write_bytes(
                make_case(fmt, r["i"], seed, seed_files, bomb_files)[1]
            )


def summarize(fmt: str, results: list[dict]) -> dict:
    worst_t = max(results, key=lambda r: r["seconds"])
    worst_c = max(results, key=lambda r: r.get("cpu_seconds", 0.0))
    worst_m = max(results, key=lambda r: r["peak_mb"])
    bad = [r for r in results if r["outcome"] not in ("accepted", EXPECTED[fmt])]
    bad_info = [r for r in results if r.get("info", "printed") not in ("printed", EXPECTED[fmt])]
    return {
        "format": fmt,
        "cases": len(results),
        "outcomes": dict(Counter(r["outcome"] for r in results).most_common()),
        "kinds": dict(Counter(r["kind"] for r in results).most_common()),
        "info": dict(Counter(r["info"] for r in results if "info" in r).most_common()),
        "worst_seconds": round(worst_t["seconds"], 4),
        "worst_seconds_case": [worst_t["i"], worst_t["kind"], worst_t["outcome"]],
        "worst_cpu_seconds": round(worst_c.get("cpu_seconds", 0.0), 4),
        "worst_cpu_case": [worst_c["i"], worst_c["kind"], worst_c["outcome"]],
        "worst_peak_mb": round(worst_m["peak_mb"], 1),
        "worst_peak_case": [worst_m["i"], worst_m["kind"], worst_m["outcome"]],
        "largest_file": max(r["bytes"] for r in results),
        "undocumented": [(r["i"], r["outcome"], r["message"][:120]) for r in bad[:10]],
        "info_undocumented": [(r["i"], r["info"]) for r in bad_info[:10]],
    }


def table(summaries: list[dict]) -> str:
    lines = [
        "| format | cases | outcomes | worst CPU time | worst wall time | worst memory |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for s in summaries:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in s["outcomes"].items())
        lines.append(
            f"| {s['format']} | {s['cases']:,} | {outcomes} | {s['worst_cpu_seconds'] * 1000:.0f} ms | "
            f"{s['worst_seconds'] * 1000:.0f} ms | {s['worst_peak_mb']:.1f} MB |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10_000, help="cases per format (default 10,000)")
    p.add_argument("--formats", default=",".join(FORMATS), help="comma-separated, from " + ", ".join(FORMATS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds a worker may be silent")
    p.add_argument("--json", metavar="PATH", help="write the summaries here")
    p.add_argument("--keep", metavar="DIR", help="save each case with an undocumented outcome here")
    p.add_argument(
        "--worker", nargs=5, metavar=("FORMAT", "START", "STOP", "SEED", "CACHE"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args.worker:
        fmt, start, stop, seed, cache = args.worker
        worker(fmt, int(start), int(stop), int(seed), Path(cache))
        return 0
    formats = [f for f in args.formats.split(",") if f]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        p.error(f"unknown formats {sorted(unknown)}")
    summaries, failed = [], False
    with tempfile.TemporaryDirectory(prefix="nablanet-fuzz-") as tmp:
        cache = Path(tmp)
        prepare(cache, formats)
        for fmt in formats:
            start = time.perf_counter()
            results = run_format(
                fmt, args.cases, args.seed, cache, args.timeout, Path(args.keep) if args.keep else None
            )
            s = summarize(fmt, results)
            s["wall_seconds"] = round(time.perf_counter() - start, 1)
            summaries.append(s)
            failed |= bool(s["undocumented"] or s["info_undocumented"])
            print(json.dumps(s), file=sys.stderr, flush=True)
    print(table(summaries))
    if args.json:
        Path(args.json).write_text(json.dumps(summaries, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
