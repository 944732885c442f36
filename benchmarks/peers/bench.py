"""The peer benchmark: nablanet against scikit-learn, PyTorch and the GEMM bound.

``python -m benchmarks.run`` (from the repository root) trains the same network,
with the same settings on the same data, for one epoch after a warm-up, with:

- ``nablanet``: ``fit(net, X, y, epochs=1, optimizer=SGD(η))``, its input checks included;
- ``reference``: nablanet's per-example path (``backprop_reference``, the seeds'
  algorithm: one backprop per example, then the update);
- ``sklearn``: ``MLPClassifier(solver="sgd", momentum=0, alpha=0)``, ``partial_fit``;
- ``torch``: an equivalent ``nn.Sequential`` with ``optim.SGD``, on the CPU;
- ``numpy``: the same SGD as bare NumPy calls (``benchmarks.peers.floor.FlatLoop``):
  what NumPy reaches without nablanet's structure, so that the report shows for
  each target whether NumPy itself reached it in the same run, and what
  nablanet's structure costs.

It also times the **GEMM bound**: the matrix products alone that one training
step needs (3 per layer but the first, which needs no δ^0), with the same
shapes, dtype and operand layouts, into preallocated outputs. For C it times
forward alone against forward + backward, and the peak RSS of training on
60,000 examples.

Every measurement runs in a child process of its own (``python -m
benchmarks.peers.bench --worker SPEC``, started in the repository root): one
library's thread pool cannot slow another's, and a peak RSS is that run's alone.
Repetitions are interleaved (repetition 1 of every job, then repetition 2, ...)
so that a slow spell of a shared machine hits every peer alike; the tables show
medians, and each target's ratio per repetition.

The harness is not part of the installed package: it uses nablanet's public
modules only, and runs whichever nablanet is first on the path (``PYTHONPATH=
<tree>/src`` times another checkout with this harness).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import nablanet
from nablanet import SGD, Network, backprop_reference, fit
from nablanet.backprop import backward
from nablanet.buffers import Workspace
from nablanet.datasets import read_idx
from nablanet.io.atomic import atomic_write
from nablanet.network import forward

from .floor import time_flat_loop

__all__ = ["Config", "CONFIGS", "scaling_configs", "add_arguments", "run_benchmarks", "main"]

ROOT = Path(__file__).resolve().parents[2]  # the repository root: benchmarks/peers/bench.py
PEERS = ("nablanet", "reference", "sklearn", "torch", "numpy")
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)
MB = 1_000_000


@dataclass(frozen=True)
class Config:
    """One network and its training settings, as every peer will run it."""

    name: str
    sizes: tuple[int, ...]
    activation: str  # hidden layers
    output: str
    cost: str
    batch: int
    eta: float
    init: str

    @property
    def n_params(self) -> int:
        return sum(n_in * n_out + n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def step_flops(self) -> int:
        """Multiply-adds ×2 of one step's products: forward, BP4 for every layer, BP2 but the first."""
        n, m = self.sizes, self.batch
        fwd = sum(a * b for a, b in zip(n[:-1], n[1:]))
        bp2 = sum(a * b for a, b in zip(n[1:-1], n[2:]))
        return 2 * m * (2 * fwd + bp2)


CONFIGS = {
    "A": Config("A", (784, 30, 10), "sigmoid", "sigmoid", "quadratic", 10, 3.0, "standard"),
    "B": Config("B", (784, 100, 10), "relu", "softmax", "cross_entropy", 128, 0.1, "he"),
    "C": Config("C", (784, 1024, 1024, 10), "relu", "softmax", "cross_entropy", 256, 0.05, "he"),
}
WIDTHS = (256, 512, 1024, 2048)
BATCHES = (32, 128, 512)


def scaling_configs(widths=WIDTHS, batches=BATCHES) -> list[Config]:
    """C's shape at every width × batch size."""
    return [
        Config(f"C-w{w}-b{m}", (784, w, w, 10), "relu", "softmax", "cross_entropy", m, 0.05, "he")
        for w in widths
        for m in batches
    ]


# -- data -----------------------------------------------------------------------------------


def load_data(n: int, source: str = "auto", data_dir: str | None = None, seed: int = 0):
    """(X float32 (n, 784) in [0, 1], y int64 (n,), description); Fashion-MNIST when present."""
    if source not in ("auto", "fashion-mnist", "random"):
        raise ValueError(f"--data must be auto, fashion-mnist or random, got {source!r}")
    if source != "random":
        found = _find_fashion(data_dir)
        if found is not None:
            images, labels = (read_idx(p)[:n] for p in found)
            X = np.empty((len(images), 784), np.float32)
            # Scale into the float32 array directly: no float64 or second float32 copy.
            np.multiply(images.reshape(len(images), -1), np.float32(1 / 255), out=X)
            return X, labels.astype(np.int64), f"Fashion-MNIST ({found[0].parent})"
        if source == "fashion-mnist":
            raise FileNotFoundError(
                "Fashion-MNIST not found in --data-dir, $NABLANET_DATA or /usr/share/datasets/fashion-mnist"
            )
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784), dtype=np.float32)
    return X, rng.integers(0, 10, n), "random uniform [0, 1) inputs, random labels"


def _data_description(source: str, data_dir: str | None) -> str:
    found = None if source == "random" else _find_fashion(data_dir)
    if found is None:
        return "random uniform [0, 1) inputs, random labels (Fashion-MNIST not found)"
    return f"Fashion-MNIST training set ({found[0].parent}), pixels scaled to [0, 1]"


def _find_fashion(data_dir: str | None) -> tuple[Path, Path] | None:
    dirs = [d for d in (data_dir, os.environ.get("NABLANET_DATA")) if d]
    for d in [*dirs, *(str(Path(d) / "fashion-mnist") for d in dirs), *FASHION_DIRS]:
        pair = []
        for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
            hit = next((p for p in (Path(d) / f"{stem}.gz", Path(d) / stem) if p.is_file()), None)
            pair.append(hit)
        if all(pair):
            return pair[0], pair[1]
    return None


# -- measurements, each run inside a worker process ------------------------------------------


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _warm(cfg: Config, n: int) -> int:
    return min(n, 20 * cfg.batch)


def _time_nablanet(cfg, X, y, seed):
    net = Network(cfg.sizes, cfg.activation, cfg.output, cfg.cost, cfg.init, seed=seed)
    w = _warm(cfg, len(X))
    # Plain SGD, as every peer runs (fit's default preset adds momentum).
    fit(net, X[:w], y[:w], epochs=1, batch_size=cfg.batch, optimizer=SGD(cfg.eta), seed=seed)
    start = time.perf_counter()
    history = fit(net, X, y, epochs=1, batch_size=cfg.batch, optimizer=SGD(cfg.eta), seed=seed + 1)
    return time.perf_counter() - start, history.cost[-1]


def _time_reference(cfg, X, y, seed):
    net = Network(cfg.sizes, cfg.activation, cfg.output, cfg.cost, cfg.init, seed=seed)
    optimizer, rng = SGD(cfg.eta), np.random.default_rng(seed)

    def epoch(X, y):  # the seeds' SGD: shuffle, split, one backprop per example, update
        X, Y = net.check_inputs(X), net.check_targets(y, len(X))
        order = rng.permutation(len(X))
        for k in range(0, len(X), cfg.batch):
            idx = order[k : k + cfg.batch]
            nabla_b, nabla_w = backprop_reference(net, X[idx].T, Y[idx].T)
            optimizer.step(net.params, [*nabla_w, *nabla_b])  # net.params: [W^1..W^L, b^1..b^L]

    w = _warm(cfg, len(X))
    epoch(X[: min(w, 2 * cfg.batch)], y[: min(w, 2 * cfg.batch)])
    start = time.perf_counter()
    epoch(X, y)
    seconds = time.perf_counter() - start
    return seconds, net.evaluate(X, y).cost


def _time_sklearn(cfg, X, y, seed):
    from sklearn.neural_network import MLPClassifier

    activation = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh"}[cfg.activation]
    clf = MLPClassifier(
        hidden_layer_sizes=cfg.sizes[1:-1],
        activation=activation,
        solver="sgd",
        alpha=0.0,
        batch_size=cfg.batch,
        learning_rate="constant",
        learning_rate_init=cfg.eta,
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=True,
        random_state=seed,
        max_iter=1,
    )
    w = _warm(cfg, len(X))
    clf.partial_fit(X[:w], y[:w], classes=np.arange(cfg.sizes[-1]))
    start = time.perf_counter()
    clf.partial_fit(X, y)  # one pass over the data: shuffle, mini-batch SGD steps
    return time.perf_counter() - start, float(clf.loss_)


def _time_torch(cfg, X, y, seed, threads):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    layers: list = []
    L = len(cfg.sizes) - 1
    for l, (n_in, n_out) in enumerate(zip(cfg.sizes[:-1], cfg.sizes[1:]), start=1):
        layers.append(nn.Linear(n_in, n_out))
        if l < L:
            layers.append({"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}[cfg.activation]())
    if cfg.output == "sigmoid":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.eta)  # no momentum, no weight decay
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    if cfg.cost == "quadratic":  # C = (1/m) Σ_x ½‖a − y‖², as nablanet's
        Yt = nn.functional.one_hot(yt, cfg.sizes[-1]).to(Xt.dtype)

        def loss_fn(out, i):
            return 0.5 * (out - Yt[i]).pow(2).sum(dim=1).mean()
    else:  # softmax + cross-entropy on the logits
        ce = nn.CrossEntropyLoss()

        def loss_fn(out, i):
            return ce(out, yt[i])

    generator = torch.Generator().manual_seed(seed)

    def epoch(n):
        perm, total = torch.randperm(n, generator=generator), 0.0
        for k in range(0, n, cfg.batch):
            i = perm[k : k + cfg.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[i]), i)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(i)  # the batch cost, as nablanet and sklearn record it
        return total / n

    epoch(_warm(cfg, len(X)))
    start = time.perf_counter()
    cost = epoch(len(X))
    return time.perf_counter() - start, cost


def gemm_step_seconds(cfg: Config, rounds: int = 7, seed: int = 0) -> float:
    """Median time of the matrix products one training step needs, alone.

    Same shapes, dtype and layouts as nablanet's core: columns are examples, the
    input batch is the transposed view of gathered rows, outputs preallocated.
    """
    rng = np.random.default_rng(seed)
    n, m, f = cfg.sizes, cfg.batch, np.float32
    L = len(n) - 1
    W = [None, *(rng.standard_normal((n[l], n[l - 1]), dtype=f) for l in range(1, L + 1))]
    a = [rng.random((m, n[0]), dtype=f).T, *(rng.random((n[l], m), dtype=f) for l in range(1, L + 1))]
    delta = [None, *(rng.standard_normal((n[l], m), dtype=f) for l in range(1, L + 1))]
    products = []
    for l in range(1, L + 1):
        products.append((W[l], a[l - 1], np.empty((n[l], m), f)))  # z^l = W^l a^{l−1}
        products.append((delta[l], a[l - 1].T, np.empty_like(W[l])))  # BP4
        if l > 1:
            products.append((W[l].T, delta[l], np.empty((n[l - 1], m), f)))  # BP2
    matmul = np.matmul

    def step():
        for A, B, out in products:
            matmul(A, B, out=out)

    steps = max(3, int(2e9 // max(cfg.step_flops, 1)))  # about 20 ms of work per round
    step()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def forward_backward_seconds(cfg: Config, X, y, seed: int, rounds: int = 7) -> tuple[float, float]:
    """Median time of nablanet's forward pass alone, and of forward + backward, per batch."""
    net = Network(cfg.sizes, cfg.activation, cfg.output, cfg.cost, cfg.init, seed=seed)
    m = cfg.batch
    X, Y = net.check_inputs(X[: 8 * m]), net.check_targets(y[: 8 * m], min(len(X), 8 * m))
    batches = [(X[k : k + m].T, Y[k : k + m].T) for k in range(0, len(X) - m + 1, m)]
    ws = Workspace(net.sizes, m, net.dtype)

    def fwd():
        for x, _ in batches:
            forward(net, x, ws)

    def fwd_bwd():
        for x, yb in batches:
            z, a = forward(net, x, ws)
            backward(net, z, a, yb, None, ws)

    fwd(), fwd_bwd()
    t_f, t_fb = [], []
    for _ in range(rounds):  # interleaved, so a slow spell hits both
        for fn, out in ((fwd, t_f), (fwd_bwd, t_fb)):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) / len(batches))
    return statistics.median(t_f), statistics.median(t_fb)


def _blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads", "threading_layer", "prefix")
    return [{k: i.get(k) for k in keep} for i in threadpool_info()]


def _worker(spec: dict) -> dict:
    """Run one measurement in this process; return what it measured."""
    threads, kind, peer = spec["threads"], spec["kind"], spec.get("peer")
    # Load every BLAS the peer may use before limiting the threads: a library loaded
    # later keeps its own default (all cores). SciPy's OpenBLAS, a second copy beside
    # NumPy's, is scikit-learn's alone (nablanet's update is NumPy since 0.2.0), and
    # loading it in the other peers' workers only adds a second thread pool to them.
    if peer == "sklearn":
        import scipy.linalg.blas  # noqa: F401
        import sklearn.neural_network  # noqa: F401
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads)
    except ImportError:
        limiter = None
    cfg = Config(**{**spec["config"], "sizes": tuple(spec["config"]["sizes"])})
    result: dict = {"blas": _blas_info()}
    if kind == "gemm":
        result["step_seconds"] = gemm_step_seconds(cfg, seed=spec["seed"])
        return result
    X, y, _ = load_data(spec["examples"], spec["data"], spec.get("data_dir"), seed=spec["seed"])
    if kind == "fwdbwd":
        result["forward_s"], result["forward_backward_s"] = forward_backward_seconds(cfg, X, y, spec["seed"])
        return result
    result["rss_reset"] = _reset_peak_rss()
    if peer == "nablanet":
        seconds, cost = _time_nablanet(cfg, X, y, spec["seed"])
    elif peer == "reference":
        seconds, cost = _time_reference(cfg, X, y, spec["seed"])
    elif peer == "sklearn":
        seconds, cost = _time_sklearn(cfg, X, y, spec["seed"])
    elif peer == "numpy":
        seconds, cost = time_flat_loop(cfg, X, y, spec["seed"])
    elif peer == "torch":
        import torch

        seconds, cost = _time_torch(cfg, X, y, spec["seed"], threads)
        result["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads()}
    else:
        raise ValueError(f"unknown peer {peer!r}")
    result.update(
        seconds=seconds,
        examples=len(X),
        cost=cost,
        peak_rss=_peak_rss(),
        dataset_bytes=int(X.nbytes + y.nbytes),
    )
    if limiter is not None:
        result["blas"] = _blas_info()  # as it ran, under the limit
    return result


def _spawn(spec: dict, timeout: float) -> dict:
    # The child imports this harness from the repository root and the same nablanet
    # as this process (the first on the path: an installed one, or PYTHONPATH's).
    env = dict(os.environ)
    src = str(Path(nablanet.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "benchmarks.peers.bench", "--worker", json.dumps(spec)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the orchestration ----------------------------------------------------------------------


@dataclass
class Job:
    label: str  # e.g. "A/torch", "C/gemm", "C-w256-b32/nablanet"
    spec: dict


def _peer_available(peer: str) -> str | None:
    """None if the peer can run, else why not."""
    import importlib.util

    module = {"sklearn": "sklearn", "torch": "torch"}.get(peer)
    if module and importlib.util.find_spec(module) is None:
        hint = "pip install torch==2.13.0" if peer == "torch" else "pip install scikit-learn"
        return f"{module} is not installed ({hint}); skipped"
    return None


def plan(args) -> tuple[list[Job], dict[str, str]]:
    """The jobs of one repetition, and the peers skipped with the reason."""
    skipped = {p: why for p in args.peers if (why := _peer_available(p))}
    peers = [p for p in args.peers if p not in skipped]
    base = {"threads": args.threads, "data": args.data, "data_dir": args.data_dir}
    jobs = []

    def job(cfg, kind, peer=None, examples=None):
        spec = {**base, "kind": kind, "config": asdict(cfg), "peer": peer, "examples": examples or 0}
        jobs.append(Job(f"{cfg.name}/{peer or kind}", spec))

    for name in args.configs:
        cfg = CONFIGS[name]
        for peer in peers:
            n = min(args.examples, args.reference_examples[name]) if peer == "reference" else args.examples
            job(cfg, "train", peer, n)
        job(cfg, "gemm")
        if name == "C":
            job(cfg, "fwdbwd", examples=8 * cfg.batch)
            if args.memory and (args.examples < 60_000 or "nablanet" not in peers):
                job(cfg, "train", "nablanet", 60_000)  # the epoch above already is one otherwise
                jobs[-1].label = "C/memory"
    if args.scaling:
        for cfg in scaling_configs(args.widths, args.batches):
            for peer in [p for p in args.scaling_peers if p not in skipped]:
                job(cfg, "train", peer, args.scaling_examples)
            job(cfg, "gemm")
    return jobs, skipped


def run_benchmarks(args, log=print) -> dict:
    """Run every job ``args.repeats`` times, interleaved; return the raw results and the summary."""
    jobs, skipped = plan(args)
    raw: dict[str, list[dict]] = {j.label: [] for j in jobs}
    loads = [os.getloadavg()[0]]
    started = time.time()
    for rep in range(args.repeats):
        for i, j in enumerate(jobs):
            spec = {**j.spec, "seed": args.seed + rep}
            result = _spawn(spec, args.timeout)
            raw[j.label].append(result)
            shown = result.get("error") or _short(result)
            log(f"[rep {rep + 1}/{args.repeats}, {i + 1}/{len(jobs)}] {j.label}: {shown}")
        loads.append(os.getloadavg()[0])
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "machine": _machine(),
        "settings": {
            "repeats": args.repeats,
            "examples": args.examples,
            "threads": args.threads,
            "data": _data_description(args.data, args.data_dir),
            "dtype": "float32",
            "configs": {n: asdict(CONFIGS[n]) for n in args.configs},
        },
        "load_average_1min": loads,
        "skipped": skipped,
        "raw": raw,
    }
    report["summary"] = summarize(report, jobs)
    return report


def _short(r: dict) -> str:
    if "step_seconds" in r:
        return f"{r['step_seconds'] * 1e3:.3f} ms/step"
    if "forward_s" in r:
        return f"forward {r['forward_s'] * 1e3:.2f} ms, +backward {r['forward_backward_s'] * 1e3:.2f} ms"
    return f"{r['examples'] / r['seconds']:,.0f} examples/s, peak RSS {r['peak_rss'] / MB:.0f} MB"


_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def _machine() -> dict:
    import importlib.metadata as md

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for dist in ("nablanet", "numpy", "scikit-learn", "torch", "threadpoolctl"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "blas": _blas_info(),
        "env": {k: os.environ.get(k) for k in _ENV},
    }


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(report: dict, jobs: list[Job]) -> dict:
    raw = report["raw"]
    by_label = {j.label: j for j in jobs}

    def rates(label):  # examples/s in each repetition, None where it failed
        return [r["examples"] / r["seconds"] if "seconds" in r else None for r in raw.get(label, [])]

    def gemm_rates(name, m):
        return [m / r["step_seconds"] if r.get("step_seconds") else None for r in raw.get(f"{name}/gemm", [])]

    def rate(label):  # the median
        return _median(rates(label))

    rows, reps = {}, {}
    for name in report["settings"]["configs"]:
        cfg = CONFIGS[name]
        row = {p: rate(f"{name}/{p}") for p in PEERS}
        reps[name] = {p: rates(f"{name}/{p}") for p in PEERS}
        reps[name]["gemm_bound"] = gemm_rates(name, cfg.batch)
        row["gemm_bound"] = _median(reps[name]["gemm_bound"])
        rows[name] = row
    if "C/fwdbwd" in raw:
        f = _median([r.get("forward_s") for r in raw["C/fwdbwd"]])
        fb = _median([r.get("forward_backward_s") for r in raw["C/fwdbwd"]])
        rows.setdefault("C", {})["fwdbwd"] = {"forward_s": f, "forward_backward_s": fb, "ratio": fb / f}
        reps.setdefault("C", {})["fwdbwd"] = [
            r["forward_backward_s"] / r["forward_s"] if r.get("forward_s") else None for r in raw["C/fwdbwd"]
        ]
    memory_label = "C/memory" if "C/memory" in raw else "C/nablanet"
    if memory_label in raw:
        runs = [r for r in raw[memory_label] if "peak_rss" in r and r["examples"] >= 60_000]
        if runs:
            n_params = CONFIGS["C"].n_params
            budget = runs[0]["dataset_bytes"] + 10 * 4 * n_params + 200 * MB
            rows.setdefault("C", {})["memory"] = {
                "peak_rss": max(r["peak_rss"] for r in runs),
                "dataset_bytes": runs[0]["dataset_bytes"],
                "param_bytes": 4 * n_params,
                "budget": budget,
            }
    scaling = []
    for label, j in by_label.items():
        cfg = j.spec["config"]
        if not cfg["name"].startswith("C-w") or not label.endswith("/gemm"):
            continue
        c = Config(**{**cfg, "sizes": tuple(cfg["sizes"])})
        entry = {"width": c.sizes[1], "batch": c.batch, "gflop_per_example": c.step_flops / c.batch / 1e9}
        entry["gemm_bound"] = _median(gemm_rates(c.name, c.batch))
        for p in PEERS:
            entry[p] = rate(f"{c.name}/{p}")
        scaling.append(entry)
    return {"configs": rows, "targets": _targets(rows, reps), "scaling": scaling}


TARGETS = [  # (config, what, kind, goal): ratios are nablanet's examples/s over the peer's
    ("A", "torch", "ratio", 8.0),
    ("A", "sklearn", "ratio", 4.0),
    ("A", "reference", "ratio", 12.0),
    ("B", "torch", "ratio", 1.6),
    ("B", "sklearn", "ratio", 2.5),
    ("C", "torch", "ratio", 1.05),
    ("C", "gemm_bound", "fraction", 0.90),
    ("C", "fwdbwd", "at_most", 2.8),
    ("C", "memory", "memory", None),
]


def _targets(rows: dict, reps: dict | None = None) -> list[dict]:
    out = []
    for name, what, kind, goal in TARGETS:
        row, rep = rows.get(name), (reps or {}).get(name, {})
        if not row:
            continue
        value, per_rep = None, []
        if kind in ("ratio", "fraction") and row.get("nablanet") and row.get(what):
            value = row["nablanet"] / row[what]
            # Each repetition's own ratio: the two were measured minutes apart at most.
            per_rep = [a / b if a and b else None for a, b in zip(rep.get("nablanet", []), rep.get(what, []))]
        elif kind == "at_most" and row.get("fwdbwd"):
            value, per_rep = row["fwdbwd"]["ratio"], rep.get("fwdbwd", [])
        elif kind == "memory" and row.get("memory"):
            value, goal = row["memory"]["peak_rss"], row["memory"]["budget"]
        if value is None:
            continue
        met = value <= goal if kind in ("at_most", "memory") else value >= goal
        # The same ratio for the plain NumPy loop: where it misses the goal too, the
        # goal lies beyond what NumPy reached in this run.
        floor = row["numpy"] / row[what] if kind in ("ratio", "fraction") and row.get("numpy") else None
        target = {"config": name, "what": what, "kind": kind, "value": value, "goal": goal, "met": met}
        out.append({**target, "numpy": floor, "per_repetition": per_rep})
    return out


# -- output -----------------------------------------------------------------------------------

_NAMES = {
    "nablanet": "nablanet",
    "reference": "per-example ref.",
    "sklearn": "scikit-learn",
    "torch": "PyTorch",
    "numpy": "plain NumPy loop",
}


def _fmt(v, spec=",.0f"):
    return "–" if v is None else format(v, spec)


def markdown(report: dict) -> str:
    s, m = report["summary"], report["machine"]
    blas = "; ".join(
        f"{b.get('internal_api')} {b.get('version')} "
        f"({b.get('architecture')} kernel, {b.get('num_threads')} threads)"
        for b in m["blas"]
        if b.get("user_api") == "blas"
    )
    settings = report["settings"]
    v = m["versions"]
    lines = [
        f"# nablanet benchmark, {report['when']}",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores; {m['platform']}; Python {m['python']}",
        f"- Versions: nablanet {v['nablanet']}, NumPy {v['numpy']}, scikit-learn {v['scikit-learn']}, "
        f"PyTorch {v['torch'] or 'absent'}",
        f"- BLAS (threadpoolctl): {blas}; benchmark threads: {settings['threads']}",
        f"- Data: {settings['data']}; {settings['examples']:,} examples per epoch, float32",
        f"- Medians of {settings['repeats']} interleaved repetitions, each in its own process; "
        f"1-min load average during the run: {', '.join(f'{x:.2f}' for x in report['load_average_1min'])}",
    ]
    if settings["repeats"] < 3:
        lines.append("- Fewer than the 3 repetitions the targets are stated for: a quick look only")
    env = {k: x for k, x in m["env"].items() if x}
    if env:
        lines.append(f"- Environment: {env} (OPENBLAS_CORETYPE/L2_SIZE force a slower kernel on this NumPy)")
    for peer, why in report["skipped"].items():
        lines.append(f"- {_NAMES[peer]}: {why}")
    lines += [
        "",
        "## Throughput (examples/s, one epoch after a warm-up)",
        "",
        "| config | nablanet | per-example ref. | scikit-learn | PyTorch | plain NumPy loop | GEMM bound "
        "| ×PyTorch | ×scikit-learn | ×ref. | % of NumPy loop | % of GEMM bound |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in s["configs"].items():
        nb = row.get("nablanet")

        def ratio(peer, row=row, nb=nb):
            return f"{nb / row[peer]:.2f}×" if nb and row.get(peer) else "–"

        def share(peer, row=row, nb=nb):
            return f"{100 * nb / row[peer]:.0f} %" if nb and row.get(peer) else "–"

        cells = [_fmt(row.get(p)) for p in (*PEERS, "gemm_bound")]
        cells += [ratio(p) for p in ("torch", "sklearn", "reference")]
        cells += [share("numpy"), share("gemm_bound")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        "## Targets",
        "",
        "| config | target | measured | goal | met | plain NumPy loop | nablanet, per repetition |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for t in s["targets"]:
        if t["kind"] == "ratio":
            what, val, goal = f"nablanet / {_NAMES[t['what']]}", f"{t['value']:.2f}×", f"≥ {t['goal']}×"
        elif t["kind"] == "fraction":
            what, val = "share of the GEMM bound", f"{100 * t['value']:.1f} %"
            goal = f"≥ {100 * t['goal']:.0f} %"
        elif t["kind"] == "at_most":
            what, val, goal = "(forward + backward) / forward", f"{t['value']:.2f}", f"≤ {t['goal']}"
        else:
            what, val = "peak RSS, 60,000 examples", f"{t['value'] / MB:.0f} MB"
            goal = f"≤ {t['goal'] / MB:.0f} MB"
        floor = t.get("numpy")
        if floor is not None:
            floor = f"{100 * floor:.1f} %" if t["kind"] == "fraction" else f"{floor:.2f}×"
        met = "yes" if t["met"] else "**no**"
        scale, spec = (100, ".0f") if t["kind"] == "fraction" else (1, ".2f")
        each = ", ".join("–" if v is None else format(scale * v, spec) for v in t.get("per_repetition", []))
        lines.append(f"| {t['config']} | {what} | {val} | {goal} | {met} | {floor or '–'} | {each or '–'} |")
    if s["scaling"]:
        lines += [
            "",
            "## Scaling: C's shape [784, w, w, 10] (µs per example)",
            "",
            "| width | batch | GFLOP/example | nablanet | GEMM bound | % of bound "
            "| nablanet GFLOP/s | PyTorch |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for e in s["scaling"]:
            nb, gb, pt = e.get("nablanet"), e.get("gemm_bound"), e.get("torch")
            us = [None if r is None else 1e6 / r for r in (nb, gb, pt)]
            frac = f"{100 * nb / gb:.0f} %" if nb and gb else "–"
            gflops = _fmt(None if nb is None else e["gflop_per_example"] * nb, ".0f")
            lines.append(
                f"| {e['width']} | {e['batch']} | {e['gflop_per_example']:.4f} | {_fmt(us[0], '.1f')} "
                f"| {_fmt(us[1], '.1f')} | {frac} | {gflops} | {_fmt(us[2], '.1f')} |"
            )
    notes = [
        "nablanet is timed through `fit(..., epochs=1, optimizer=SGD(η))`, its input checks included; "
        "scikit-learn through "
        "`partial_fit` (one epoch); PyTorch through a loop of `randperm`, index, `zero_grad`, forward, loss, "
        "`backward`, `step`, `loss.item()` on tensors made once from the same arrays.",
        "A: scikit-learn's `MLPClassifier` always ends in softmax + log-loss; the others use a sigmoid "
        "output and the quadratic cost. Same sizes, hidden activation, batch and learning rate.",
        "The GEMM bound is the time of the products one step needs (z^l = W^l a^{l−1}, BP4 for every layer, "
        "BP2 for all but the first) alone, same shapes, dtype and layouts, outputs preallocated.",
        "The plain NumPy loop (`benchmarks/peers/floor.py`) is the same SGD as bare NumPy calls into arrays "
        "made once, without nablanet's objects and input checks: what NumPy reaches on its own. Its column "
        "under Targets is the same ratio for it; where it misses a goal too, the goal was beyond NumPy in "
        "this run.",
    ]
    lines += ["", "## Notes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)


# -- command line -----------------------------------------------------------------------------


def _csv(kind, choices=None):
    def parse(text: str):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError("expected a comma-separated list")
        try:
            items = [kind(t) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of {kind.__name__}: {text!r}") from None
        bad = [t for t in items if choices is not None and t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {', '.join(map(str, choices))}")
        if kind is int and min(items) < 1:
            raise argparse.ArgumentTypeError(f"values must be ≥ 1, got {text!r}")
        return items

    return parse


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (``python -m benchmarks.run --help``)."""
    parser.add_argument(
        "--configs",
        type=_csv(str, [*CONFIGS, "scaling"]),
        default=["A", "B", "C", "scaling"],
        help="comma-separated: A, B, C, scaling (default: all)",
    )
    parser.add_argument(
        "--peers", type=_csv(str, PEERS), default=list(PEERS), help="comma-separated (default: all five)"
    )
    parser.add_argument("--repeats", type=_positive, default=3, help="interleaved repetitions (default 3)")
    parser.add_argument("--examples", type=_positive, default=60_000, help="examples per epoch (60000)")
    parser.add_argument(
        "--reference-examples",
        type=_positive,
        default=None,
        help="cap for the slow per-example path (default: 12000 for A and B, 1024 for C)",
    )
    parser.add_argument("--threads", type=_positive, default=os.cpu_count() or 1, help="BLAS/torch threads")
    parser.add_argument("--widths", type=_csv(int), default=list(WIDTHS), help="scaling widths")
    parser.add_argument("--batches", type=_csv(int), default=list(BATCHES), help="scaling batch sizes")
    parser.add_argument(
        "--scaling-examples", type=_positive, default=10_240, help="examples per scaling epoch (10240)"
    )
    parser.add_argument(
        "--scaling-peers", type=_csv(str, PEERS), default=["nablanet"], help="peers in the scaling runs"
    )
    parser.add_argument("--data", default="auto", choices=["auto", "fashion-mnist", "random"])
    parser.add_argument("--data-dir", default=None, help="where the Fashion-MNIST IDX files are")
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip C's 60,000-example RSS run"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per measurement")
    parser.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results"), help="directory for the JSON and markdown"
    )
    parser.add_argument("--quick", action="store_true", help="A and B only, 6000 examples, no scaling")


def finish_arguments(args) -> None:
    """Fill in defaults that depend on other options (once: calling it again changes nothing)."""
    if getattr(args, "finished", False):
        return
    args.finished = True
    if args.quick:
        args.configs = [c for c in args.configs if c in ("A", "B")] or ["A", "B"]
        args.examples = min(args.examples, 6000)
    args.scaling = "scaling" in args.configs
    args.configs = [c for c in args.configs if c != "scaling"]
    cap = args.reference_examples
    args.reference_examples = {"A": cap or 12_000, "B": cap or 12_000, "C": cap or 1024}
    biggest = max([CONFIGS[c].batch for c in args.configs] + [0])
    if args.examples < biggest:
        raise ValueError(f"--examples {args.examples} is smaller than a batch ({biggest})")
    if args.data == "fashion-mnist" and _find_fashion(args.data_dir) is None:
        raise FileNotFoundError("Fashion-MNIST not found (see --data-dir)")


def run_and_write(args, log=print) -> tuple[dict, Path]:
    finish_arguments(args)
    report = run_benchmarks(args, log=lambda s: log(s))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out = Path(args.out)
    write_atomic(out / f"bench-{stamp}.json", json.dumps(report, indent=1, default=float) + "\n")
    md_path = out / f"bench-{stamp}.md"
    write_atomic(md_path, markdown(report))
    return report, md_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 if any measured target is missed")
    args = parser.parse_args(argv)
    report, md_path = run_and_write(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(markdown(report))
    print(f"written: {md_path} and {md_path.with_suffix('.json')}", file=sys.stderr)
    missed = [t for t in report["summary"]["targets"] if not t["met"]]
    return 1 if args.check and missed else 0


def _worker_main(argv) -> int:
    if len(argv) != 2 or argv[0] != "--worker":
        return main(argv)
    print(json.dumps(_worker(json.loads(argv[1])), default=float))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
