"""The playground's server side: data, message checks, sessions, the guard, the live view.

A real uvicorn server runs on 127.0.0.1 and a free port in a background thread; the
sockets are real WebSockets (the ``websockets`` client). The browser tests are in
test_web_browser.py.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

if os.environ.get("CI"):  # CI installs nablanet[test], which has them: their absence fails
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
else:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    pytest.importorskip("websockets")
from websockets.sync import client as ws_client  # noqa: E402

import nablanet as nn  # noqa: E402
from nablanet.io.model import load  # noqa: E402
from nablanet.teaching.trace import explain, trace  # noqa: E402
from nablanet.web import data  # noqa: E402
from nablanet.web.live import LiveCallback, attach_live  # noqa: E402
from nablanet.web.protocol import DEFAULT_CONFIG, ProtocolError, merge_config, parse_message  # noqa: E402
from nablanet.web.server import ServerThread  # noqa: E402
from nablanet.web.session import Session, decode_frame  # noqa: E402

DEEP = {"hidden": [8] * 6, "activations": ["tanh"] * 6, "features": list(data.FEATURES)}


# -- data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [d for d in data.DATASETS if d != "csv"])
def test_datasets_are_balanced_points_in_the_square(name):
    P, labels = data.make(name, 301, 0.2, np.random.default_rng(1))
    assert P.shape == (301, 2) and labels.shape == (301,)
    assert np.abs(P).max() <= data.EXTENT
    assert set(np.unique(labels)) == {0, 1} and abs(int(labels.sum()) - 150) <= 1
    again, _ = data.make(name, 301, 0.2, np.random.default_rng(1))
    assert np.array_equal(P, again)  # the seed decides everything


def test_xor_labels_follow_the_quadrants_without_noise():
    P, labels = data.make("xor", 200, 0.0, np.random.default_rng(0))
    assert np.array_equal(labels, (P[:, 0] * P[:, 1] > 0).astype(int))


def test_features_are_scaled_and_in_order():
    P = np.array([[6.0, -3.0], [0.0, 1.5]])
    X = data.features(P, ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin1", "sin2"])
    assert X.shape == (2, 7)
    assert np.allclose(X[0], [1.0, -0.5, 1.0, 0.25, -0.5, np.sin(6.0), np.sin(-3.0)])
    with pytest.raises(ValueError, match="unknown feature"):
        data.features(P, ["x3"])


def test_grid_runs_row_by_row_from_the_top_left():
    G = data.grid(4)
    assert G.shape == (16, 2)
    assert G[0, 0] < 0 < G[0, 1]  # top left: x₁ smallest, x₂ largest
    assert G[3, 0] > 0 and G[3, 1] == G[0, 1] and G[4, 1] < G[0, 1]


def test_csv_upload_is_parsed_strictly():
    P, labels = data.parse_csv("x1,x2,label\n1,2,0\n-1,-2,1\n3,0,-1\n0,1,1\n")
    assert P.shape == (4, 2) and labels.tolist() == [0, 1, 0, 1]
    assert np.isclose(np.abs(P).max(), 5.5)  # one common scale: the shape is kept
    for text, message in [
        ("1,2\n3,4\n", "3 columns"),
        ("1,2,0\n1,x,1\n1,2,0\n1,2,1\n", "line 2"),
        ("1,2,0\n1,2,5\n1,2,0\n1,2,1\n", "label must be 0 or 1"),
        ("1,2,0\n1,nan,1\n1,2,0\n1,2,1\n", "finite"),
        ("1,2,0\n1,2,0\n3,4,0\n5,6,0\n", "one class"),
        ("1,2,0\n", "at least 4"),
        ("1,2,0\n" * (data.CSV_MAX_ROWS + 1), "more than"),
        ("0" * (data.CSV_MAX_BYTES + 1), "larger than"),
    ]:
        with pytest.raises(ValueError, match=message):
            data.parse_csv(text)


# -- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"eta": True}, "eta must be a number"),
        ({"eta": 0}, r"eta must lie in"),
        ({"eta": float("nan")}, "eta must be a number"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"hidden": [4] * 9, "activations": ["tanh"] * 9}, "at most 8"),
        ({"hidden": [11], "activations": ["tanh"]}, r"hidden\[0\] must lie in"),
        ({"hidden": [4]}, "activations names 2 layers"),
        ({"activations": ["softmax", "tanh"]}, r"activations\[0\] must be one of"),
        ({"features": []}, "non-empty"),
        ({"features": ["x1", "x1"]}, "must not repeat"),
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"cost": "binary_cross_entropy", "output": "tanh"}, "needs the sigmoid output"),
        ({"colour": "red"}, "unknown config field"),
        ([1, 2], "config must be an object"),
    ],
)
def test_config_fields_are_checked(changes, message):
    with pytest.raises(ProtocolError, match=message):
        merge_config(DEFAULT_CONFIG, changes)


def test_features_come_back_in_canonical_order():
    assert merge_config(DEFAULT_CONFIG, {"features": ["sin2", "x1"]})["features"] == ["x1", "sin2"]


@pytest.mark.parametrize(
    "text, message",
    [
        (b"\x00", "not binary"),
        ("{", "not JSON"),
        ("[]", "an object"),
        ('{"type": "fly"}', "unknown message type"),
        ('{"type": "play", "x": 1}', "unexpected field"),
        ('{"type": "ack"}', "needs 'seq'"),
        ('{"type": "ack", "seq": -1}', "seq must lie in"),
        ('{"type": "select", "set": "all", "index": 0}', "set must be one of"),
        ('{"type": "upload", "csv": 5}', "csv must be text"),
        (json.dumps({"type": "play", "pad": "x" * 20000}), "too large"),
        ("[" * 100000 + "]" * 100000, "not JSON"),
        ("[" * 600000, "too large"),
    ],
)
def test_malformed_messages_are_refused(text, message):
    with pytest.raises(ProtocolError, match=message):
        parse_message(text)


# -- a session --------------------------------------------------------------------------------


def frames(s: Session, n: int, train: bool = True):
    for _ in range(n):
        out = s.frame(train)
    return decode_frame(out, s.net.sizes, s.config["grid"])


def test_a_session_learns_xor_with_nablanet():
    s = Session()
    header, params, maps = frames(s, 1, train=False)
    start = header["test_cost"]
    for _ in range(400):
        header, params, maps = frames(s, 1)
        if header["test_cost"] < 0.02:
            break
    assert header["test_cost"] < 0.02 < start
    assert header["test_accuracy"] > 0.9
    assert header["epoch"] == s.epoch > 0
    # The frame carries the network's own weights, W^1 … W^L then b^1 … b^L.
    expected = np.concatenate([*(W.ravel() for W in s.net.W), *s.net.b]).astype(np.float32)
    assert np.array_equal(params, expected)
    assert maps.shape == (sum(s.net.sizes), 64 * 64)
    # The output heatmap is a^L over the grid, from nablanet's own feedforward.
    aL = s.net.feedforward(data.features(data.grid(64), s.config["features"]))[:, 0]
    assert np.abs(maps[-1].astype(float) - np.clip(aL, 0, 1) * 255).max() <= 1.01


def test_the_frame_trace_is_nablanets_trace():
    s = Session(DEEP)
    frames(s, 5)
    s.select("test", 7)
    header, _, _ = frames(s, 1, train=False)
    x = data.features(s.P_test[7:8], s.config["features"])[0]
    expected = trace(s.net, x, float(s.l_test[7])).steps
    got = header["trace"]["steps"]
    assert [g["symbol"] for g in got] == [e.symbol for e in expected]
    assert {g["equation"] for g in got} == {"(25)", "(23)", "BP1", "BP2", "BP3", "BP4"}
    for g, e in zip(got, expected):
        assert np.array_equal(np.asarray(g["value"]), e.value), g["symbol"]
    assert header["trace"]["label"] == int(s.l_test[7])
    assert s.explain()["text"] == explain(trace(s.net, x, float(s.l_test[7])))
    with pytest.raises(ProtocolError, match="out of range"):
        s.select("test", len(s.P_test))
    s.select(None, None)
    with pytest.raises(ProtocolError, match="choose a data point"):
        s.explain()


def test_gradient_norms_in_the_frame_are_backprops():
    s = Session(DEEP)
    header, _, _ = frames(s, 3)
    nabla_b, _ = nn.backprop(s.net, s.x_train, s.y_train)
    assert header["grad_b_norms"] == [float(np.linalg.norm(nb)) for nb in nabla_b]
    assert len(header["grad_b_norms"]) == 7


def test_l2_and_l1_steps():
    base = {"regularization": "l2", "lmbda": 0.5, "batch_size": 200}
    s = Session(base)
    twin = Session({**base, "regularization": "none"})
    W_before = [W.copy() for W in s.net.W]
    s.step()
    twin.step()
    # L2 is train_step's own term: the difference is −η (λ/n) W, exactly weight decay.
    eta, n = s.config["eta"], s.n_train
    for W, Wt, W0 in zip(s.net.W, twin.net.W, W_before):
        assert np.allclose(W - Wt, -eta * 0.5 / n * W0, atol=1e-12)
    s1 = Session({**base, "regularization": "l1"})
    W_before = [W.copy() for W in s1.net.W]
    s1.step()
    for W, Wt, W0 in zip(s1.net.W, twin.net.W, W_before):
        assert np.allclose(W - Wt, -eta * 0.5 / n * np.sign(W0), atol=1e-12)


def test_configure_rebuilds_only_what_it_must():
    s = Session()
    frames(s, 3)
    assert s.configure({"eta": 0.1}) == "live" and s.epoch > 0 and s.optimizer.eta == 0.1
    assert s.configure({"hidden": [3], "activations": ["relu"]}) == "network"
    assert s.epoch == 0 and s.net.sizes == [2, 3, 1] and s.net.activations[1].name == "relu"
    assert s.configure({"dataset": "spiral", "points": 200}) == "data" and len(s.P_train) == 100
    before = s.config
    with pytest.raises(ProtocolError):
        s.configure({"batch_size": 400})  # more than the 100 training points
    assert s.config == before


def test_gradcheck_passes_on_the_current_weights():
    s = Session({"hidden": [5, 3], "activations": ["sigmoid", "relu"]})
    frames(s, 3)
    r = s.gradcheck()
    assert r["passed"] and len(r["rows"]) == 6 and {row["param"] for row in r["rows"]} == {"W", "b"}


@pytest.mark.filterwarnings("ignore::nablanet.training.health.TrainingWarning")  # SGD's noise at η = 0.3
def test_download_is_a_model_file_and_python_that_trains(tmp_path, monkeypatch):
    s = Session({"regularization": "l1", "lmbda": 0.01})
    frames(s, 5)
    d = s.download()
    path = tmp_path / d["filename"]
    path.write_bytes(base64.b64decode(d["model"]))
    net = load(path)
    assert net.sizes == s.net.sizes
    for W, W0 in zip(net.W, s.net.W):
        assert np.array_equal(W, W0)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(d["python"], "playground.py", "exec"), scope)
    assert scope["net"].sizes == s.net.sizes and "l1=0.01," in d["python"]
    scope = {}
    exec(compile(Session().python(), "playground.py", "exec"), scope)
    h = scope["history"]  # XOR, rebuilt and trained by nablanet.fit
    assert len(h) == 100 and h.val_cost[-1] < h.val_cost[0] / 2 and h.val_accuracy[-1] > 0.8


# -- the server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with ServerThread() as srv:
        yield srv


def get(url, headers=None, data=None, method=None):
    req = urllib.request.Request(url, headers=headers or {}, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def ws_url(server, token=None):
    return f"ws://127.0.0.1:{server.port}/ws?token={server.token if token is None else token}"


def connect(server, token=None, origin="self", **kw):
    origin = f"http://127.0.0.1:{server.port}" if origin == "self" else origin
    return ws_client.connect(ws_url(server, token), origin=origin, max_size=None, open_timeout=5, **kw)


def test_the_page_needs_the_token_and_this_host(server):
    status, body = get(server.url)
    assert status == 200 and f"app.js?token={server.token}" in body.decode()
    assert get(f"{server.base}/")[0] == 403
    assert get(f"{server.base}/?token=wrong")[0] == 403
    assert get(f"{server.base}/static/app.js")[0] == 403
    assert get(f"{server.base}/static/app.js?token={server.token}")[0] == 200
    assert get(server.url, {"Host": "evil.example:80"})[0] == 403  # DNS rebinding
    assert get(server.url, {"Origin": "http://evil.example"})[0] == 403
    assert get(server.url, {"Host": f"localhost:{server.port}"})[0] == 200
    assert get(f"{server.base}/", {"Authorization": f"token {server.token}"})[0] == 200
    assert get(f"{server.base}/static/../server.py?token={server.token}")[0] == 404


def test_the_socket_needs_the_token_and_this_origin(server):
    from websockets.exceptions import InvalidStatus

    for kwargs in ({"token": "wrong"}, {"token": ""}, {"origin": "http://evil.example"}, {"origin": "null"}):
        with pytest.raises(InvalidStatus) as e:
            connect(server, **kwargs)
        assert e.value.response.status_code == 403
    with connect(server) as ws:
        assert json.loads(ws.recv(5))["type"] == "hello"


def recv_until(ws, predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        m = ws.recv(max(0.01, end - time.monotonic()))
        if isinstance(m, bytes):
            n = struct.unpack_from("<I", m)[0]
            header = json.loads(m[4 : 4 + n])
            ws.send(json.dumps({"type": "ack", "seq": header["seq"]}))
            m = header
        else:
            m = json.loads(m)
        if predicate(m):
            return m


def test_a_thousand_malformed_messages_then_still_serving(server):
    bad = [
        "nonsense",
        "{}",
        '{"type": "step", "extra": 1}',
        '{"type": "config", "config": {"eta": -1}}',
        '{"type": "config", "config": {"hidden": "many"}}',
        '{"type": "select", "set": "train", "index": 99999}',
        '{"type": "ack", "seq": "x"}',
        '{"type": "upload", "csv": "a,b"}',
    ]
    with connect(server) as ws:
        recv_until(ws, lambda m: m.get("type") == "frame")  # the first frame
        for i in range(1000):
            ws.send(bad[i % len(bad)])
        ws.send(b"\x00\x01binary")
        errors = 0
        while errors < 1001:
            m = recv_until(ws, lambda m: True)
            errors += m.get("type") == "error"
        ws.send('{"type": "step"}')
        frame = recv_until(ws, lambda m: m.get("type") == "frame" and m["steps"] == 1)
        assert frame["steps"] == 1  # the session is intact and still trains
        assert len(server.state.sessions) >= 1
    with connect(server) as other:  # and the server still takes new sessions
        assert recv_until(other, lambda m: m.get("type") == "frame")["steps"] == 0


def test_a_bug_while_building_a_frame_pauses_the_session_only(server, monkeypatch):
    original, calls = Session.frame, []

    def flaky(self, train):
        calls.append(train)
        if len(calls) == 2:
            raise RuntimeError("injected")
        return original(self, train)

    monkeypatch.setattr(Session, "frame", flaky)
    with connect(server) as ws:
        recv_until(ws, lambda m: m.get("type") == "frame")
        ws.send('{"type": "play"}')
        assert "injected" in recv_until(ws, lambda m: m.get("type") == "error")["message"]
        ws.send('{"type": "step"}')
        assert recv_until(ws, lambda m: m.get("type") == "frame")["playing"] is False


def test_an_oversized_message_closes_that_socket_only(server):
    from websockets.exceptions import ConnectionClosed

    with connect(server) as ws:
        recv_until(ws, lambda m: m.get("type") == "frame")
        with pytest.raises(ConnectionClosed) as e:
            # The server may close (1009, message too big) while the 1.8 MB are still
            # going out; the client then sees the close in send, or none at all.
            ws.send(json.dumps({"type": "upload", "csv": "1,2,0\n" * 300_000}))
            recv_until(ws, lambda m: False)
        assert e.value.rcvd is None or e.value.rcvd.code == 1009
    with connect(server) as ws:
        assert json.loads(ws.recv(5))["type"] == "hello"


def test_an_upload_too_large_for_the_parser_gets_an_error(server):
    with connect(server) as ws:
        recv_until(ws, lambda m: m.get("type") == "frame")
        ws.send(json.dumps({"type": "upload", "csv": "1,2,0\n" * 100_000}))  # 600 KB
        assert "too large" in recv_until(ws, lambda m: m.get("type") == "error")["message"]
        csv_text = "".join(
            f"{x},{y},{int(x * y > 0)}\n" for x, y in np.random.default_rng(0).uniform(-1, 1, (80, 2))
        )
        ws.send(json.dumps({"type": "upload", "csv": csv_text}))
        m = recv_until(ws, lambda m: m.get("type") == "network")
        assert m["config"]["dataset"] == "csv" and len(m["train"]) + len(m["test"]) == 80


def wait_for(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_sessions_are_independent_and_freed_on_disconnect(server):
    assert wait_for(lambda: len(server.state.sessions) == 0)
    with connect(server) as a, connect(server) as b:
        sessions_are_independent(server, a, b)


def sessions_are_independent(server, a, b):
    recv_until(a, lambda m: m.get("type") == "frame")
    recv_until(b, lambda m: m.get("type") == "frame")
    a.send(json.dumps({"type": "config", "config": {"hidden": [3], "activations": ["relu"]}}))
    assert recv_until(a, lambda m: m.get("type") == "network")["sizes"] == [2, 3, 1]
    sizes = {tuple(c.session.net.sizes) for c in server.state.sessions.values()}
    assert sizes == {(2, 3, 1), (2, 4, 2, 1)}
    a.send('{"type": "play"}')
    recv_until(a, lambda m: m.get("type") == "frame" and m["epoch"] >= 2)
    a.close()  # mid-stream
    assert wait_for(lambda: len(server.state.sessions) == 1)
    b.send('{"type": "step"}')
    assert recv_until(b, lambda m: m.get("type") == "frame" and m["steps"] == 1)["epoch"] == 0
    b.close()
    assert wait_for(lambda: len(server.state.sessions) == 0)


def run_sessions(server, n: int, seconds: float) -> list[dict]:
    results: list[dict] = [{} for _ in range(n)]

    def one(i):
        try:
            with connect(server) as ws:
                recv_until(ws, lambda m: m.get("type") == "frame")
                ws.send(
                    json.dumps(
                        {
                            "type": "config",
                            "config": {"data_seed": i, "hidden": [6, 6], "activations": ["tanh", "relu"]},
                        }
                    )
                )
                ws.send('{"type": "play"}')
                end, frames_seen, last = time.monotonic() + seconds, 0, None
                while time.monotonic() < end:
                    m = recv_until(ws, lambda m: m.get("type") in ("frame", "error"), timeout=10)
                    assert m["type"] == "frame", m
                    frames_seen, last = frames_seen + 1, m
                results[i] = {"frames": frames_seen, "epoch": last["epoch"], "sizes_ok": True}
        except Exception as e:  # reported below, with the session's number
            results[i] = {"error": repr(e)}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    assert not any(t.is_alive() for t in threads)
    return results


def test_ten_concurrent_sessions(server):
    results = run_sessions(server, 10, 4.0)
    assert all("error" not in r for r in results), results
    assert all(r["frames"] >= 5 and r["epoch"] >= 1 for r in results), results
    assert wait_for(lambda: len(server.state.sessions) == 0)


@pytest.mark.slow
def test_ten_concurrent_sessions_for_thirty_seconds(server):  # python -m pytest -m slow
    results = run_sessions(server, 10, 30.0)
    assert all("error" not in r for r in results), results
    assert all(r["frames"] >= 30 for r in results), results
    assert wait_for(lambda: len(server.state.sessions) == 0)


# -- the live view --------------------------------------------------------------------------------


def post(server, body, token=None, content_type="application/json", headers=None):
    data_ = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": content_type, "Authorization": f"token {server.token if token is None else token}"}
    return get(f"{server.base}/api/live", {**h, **(headers or {})}, data_, "POST")


def test_live_events_are_checked(server):
    ok = {"run": "r1", "event": "epoch", "epoch": 1, "cost": 0.5, "accuracy": None}
    assert post(server, ok)[0] == 200
    assert post(server, ok, token="wrong")[0] == 403
    assert post(server, ok, headers={"Origin": "http://evil.example"})[0] == 403
    assert post(server, ok, content_type="text/plain")[0] == 415
    assert post(server, b"x" * 300_000)[0] == 413
    for bad in (
        {"run": "../x", "event": "epoch", "epoch": 1},
        {"run": "r1", "event": "epoch", "epoch": -1},
        {"run": "r1", "event": "epoch", "epoch": 1, "cost": "high"},
        {"run": "r1", "event": "shout"},
        {"events": [ok] * 201},
        [1, 2],
    ):
        status, body = post(server, bad)
        assert status == 400, bad
        assert "error" in json.loads(body)
    assert len(server.state.store.runs["r1"]["epochs"]) == 1  # the refused ones stored nothing


def test_live_callback_follows_a_real_run(server):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = nn.Network([4, 8, 2], activation="relu", cost="cross_entropy", seed=0)
    cb = LiveCallback(server.url, name="a real run", every_batches=10)
    history = nn.fit(
        net,
        X,
        y,
        epochs=4,
        batch_size=10,
        eta=0.1,
        validation_data=(X[:50], y[:50]),
        monitor=True,
        callbacks=[cb],
    )
    assert cb.failed is None
    run = server.state.store.runs[cb.run_id]
    assert run["status"] == "finished" and run["name"] == "a real run"
    assert [e["epoch"] for e in run["epochs"]] == [1, 2, 3, 4]
    assert [e["cost"] for e in run["epochs"]] == pytest.approx(history.cost)
    assert [e["val_accuracy"] for e in run["epochs"]] == pytest.approx(history.val_accuracy)
    assert len(run["health"]) == 5 and len(run["health"][-1]["layers"]) == 2  # epoch 0 to 4
    assert len(run["batches"]) == 4 * 3
    assert run["info"]["sizes"] == [4, 8, 2]


def test_a_failed_run_is_reported_as_failed(server):
    class Breaks(nn.Callback):
        def on_epoch_end(self, run):
            raise RuntimeError("the power went out")

    cb = LiveCallback(server.url, name="fails")
    net = nn.Network([2, 3, 1], output="sigmoid", seed=0)
    with pytest.raises(RuntimeError):  # train ends every callback in a finally, with run.error
        nn.fit(net, np.zeros((20, 2)), np.zeros(20), epochs=3, callbacks=[cb, Breaks()], health=False)
    run = server.state.store.runs[cb.run_id]
    assert run["status"] == "failed" and run["end"]["error"] == "the power went out"
    assert len(run["epochs"]) == 1


def test_live_callback_survives_a_missing_server():
    cb = LiveCallback("http://127.0.0.1:9/?token=x", timeout=0.5)
    net = nn.Network([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.warns(UserWarning, match="cannot report"):
        nn.fit(net, X, (X[:, 0] > 0).astype(int), epochs=2, callbacks=[cb])
    assert cb.failed
    with pytest.raises(ValueError, match="token"):
        LiveCallback("http://127.0.0.1:9/")


def test_attach_live_starts_a_server_when_given_no_url():
    cb, url = attach_live()
    assert "/live?token=" in url
    status, body = get(url)
    assert status == 200 and b"live runs" in body


def test_cli_serves_and_prints_the_url():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen(
        [sys.executable, "-m", "nablanet", "playground", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = p.stdout.readline()
        assert line.startswith("nablanet playground: http://127.0.0.1:"), line + p.stderr.read()
        url = line.split(": ", 1)[1].strip()
        assert get(url)[0] == 200
        assert get(url.split("?")[0])[0] == 403
    finally:
        p.terminate()
        p.wait(10)


def test_the_train_command_follows_itself_live(server, tmp_path, capsys):
    from nablanet.cli import main

    assert main(["train", "--epochs", "2", "--quiet", "--live", server.url, "--live-every", "20"]) == 0
    assert "live view at" in capsys.readouterr().err
    (run,) = [r for r in server.state.store.runs.values() if r["name"] == "digits"]
    assert run["status"] == "finished" and [e["epoch"] for e in run["epochs"]] == [1, 2]
