"""The playground's web server: one page, one WebSocket per tab, and the live view of real runs.

Starlette on uvicorn (``pip install "nablanet[web]"``). Routes, all behind the guard:

    GET  /            the playground page          WS /ws        its session (see protocol.py)
    GET  /live        the live view of real runs   WS /ws/live   a snapshot, then every event
    GET  /static/...  the page's scripts, styles and vendored libraries (read once, from the package)
    POST /api/live    events from ``nablanet.web.live.LiveCallback`` (store.py)

The guard, as Jupyter and TensorBoard do it: every request and every socket needs the
random token (``?token=`` or ``Authorization: token …``); the Host header must name
this server (against DNS rebinding), and an Origin header, where a browser sends one,
must be this server's (against cross-site pages). Messages and bodies are capped;
a malformed message gets an error reply and changes nothing. Each socket owns one
``Session``, freed when it disconnects.

Starlette and uvicorn are imported inside the functions that build and run the
server, so ``nablanet.web`` (and the live callback) import with NumPy alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
import threading
import time
import webbrowser
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from ..errors import DivergenceError
from .protocol import ProtocolError, parse_message
from .session import Session
from .store import MAX_EVENT_BYTES, LiveStore, check_event

__all__ = ["Guard", "create_app", "ServerThread", "serve", "MAX_SESSIONS"]

log = logging.getLogger("nablanet.web")

MAX_SESSIONS = 32  # sockets open at once; more are refused (code 1013, try again later)
MAX_IN_FLIGHT = 2  # frames sent and not yet acknowledged by the page
MIN_FRAME_INTERVAL = 1 / 60  # never more than 60 frames a second
WS_MAX_BYTES = 1024 * 1024  # uvicorn closes a socket (1009) that sends a bigger message
MAX_LIVE_BODY = 256 * 1024
MAX_LIVE_EVENTS = 200  # events in one POST
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".txt": "text/plain",
    ".md": "text/plain",
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on
    "Cache-Control": "no-store",
}


# -- the guard ---------------------------------------------------------------------------


class Guard:
    """ASGI middleware: refuse any request or socket without the token, or from a foreign Host/Origin."""

    def __init__(self, app, token: str, hosts: set[str]):
        self.app, self.token = app, token
        self.hosts = set(hosts)
        self.origins = {f"http://{h}" for h in hosts}

    def refusal(self, scope) -> str | None:
        """Why this request is refused, or None."""
        headers: dict[str, list[str]] = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        host = headers.get("host", [])
        if len(host) != 1 or host[0].lower() not in self.hosts:
            return "unknown Host"
        origin = headers.get("origin")
        if origin is not None and (len(origin) != 1 or origin[0].lower() not in self.origins):
            return "foreign Origin"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("token", [])
        auth = headers.get("authorization", [])
        if auth and auth[0].startswith("token "):
            given = [*given, auth[0][6:]]
        if len(given) < 1 or not any(secrets.compare_digest(t.encode(), self.token.encode()) for t in given):
            return "missing or wrong token"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        reason = self.refusal(scope)
        if reason is None:
            return await self.app(scope, receive, send)
        log.info("refused %s %s: %s", scope["type"], scope.get("path"), reason)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": reason})  # → HTTP 403
            return
        body = f"403 Forbidden: {reason}\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# -- one tab ---------------------------------------------------------------------------------


class Connection:
    """A playground socket and its Session: the receiver handles messages, the producer sends frames."""

    def __init__(self, ws):
        self.ws = ws
        self.session = Session()
        self.lock = asyncio.Lock()  # the session is touched by one task at a time, in a worker thread
        self.send_lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.dirty = True  # a frame is owed (something changed)
        self.acked = 0
        self.topology_sent = -1
        self.last_start = 0.0  # when the last frame began: frames start at most 60 times a second

    async def send_json(self, obj: dict) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(obj, allow_nan=False, separators=(",", ":")))

    async def run(self) -> None:
        await self.send_json({"type": "hello", "config": self.session.config})
        self.wake.set()  # the first frame
        producer = asyncio.create_task(self.produce())
        try:
            while True:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                try:
                    await self.handle(parse_message(msg.get("text")))
                except ProtocolError as e:
                    await self.send_json({"type": "error", "message": str(e)})
                except DivergenceError as e:
                    self.session.playing = False
                    await self.send_json({"type": "error", "message": str(e), "diverged": True})
                except (ValueError, TypeError) as e:  # a setting the network itself refuses
                    await self.send_json({"type": "error", "message": f"refused: {e}"})
                except Exception as e:  # a bug: reported, logged, and the session goes on
                    log.exception("error handling a %s message", msg.get("type"))
                    await self.send_json(
                        {"type": "error", "message": f"internal error: {type(e).__name__}: {e}"}
                    )
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer

    def _poke(self) -> None:
        self.dirty = True
        self.wake.set()

    async def _locked(self, fn, *args):
        async with self.lock:
            return await asyncio.to_thread(fn, *args)

    async def handle(self, m: dict) -> None:
        s, kind = self.session, m["type"]
        if kind == "ack":
            self.acked = max(self.acked, min(m["seq"], s.seq))
            self.wake.set()
            return
        if kind == "play":
            s.playing = True
        elif kind == "pause":
            s.playing = False
        elif kind == "step":
            s.playing = False
            await self._locked(s.step)
        elif kind == "reset":
            await self._locked(s.reset)
        elif kind == "config":
            rebuilt = await self._locked(s.configure, m["config"])
            await self.send_json({"type": "config", "config": s.config, "rebuilt": rebuilt})
        elif kind == "select":
            await self._locked(s.select, m["set"], m["index"])
        elif kind == "upload":
            await self._locked(s.use_csv, m["csv"])
            await self.send_json({"type": "config", "config": s.config, "rebuilt": "data"})
        elif kind == "gradcheck":
            await self.send_json(await self._locked(s.gradcheck))
            return
        elif kind == "download":
            await self.send_json(await self._locked(s.download))
            return
        elif kind == "explain":
            await self.send_json(await self._locked(s.explain))
            return
        self._poke()

    async def produce(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.session
        while True:
            await self.wake.wait()
            self.wake.clear()
            while (s.playing or self.dirty) and s.seq - self.acked < MAX_IN_FLIGHT:
                wait = self.last_start + MIN_FRAME_INTERVAL - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.last_start = loop.time()
                topology = None
                async with self.lock:
                    self.dirty = False
                    if s.version != self.topology_sent:
                        topology, self.topology_sent = s.topology(), s.version
                    try:
                        frame = await asyncio.to_thread(s.frame, s.playing)
                    except DivergenceError as e:
                        s.playing = False
                        await self.send_json({"type": "error", "message": str(e), "diverged": True})
                        frame = await asyncio.to_thread(s.frame, False)
                    except Exception as e:  # a bug: reported and logged; the session pauses, not dies
                        log.exception("error building a frame")
                        s.playing = False
                        await self.send_json({"type": "error", "message": f"internal error: {e!r}"})
                        continue
                if topology is not None:
                    await self.send_json(topology)
                async with self.send_lock:
                    await self.ws.send_bytes(frame)


# -- the application ------------------------------------------------------------------------------


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file under static/, read once: a request can name nothing else."""
    files: dict[str, tuple[bytes, str]] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            elif child.is_file() and "." + child.name.rsplit(".", 1)[-1] in _TYPES:
                files[name] = (child.read_bytes(), _TYPES["." + child.name.rsplit(".", 1)[-1]])

    walk(resources.files("nablanet.web") / "static", "")
    return files


def create_app(token: str, hosts: set[str], store: LiveStore | None = None):
    """The ASGI application, wrapped in the Guard. ``app.state`` holds the sessions and the store."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute

    files = _static_files()
    store = store if store is not None else LiveStore()
    sessions: dict[int, Connection] = {}

    def page(name: str):
        html = files[name][0].decode().replace("__TOKEN__", token)

        async def endpoint(request):
            return Response(html, media_type="text/html; charset=utf-8", headers=_HEADERS)

        return endpoint

    async def static(request):
        found = files.get(request.path_params["path"])
        if found is None:
            return Response("404 Not Found\n", status_code=404, media_type="text/plain")
        return Response(found[0], media_type=found[1], headers=_HEADERS)

    async def playground_socket(ws):
        if len(sessions) >= MAX_SESSIONS:
            await ws.close(code=1013, reason=f"at most {MAX_SESSIONS} sessions at once")
            return
        await ws.accept()
        conn = Connection(ws)
        sessions[id(conn)] = conn
        try:
            await conn.run()
        except Exception as e:  # the socket broke mid-send: this session ends, the server goes on
            log.info("session ended: %r", e)
        finally:
            sessions.pop(id(conn), None)

    async def live_socket(ws):
        await ws.accept()
        queue: asyncio.Queue = asyncio.Queue(maxsize=5000)
        store.viewers.add(queue)

        async def forward():
            await ws.send_text(json.dumps(store.snapshot()))
            while queue in store.viewers:
                try:
                    msg = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    continue
                await ws.send_text(json.dumps(msg))
            await ws.close(code=1013, reason="too slow: reconnect")

        sender = asyncio.create_task(forward())
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass  # the live view only listens
        finally:
            store.viewers.discard(queue)
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender

    async def live_post(request):
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send application/json"}, status_code=415)
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_LIVE_BODY:
            return JSONResponse({"error": f"a body of at most {MAX_LIVE_BODY} bytes, with its length"}, 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LIVE_BODY:
                return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            payload = json.loads(body)
            events = payload["events"] if isinstance(payload, dict) and "events" in payload else [payload]
            if not isinstance(events, list) or len(events) > MAX_LIVE_EVENTS:
                raise ProtocolError(f"events must be a list of at most {MAX_LIVE_EVENTS}")
            checked = [check_event(ev) for ev in events]
            if any(len(json.dumps(ev)) > MAX_EVENT_BYTES for ev in checked):
                raise ProtocolError(f"an event is larger than {MAX_EVENT_BYTES} bytes")
            for ev in checked:
                store.add(ev)
        except (ValueError, ProtocolError, RecursionError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"ok": True, "stored": len(checked)})

    app = Starlette(
        routes=[
            Route("/", page("index.html")),
            Route("/live", page("live.html")),
            Route("/static/{path:path}", static),
            Route("/api/live", live_post, methods=["POST"]),
            WebSocketRoute("/ws", playground_socket),
            WebSocketRoute("/ws/live", live_socket),
        ]
    )
    app.state.sessions = sessions
    app.state.store = store
    guarded = Guard(app, token, hosts)
    guarded.state = app.state  # type: ignore[attr-defined]
    return guarded


# -- running it -------------------------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _hosts(host: str, port: int) -> set[str]:
    names = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    names.add(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return {n.lower() for n in names}


class ServerThread:
    """The server on 127.0.0.1 (a free port unless given), in a background thread.

    ``url`` is the playground's address with its token, ``live_url`` the live view's.
    Use as a context manager, or ``start()`` and ``stop()``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None):
        import uvicorn

        self.token = token or secrets.token_urlsafe(24)
        self.sock = _bind(host, port)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.app = create_app(self.token, _hosts(host, self.port))
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            ws_max_size=WS_MAX_BYTES,
            ws_per_message_deflate=False,  # frames are already compact; zlib would only cost time
            proxy_headers=False,
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"

    @property
    def live_url(self) -> str:
        return f"{self.base}/live?token={self.token}"

    @property
    def state(self):
        return self.app.state

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the playground server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1", port: int = 0, open_browser: bool = True, live: bool = False, out=None
) -> None:
    """Run the server until Ctrl-C, printing its URL (the page opens in a browser unless told not to)."""
    import sys

    out = out or sys.stdout
    server = ServerThread(host, port).start()
    url = server.live_url if live else server.url
    print(f"nablanet playground: {url}", file=out, flush=True)
    if live:
        print(f"follow a run: nablanet train --live {server.url}", file=out, flush=True)
    if open_browser:
        webbrowser.open(url)
    try:
        while server.thread.is_alive():
            server.thread.join(0.5)
    finally:
        server.stop()
