"""Follow a real training run in the browser: a Callback that streams it to the live view.

    from nablanet.web.live import attach_live
    callback, url = attach_live()               # starts a server in this process, prints nothing
    net.fit(X, y, callbacks=[callback], monitor=True)

or, to report to a playground server that is already running (``nablanet playground --live``
prints its address), ``attach_live("http://127.0.0.1:PORT/?token=...")``.

The callback never slows training down for the network: events go into a queue and
a daemon thread posts them (``POST /api/live``, JSON, the token in a header). If the
server cannot be reached, the run goes on, with one warning. Only the standard
library is needed to report to a running server; starting one needs ``nablanet[web]``.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import urllib.error
import urllib.request
import uuid
import warnings
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..train import Callback, Run
from .server import ServerThread

__all__ = ["LiveCallback", "attach_live"]

_HEALTH = (
    "grad_w_norm",
    "grad_b_norm",
    "update_ratio",
    "saturated",
    "dead",
    "activation",
    "vanishing",
    "exploding",
)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


class LiveCallback(Callback):
    """Report a run's epochs (and every ``every_batches`` mini-batches) to a live view.

    Parameters
    ----------
    url : str
        The server's address with its token: ``http://127.0.0.1:PORT/?token=...``
        (the playground's or the live view's URL).
    name : str, optional
        The run's title on the page (default: its sizes and a short id).
    every_batches : int, optional
        Also report the mini-batch cost every this many mini-batches.
    timeout : float
        Seconds for each POST, and for the last ones at the end of training.
    """

    def __init__(
        self, url: str, name: str | None = None, every_batches: int | None = None, timeout: float = 5.0
    ):
        parts = urlsplit(url)
        token = parse_qs(parts.query).get("token", [None])[0]
        if parts.scheme != "http" or not parts.hostname or not token:
            raise ValueError(f"the live URL must be http://HOST:PORT/?token=..., got {url!r}")
        if every_batches is not None and (
            isinstance(every_batches, bool) or not isinstance(every_batches, int) or every_batches < 1
        ):
            raise ValueError(f"every_batches must be an integer ≥ 1 or None, got {every_batches!r}")
        self.endpoint = f"http://{parts.netloc}/api/live"
        self.token = token
        self.name = name
        self.every_batches = every_batches
        self.timeout = float(timeout)
        self.run_id = uuid.uuid4().hex[:12]
        self.sent_layers = 0
        self.sent_warnings = 0
        self.failed: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=10_000)
        self._thread: threading.Thread | None = None

    # -- the hooks ----------------------------------------------------------------------------

    def on_train_begin(self, run: Run) -> None:
        net = run.net
        info = {
            "sizes": list(net.sizes),
            "activations": [a.name for a in net.activations],
            "cost": net.cost.name,
            "epochs": run.epochs,
            "batch_size": run.batch_size,
            "eta": _num(run.optimizer.eta),
            "optimizer": type(run.optimizer).__name__,
            "lmbda": _num(run.lmbda),
        }
        name = self.name or f"{'-'.join(map(str, net.sizes))} · {self.run_id[:6]}"
        self._post({"event": "begin", "name": name, "info": info})
        self._history(run)

    def on_batch_end(self, run: Run, cost: float) -> None:
        if self.every_batches and run.batch % self.every_batches == 0:
            self._post({"event": "batch", "epoch": run.epoch, "batch": run.batch, "cost": _num(cost)})

    def on_epoch_end(self, run: Run) -> None:
        h, k = run.history, len(run.history) - 1
        if k >= 0:
            self._post(
                {
                    "event": "epoch",
                    "epoch": k + 1,
                    **{
                        key: _num(getattr(h, key)[k]) if len(getattr(h, key)) > k else None
                        for key in ("cost", "accuracy", "val_cost", "val_accuracy", "eta", "seconds")
                    },
                }
            )
        self._history(run)

    def on_train_end(self, run: Run) -> None:
        self._history(run)
        if run.error is not None:  # train ends every callback, also when it raises
            self.abort(run.error if str(run.error) else type(run.error).__name__, run)
            return
        self._post({"event": "end", "epochs": run.epoch, "stopped": bool(run.stop)})
        self.close()

    def _history(self, run: Run) -> None:
        """Send the monitor's health records and warnings not sent yet (it may run after us)."""
        h = run.history
        for layers in h.layers[self.sent_layers :]:
            rows = [{k: d.get(k) for k in ("layer", *_HEALTH)} for d in layers]
            for row in rows:
                for k in ("grad_w_norm", "grad_b_norm", "update_ratio", "saturated", "dead"):
                    row[k] = _num(row[k])
            epoch = layers[0].get("epoch", 0) if layers else 0
            self._post({"event": "health", "epoch": int(epoch), "layers": rows})
        self.sent_layers = len(h.layers)
        for text in h.warnings[self.sent_warnings :]:
            self._post({"event": "warning", "text": str(text)[:1000]})
        self.sent_warnings = len(h.warnings)

    # -- sending ------------------------------------------------------------------------------

    def _post(self, event: dict) -> None:
        if self.failed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._send_loop, name="nablanet-live", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait({"run": self.run_id, **event})
        except queue.Full:
            pass  # the server is far behind: this point is dropped, training is not held up

    def _send_loop(self) -> None:
        while True:
            events = [self._queue.get()]
            while len(events) < 100:  # whatever piled up goes in one request
                try:
                    events.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = events[-1] is None
            events = [e for e in events if e is not None]
            if events and not self.failed:
                self._send(events)
            if stop:
                return

    def _send(self, events: list[dict]) -> None:
        body = json.dumps({"events": events}, allow_nan=False).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            detail = e.read().decode(errors="replace")[:200] if isinstance(e, urllib.error.HTTPError) else ""
            self.failed = f"{e} {detail}".strip()
            warnings.warn(
                f"live view: cannot report to {self.endpoint} ({self.failed}); training goes on", stacklevel=1
            )

    def abort(self, error: BaseException | str, run: Run | None = None) -> None:
        """Report that training failed (a DivergenceError, Ctrl-C), then close.

        ``on_train_end`` calls it when training raised; a caller whose own code
        fails around training may call it too.
        """
        epochs = run.epoch if run is not None else 0
        self._post({"event": "end", "epochs": epochs, "stopped": True, "error": str(error)[:1000]})
        self.close()

    def close(self) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds) and stop the sender."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(self.timeout)
        self._thread = None


def attach_live(
    url: str | None = None,
    name: str | None = None,
    every_batches: int | None = None,
    open_browser: bool = False,
) -> tuple[LiveCallback, str]:
    """A LiveCallback and the live view's URL to open.

    With ``url`` None a server is started in this process (a daemon thread on
    127.0.0.1 and a free port; it ends with the process); otherwise the callback
    reports to the server at ``url``. ``nablanet train --live`` calls this, adds the
    callback last, and prints the URL.
    """
    if url is None:
        server = ServerThread().start()
        url, view = server.url, server.live_url
    else:
        parts = urlsplit(url)
        view = f"{parts.scheme}://{parts.netloc}/live?{parts.query}"
    callback = LiveCallback(url, name=name, every_batches=every_batches)
    if open_browser:
        import webbrowser

        webbrowser.open(view)
    return callback, view
