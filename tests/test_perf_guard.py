"""Guards against performance regressions that need no clock.

The batched path must do the same work in Python whatever the batch size: no
per-example loop may creep into ``train_step`` or the epoch loop. We count what a
mini-batch executes in Python, with the interpreter's own hooks: every line
(``sys.settrace``; a loop over examples runs its body's lines m times), every
Python call, and every call of a built-in C function or method
(``sys.setprofile``), and ask that the counts not depend on the batch size m.
The per-example reference path is counted the same way, to show that the check
can fail. Nothing here is timed.
"""

import argparse
import gc
import json
import sys
from collections import Counter

import numpy as np
import pytest
from benchmarks import before_after
from benchmarks.peers import bench
from benchmarks.peers.floor import FlatLoop

import nablanet as nn
from nablanet.backprop import backprop_reference
from nablanet.buffers import Workspace
from nablanet.train import Run, train, train_step

CASES = [
    ([6, 5, 3], "sigmoid", "quadratic"),
    ([6, 7, 5, 3], "relu", "cross_entropy"),
    ([6, 4, 3], "tanh", "binary_cross_entropy"),
]


EVENTS = ("line", "call", "c_call")


def count_calls(fn, *args, **kwargs) -> Counter:
    """Events while fn runs: Python lines and calls, and calls of built-in C functions."""
    counts: Counter = Counter()

    def trace(frame, event, arg):
        counts[event] += 1  # "call" on entering a Python function, then its "line"s
        return trace

    def profile(frame, event, arg):
        if event == "c_call":
            counts[event] += 1

    # A garbage collection during the count would run finalizers left over from
    # other tests, and they would be counted too.
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    sys.settrace(trace)
    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
        sys.settrace(None)
        if was_enabled:
            gc.enable()
    return Counter({k: counts[k] for k in EVENTS})


def batch(net, m, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((net.sizes[0], m), dtype=np.float32)
    y = np.eye(net.sizes[-1], dtype=np.float32)[:, rng.integers(0, net.sizes[-1], m)]
    return x, y


def step_calls(sizes, activation, cost, m):
    net = nn.Network(sizes, activation=activation, cost=cost, seed=0)
    ws, opt = Workspace(net.sizes, m, net.dtype), nn.SGD(0.1)
    x, y = batch(net, m)
    train_step(net, opt, x, y, 0.0, None, ws)  # first call: lazy set-up, if any
    return count_calls(train_step, net, opt, x, y, 0.0, None, ws)


@pytest.mark.parametrize("sizes,activation,cost", CASES)
def test_a_training_step_makes_the_same_calls_for_any_batch_size(sizes, activation, cost):
    counts = {m: step_calls(sizes, activation, cost, m) for m in (1, 8, 64)}
    assert counts[1] == counts[8] == counts[64], counts
    assert counts[8]["line"] > 20 and counts[8]["c_call"] > 0  # the hooks saw the step


def epoch_calls(m: int, n_batches: int) -> Counter:
    """Calls made by one epoch of ``train`` over n_batches full mini-batches of m."""
    net = nn.Network([6, 5, 3], activation="relu", cost="cross_entropy", seed=0)
    rng = np.random.default_rng(0)
    X = rng.random((m * n_batches, 6), dtype=np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, m * n_batches)]
    run = Run(net, nn.SGD(0.1), np.random.default_rng(0), epochs=1, batch_size=m)
    return count_calls(train, run, X, Y)


def test_the_epoch_loop_costs_the_same_per_batch_for_any_batch_size():
    # One more mini-batch in the epoch adds exactly one step's calls, whatever m:
    # gathering the batch and the bookkeeping around it do not loop over examples.
    three = {m: epoch_calls(m, 3) for m in (2, 16, 64)}
    per_batch = {m: epoch_calls(m, 4) - three[m] for m in three}
    assert per_batch[2] == per_batch[16] == per_batch[64], per_batch
    # What is left is the epoch's set-up (shuffle, buffers made once): also independent of m.
    setup = {m: {k: three[m][k] - 3 * per_batch[m][k] for k in EVENTS} for m in three}
    assert setup[2] == setup[16] == setup[64], setup


def test_the_count_catches_a_per_example_loop():
    net = nn.Network([6, 5, 3], activation="sigmoid", seed=0)
    small, large = (count_calls(backprop_reference, net, *batch(net, m)) for m in (2, 16))
    assert large["line"] > 4 * small["line"] and large["c_call"] > 4 * small["c_call"]


# -- the benchmark harness (benchmarks/peers/bench.py): its arithmetic, and one tiny real run --


def bench_args(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path), *argv])
    bench.finish_arguments(args)
    return args


def test_bench_summary_computes_ratios_and_checks_targets(tmp_path):

    args = bench_args(tmp_path, "--configs", "A,C", "--peers", "nablanet,torch,numpy", "--examples", "1000")
    jobs, skipped = bench.plan(args)
    labels = {j.label for j in jobs}
    assert {"A/nablanet", "A/gemm", "C/fwdbwd", "C/memory"} <= labels | {f"C/{p}" for p in skipped}
    run = {"examples": 1000, "peak_rss": 300 * bench.MB, "dataset_bytes": 188 * bench.MB}
    raw = {label: [] for label in labels}
    for seconds in (1.0, 2.0, 3.0):  # medians: nablanet 2 s, torch 10 s, one step of products 5 ms
        raw["A/nablanet"].append({**run, "seconds": seconds})
        raw["A/torch"] = raw.get("A/torch", []) + [{**run, "seconds": 5 * seconds}]
        raw["A/numpy"].append({**run, "seconds": seconds / 2})
        raw["A/gemm"].append({"step_seconds": seconds * 2.5e-3})
        raw["C/fwdbwd"].append({"forward_s": 1.0, "forward_backward_s": 2.5 + seconds / 10})
        raw["C/memory"].append({**run, "examples": 60_000, "seconds": seconds})
    report = {"settings": {"configs": {"A": {}, "C": {}}}, "raw": raw}
    summary = bench.summarize(report, jobs)
    a = summary["configs"]["A"]
    assert a["nablanet"] == 500 and a["torch"] == 100 and a["gemm_bound"] == 10 / 5e-3
    targets = {(t["config"], t["what"]): t for t in summary["targets"]}
    assert targets[("A", "torch")]["value"] == 5 and not targets[("A", "torch")]["met"]  # goal 8×
    assert targets[("A", "torch")]["numpy"] == 10  # the plain NumPy loop, 2× nablanet here
    assert targets[("A", "torch")]["per_repetition"] == pytest.approx([5, 5, 5])  # each repetition's own
    assert targets[("C", "fwdbwd")]["per_repetition"] == pytest.approx([2.6, 2.7, 2.8])
    assert targets[("C", "fwdbwd")]["numpy"] is None
    assert targets[("C", "fwdbwd")]["value"] == pytest.approx(2.7) and targets[("C", "fwdbwd")]["met"]
    memory = targets[("C", "memory")]
    budget = 188 * bench.MB + 10 * 4 * bench.CONFIGS["C"].n_params + 200 * bench.MB
    assert memory["goal"] == budget and memory["met"]


def test_bench_rejects_bad_options(tmp_path):
    with pytest.raises(SystemExit):
        bench_args(tmp_path, "--configs", "A,Z")
    with pytest.raises(SystemExit):
        bench_args(tmp_path, "--repeats", "0")
    with pytest.raises(ValueError, match="smaller than a batch"):
        bench_args(tmp_path, "--configs", "C", "--examples", "100")


def test_bench_runs_end_to_end_on_a_tiny_problem(tmp_path):
    args = bench_args(
        tmp_path, "--configs", "A", "--peers", "nablanet,reference,numpy", "--examples", "200",
        "--repeats", "1", "--data", "random",
    )  # fmt: skip
    report, md_path = bench.run_and_write(args, log=lambda s: None)
    saved = json.loads(md_path.with_suffix(".json").read_text())
    row = saved["summary"]["configs"]["A"]
    assert row["nablanet"] > 0 and row["reference"] > 0 and row["gemm_bound"] > 0, saved["raw"]
    assert row["numpy"] > 0 and saved["raw"]["A/numpy"][0]["cost"] > 0, saved["raw"]
    ref = next(t for t in saved["summary"]["targets"] if t["what"] == "reference")
    assert ref["numpy"] == pytest.approx(row["numpy"] / row["reference"])
    assert saved["machine"]["versions"]["numpy"] == np.__version__
    text = md_path.read_text()
    assert "| A |" in text and "nablanet / per-example ref." in text


def test_before_after_pools_the_repetitions_of_separate_runs(tmp_path):
    # Three one-repetition runs of one side make one report of three repetitions:
    # medians over all of them, and each repetition's own ratio in run order.
    paths = []
    for k, (nablanet_s, torch_s) in enumerate([(1.0, 4.0), (3.0, 6.0), (2.0, 20.0)]):
        run = {"examples": 1000, "peak_rss": 1, "dataset_bytes": 1}
        raw = {"A/nablanet": [{**run, "seconds": nablanet_s}], "A/torch": [{**run, "seconds": torch_s}]}
        report = {"wall_seconds": 1.0, "load_average_1min": [0.5, 1.0 + k], "raw": raw,
                  "settings": {"configs": {"A": {}}, "repeats": 1}}  # fmt: skip
        paths.append(tmp_path / f"run{k}.json")
        paths[-1].write_text(json.dumps(report))
    pooled = before_after.pool(paths)
    assert pooled["settings"]["repeats"] == 3
    assert pooled["load_average_1min"] == [0.5, 1.0, 0.5, 2.0, 0.5, 3.0]
    row = pooled["summary"]["configs"]["A"]
    assert row["nablanet"] == 500 and row["torch"] == 1000 / 6  # medians: 2 s and 6 s
    target = next(t for t in pooled["summary"]["targets"] if t["what"] == "torch")
    assert target["value"] == pytest.approx(3.0) and target["per_repetition"] == pytest.approx([4, 2, 10])
    table = before_after.compare(pooled, before_after.pool(paths[:1]))
    assert "| A | PyTorch | 3.00 | 4.00 | 1.333 | 4.00, 2.00, 10.00 | 4.00 |" in table


# -- the plain NumPy loop the benchmark measures nablanet against (benchmarks/peers/floor.py) --

FLOOR_NETS = [
    ([12, 7, 4], "sigmoid", "sigmoid", "quadratic"),  # A's kind
    ([12, 9, 4], "relu", "softmax", "cross_entropy"),  # B's kind
    ([12, 9, 8, 4], "relu", "softmax", "cross_entropy"),  # C's kind
    ([12, 6, 5, 4], "sigmoid", "softmax", "cross_entropy"),
    ([12, 4], "sigmoid", "sigmoid", "quadratic"),  # no hidden layer
]


@pytest.mark.parametrize("sizes, hidden, output, cost", FLOOR_NETS)
def test_flat_loop_step_moves_the_weights_as_train_step_does(sizes, hidden, output, cost):
    net = nn.Network(sizes, hidden, output, cost, init="he", dtype=np.float64, seed=0)
    rng = np.random.default_rng(1)
    x, y = rng.random((6, sizes[0])), np.eye(sizes[-1])[rng.integers(0, sizes[-1], 6)]
    loop = FlatLoop(net, eta=0.7)
    xb, yb = loop.buffers(6)[:2]
    xb[:], yb[:] = x, y.T  # rows of x, columns of y
    cost_flat = loop.step(xb, yb, 6)
    cost_nablanet = train_step(net, nn.SGD(0.7), x.T, y.T, 0.0)
    assert cost_flat == pytest.approx(cost_nablanet, rel=1e-12)
    np.testing.assert_allclose(loop.flat, net.flat, rtol=1e-12, atol=1e-15)
    assert not np.array_equal(loop.flat, nn.Network(sizes, hidden, output, cost, init="he",
                                                    dtype=np.float64, seed=0).flat)  # fmt: skip


def test_flat_loop_epoch_matches_fit_with_a_partial_last_batch():
    sizes = [10, 8, 3]
    net = nn.Network(sizes, "relu", "softmax", "cross_entropy", init="he", dtype=np.float64, seed=2)
    rng = np.random.default_rng(3)
    X, labels = rng.random((45, 10)), rng.integers(0, 3, 45)  # batches of 8: five, then one of 5
    loop = FlatLoop(net, eta=0.3)
    mean_cost = loop.epoch(X, np.eye(3)[:, labels], 8, np.random.default_rng(4))
    history = nn.fit(net, X, labels, epochs=1, batch_size=8, optimizer=nn.SGD(0.3), seed=4)
    assert mean_cost == pytest.approx(history.cost[0], rel=1e-12)
    np.testing.assert_allclose(loop.flat, net.flat, rtol=1e-12, atol=1e-15)


def test_flat_loop_refuses_what_it_does_not_implement():
    with pytest.raises(ValueError, match="sigmoid or relu hidden layers"):
        FlatLoop(nn.Network([4, 3, 2], "tanh", "sigmoid", "quadratic"), eta=1.0)
    with pytest.raises(ValueError, match="softmax \\+ cross_entropy"):
        FlatLoop(nn.Network([4, 3, 2], "relu", "softmax", "quadratic"), eta=1.0)
    with pytest.raises(ValueError, match="with its ½"):
        FlatLoop(nn.Network([4, 3, 2], "relu", "sigmoid", nn.costs.Quadratic(half=False)), eta=1.0)
    for eta in (0.0, -1.0, -2.0, float("nan")):
        with pytest.raises(ValueError, match="eta must be a positive number"):
            FlatLoop(nn.Network([4, 3, 2], "relu", "softmax", "cross_entropy"), eta=eta)


def test_flat_loop_takes_a_huge_but_finite_update_as_sgd_does():
    # ‖Δw‖² overflows float32 here while every Δw is finite: both must take the step.
    net = nn.Network([3, 2], "sigmoid", "sigmoid", "quadratic", seed=0)
    loop = FlatLoop(net, eta=1e25)
    x, y = loop.buffers(4)[:2]
    x[:] = np.random.default_rng(0).random((4, 3))
    y[:] = np.eye(2)[:, [0, 1, 0, 1]]
    loop.step(x, y, 4)
    train_step(net, nn.SGD(1e25), x.T, y, 0.0)
    assert np.isfinite(loop.flat).all()
    np.testing.assert_allclose(loop.flat, net.flat, rtol=1e-5)


def test_fit_hands_train_step_targets_in_the_layout_of_its_outputs(monkeypatch):
    # a^L is C-ordered (n_L, m); NumPy runs a − y on two arrays of one layout in its fast
    # loop and on a C array and a transposed view in its general one (3× slower on A).
    import nablanet.train as train_module

    seen = []
    real = train_module.train_step

    def spy(net, optimizer, x, y, *args, **kwargs):
        seen.append((y.shape, y.flags.c_contiguous))
        return real(net, optimizer, x, y, *args, **kwargs)

    monkeypatch.setattr(train_module, "train_step", spy)
    rng = np.random.default_rng(0)
    net = nn.Network([5, 4, 3], "relu", "softmax", "cross_entropy", seed=0)
    nn.fit(net, rng.random((23, 5)), rng.integers(0, 3, 23), epochs=1, batch_size=10, seed=0, health=False)
    assert seen == [((3, 10), True), ((3, 10), True), ((3, 3), True)]
