"""The epoch's batches, gathered ahead: the same batches as a plain gather, and no thread left behind."""

import threading
import time

import numpy as np
import pytest

import nablanet as nn
from nablanet import batches as B
from nablanet.train import Callback, DivergenceError


def data(n=103, n0=7, nL=3, seed=0, weighted=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n0)).astype(np.float32)
    Y = np.eye(nL, dtype=np.float32)[rng.integers(0, nL, n)]
    w = rng.random(n).astype(np.float32) if weighted else None
    return X, Y, w, rng.permutation(n)


def helper_threads():
    return [t for t in threading.enumerate() if t.name.startswith("nablanet-gather")]


# (chunk bytes, small-batch bytes): per batch; chunks in this thread; chunks by the helper.
MODES = {"per batch": (1 << 21, 0), "chunks": (1 << 30, 1 << 16), "helper": (1024, 1 << 16)}


@pytest.fixture(params=list(MODES))
def mode(request, monkeypatch):
    chunk, small = MODES[request.param]
    monkeypatch.setattr(B, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(B, "SMALL_BATCH_BYTES", small)
    return request.param


@pytest.mark.parametrize(
    "m,first", [(10, 0), (10, 4), (10, 10), (10, 11), (1, 0), (103, 0), (200, 0), (7, 3)]
)
@pytest.mark.parametrize("weighted", [False, True])
def test_batches_are_a_plain_gather_in_order(mode, m, first, weighted):
    X, Y, w, order = data(weighted=weighted)
    n = len(order)
    got = []
    for x, y, wb in B.batches(X, Y, w, order, m, first):
        if mode == "helper":
            time.sleep(0.001)  # the step's time: the helper fills the other chunk meanwhile, not this one
        got.append((x.copy(), y.copy(), None if wb is None else wb.copy()))
    starts = list(range(first * m, n, m))
    assert len(got) == len(starts)
    for (x, y, wb), s in zip(got, starts):
        idx = order[s : s + m]
        np.testing.assert_array_equal(x, X[idx])
        np.testing.assert_array_equal(y, Y[idx].T)
        assert y.flags.c_contiguous and x.flags.c_contiguous  # y has a^L's layout; x.T is a column view
        if weighted:
            np.testing.assert_array_equal(wb, w[idx])
        else:
            assert wb is None
    assert not helper_threads()


def test_the_helper_thread_is_used_on_a_large_set_and_stops_when_the_consumer_does(monkeypatch):
    monkeypatch.setattr(B, "CHUNK_BYTES", 256)  # 2 chunks' worth is far below the set's 2.9 KB
    X, Y, w, order = data()
    feed = B.batches(X, Y, w, order, 2)
    next(feed)
    assert len(helper_threads()) == 1
    feed.close()
    assert not helper_threads()


@pytest.mark.parametrize("mode_name", list(MODES))
def test_fit_is_bit_identical_however_the_batches_are_gathered(monkeypatch, mode_name):
    rng = np.random.default_rng(1)
    X, labels = rng.random((300, 12)), rng.integers(0, 4, 300)
    weight = rng.random(300)

    def trained():
        net = nn.Network([12, 9, 4], "relu", "softmax", "cross_entropy", seed=0, preset="nielsen")
        h = nn.fit(
            net, X, labels, epochs=3, batch_size=7, eta=0.2, seed=5, sample_weight=weight, preset="nielsen"
        )
        return net.flat.copy(), h.cost

    want_flat, want_cost = trained()  # the defaults: this set is gathered in chunks, in this thread
    chunk, small = MODES[mode_name]
    monkeypatch.setattr(B, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(B, "SMALL_BATCH_BYTES", small)
    flat, cost = trained()
    np.testing.assert_array_equal(flat, want_flat)
    assert cost == want_cost


class StopAfter(Callback):
    def __init__(self, k, exc=None):
        self.k, self.exc, self.seen = k, exc, 0

    def on_batch_end(self, run, cost):
        self.seen += 1
        if self.seen == self.k:
            if self.exc is not None:
                raise self.exc
            run.stop = True


@pytest.mark.parametrize("exc", [None, KeyboardInterrupt(), RuntimeError("a callback failed")])
def test_no_helper_thread_outlives_a_stop_or_an_exception(monkeypatch, exc):
    monkeypatch.setattr(B, "CHUNK_BYTES", 512)
    rng = np.random.default_rng(0)
    X, labels = rng.random((400, 8)), rng.integers(0, 3, 400)
    net = nn.Network([8, 5, 3], seed=0, preset="nielsen")
    stop = StopAfter(17, exc)
    if exc is None:
        nn.fit(net, X, labels, epochs=2, batch_size=4, callbacks=[stop], seed=0, preset="nielsen")
    else:
        with pytest.raises(type(exc)):
            nn.fit(net, X, labels, epochs=2, batch_size=4, callbacks=[stop], seed=0, preset="nielsen")
    assert stop.seen == 17
    assert not helper_threads()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_in_a_prefetched_epoch_stops_the_helper(monkeypatch):
    monkeypatch.setattr(B, "CHUNK_BYTES", 512)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 4)) * 1e3, rng.integers(0, 2, 400)
    net = nn.Network([4, 8, 2], "relu", "identity", seed=0, preset="nielsen")
    with pytest.raises(DivergenceError, match=r"epoch \d+, mini-batch \d+"):
        nn.fit(net, X, y, epochs=5, batch_size=4, eta=1e6, seed=0, preset="nielsen")
    assert not helper_threads()


def test_an_error_in_the_helper_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(B, "CHUNK_BYTES", 256)
    X, Y, w, order = data()
    fill, calls = B._Chunk.fill, []

    def failing(self, *args):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("no room for the third chunk")
        return fill(self, *args)

    monkeypatch.setattr(B._Chunk, "fill", failing)
    with pytest.raises(MemoryError, match="third chunk"):
        for _ in B.batches(X, Y, w, order, 2):
            pass
    assert not helper_threads()


def test_a_chunk_stays_within_its_budget_however_wide_the_targets(monkeypatch):
    # Chunks are sized by whole rows: inputs, targets (twice: as gathered and in
    # columns) and weights. Narrow inputs with wide targets once made a chunk of 2 GB.
    sizes = []
    init = B._Chunk.__init__

    def recording(self, k, m, X, Y, weight_dtype):
        init(self, k, m, X, Y, weight_dtype)
        arrays = [self.x, self.y_rows, self.y] + ([] if self.w is None else [self.w])
        sizes.append(sum(a.nbytes for a in arrays))

    monkeypatch.setattr(B._Chunk, "__init__", recording)
    monkeypatch.setattr(B, "CHUNK_BYTES", 1 << 14)
    rng = np.random.default_rng(0)
    for n0, nL in [(2, 1000), (784, 10), (1, 1)]:
        X = rng.random((3000, n0)).astype(np.float32)
        Y = rng.random((3000, nL)).astype(np.float32)
        w = rng.random(3000).astype(np.float32)
        sizes.clear()
        for _ in B.batches(X, Y, w, rng.permutation(3000), 2):
            pass
        # A batch bigger than the budget is a chunk of one batch; otherwise chunks fit it.
        assert max(sizes) <= max(B.CHUNK_BYTES, 2 * (n0 * 4 + 2 * nL * 4 + 4)), (n0, nL, sizes[:3])
