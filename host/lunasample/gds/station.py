"""The ground station: the link thread, what the page is shown, and the web app.

One LinkThread owns the board's link. What it hears is published to every
connected page over a websocket (telemetry, events, DONE replies, the link's
state); commands come back over the same websocket (or POST /api/command),
are checked against the command dictionary and sent through the link, and
the board's ACK or NAK goes back to the page that asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from lunasample import dictionary as dictionary_mod
from lunasample.gds.linkthread import RESERVED, LinkThread, Message
from lunasample.mission.params import load_params

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
TM_HISTORY = 600  # samples a newly opened page gets to fill its plots
EV_HISTORY = 300
CLIENT_QUEUE = 1000  # a page this far behind skips telemetry, never events


class Station:
    """State shared by the link thread and the web app."""

    def __init__(
        self,
        url: str,
        dictionary: dict[str, Any],
        token: str | None = None,
        tm_hz: int = 10,
        hb_timeout_ms: int | None = None,
        where: str = "",
        log_path: Path | None = None,
        timeline_path: Path | None = None,
        mass_target_g: float | None = None,
    ) -> None:
        self.dictionary = dictionary
        self.token = token
        # The mission's sample target (params.toml, with --params overrides).
        self.mass_target_g = float(mass_target_g or load_params().sampling.target_g)
        self.where = where or url
        self.tm: deque[Message] = deque(maxlen=TM_HISTORY)
        self.events: deque[Message] = deque(maxlen=EV_HISTORY)
        self.params: list[Message] = []
        self.timeline: Message | None = None
        self._clients: set[asyncio.Queue[Message]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.link = LinkThread(
            url, self.publish, tm_hz=tm_hz, hb_timeout_ms=hb_timeout_ms, log_path=log_path
        )
        self.timeline_path = timeline_path
        self._halt = threading.Event()
        self._watcher: threading.Thread | None = None
        self._estop_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gds-estop")

    def start(self) -> Station:
        """Start the link thread (and the timeline file's watcher)."""
        self.link.start()
        if self.timeline_path is not None:
            self._watcher = threading.Thread(
                target=self._watch_timeline, name="gds-timeline", daemon=True
            )
            self._watcher.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        self.link.stop()
        self._estop_pool.shutdown(wait=False)
        if self._watcher is not None:
            self._watcher.join(timeout=3)

    def _watch_timeline(self) -> None:
        """Publish the timeline file whenever it changes (a mission writes it at its end)."""
        assert self.timeline_path is not None
        seen: int | None = None
        while not self._halt.wait(0 if seen is None else 1.0):
            try:
                stamp = self.timeline_path.stat().st_mtime_ns
            except OSError as e:
                stamp, err = -1, f"cannot read: {e.strerror or e}"
            else:
                err = None
            if stamp == seen:
                continue
            seen = stamp
            msg: Message = {"type": "timeline", "source": str(self.timeline_path), "phases": []}
            if err is None:
                try:
                    doc = json.loads(self.timeline_path.read_text())
                    msg.update(
                        phases=list(doc["phases"]),
                        success=doc.get("success"),
                        returned_g=doc.get("returned_g"),
                    )
                except (OSError, ValueError, KeyError, TypeError) as e:
                    err = f"not a mission timeline.json: {e}"
            msg["error"] = err
            self.publish(msg)

    # -- from any thread -----------------------------------------------
    def publish(self, msg: Message) -> None:
        """Record msg for pages that open later and send it to the open ones."""
        with self._lock:
            kind = msg["type"]
            if kind == "tm":
                self.tm.append(msg)
            elif kind in ("ev", "done", "cmd"):
                self.events.append(msg)
            elif kind == "params":
                self.params = msg["rows"]
            elif kind == "timeline":
                self.timeline = msg
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._fanout, msg)

    def snapshot(self) -> Message:
        """Everything a newly opened page needs to draw itself."""
        with self._lock:
            return {
                "type": "snapshot",
                "where": self.where,
                "link": self.link.status(),
                "tm": list(self.tm),
                "events": list(self.events),
                "params": list(self.params),
                "timeline": self.timeline,
                "time": time.time(),
            }

    # -- event loop ----------------------------------------------------
    def _fanout(self, msg: Message) -> None:
        for q in list(self._clients):
            if msg["type"] == "tm" and q.qsize() >= CLIENT_QUEUE:
                continue  # a page this far behind skips telemetry; events always queue
            q.put_nowait(msg)

    async def run_command(self, name: str, args: dict[str, Any], who: str) -> Message:
        """Check a command against the dictionary, send it, and log the outcome."""
        if name in RESERVED:
            reply: Message = {"ok": False, "err": "refused", "msg": f"{name} belongs to the link"}
        else:
            try:
                # The dictionary's own check, as the page's checkArgs: a bad
                # argument from any client is refused before the board sees it.
                dictionary_mod.load().check_args(name, args)
            except dictionary_mod.ArgError as e:
                err = dictionary_mod.load().error_name(e.code)
                reply = {"ok": False, "err": err, "code": e.code, "msg": e.text}
            else:
                # E-STOPs have threads of their own: never queued behind
                # commands waiting on a silent board.
                pool = self._estop_pool if name == "ESTOP" else None
                loop = asyncio.get_running_loop()
                reply = await loop.run_in_executor(pool, self.link.command, name, args)
        self.publish(
            {
                "type": "cmd",
                "name": name,
                "args": args,
                "reply": reply,
                "who": who,
                "rx": time.time(),
            }
        )
        return reply

    # -- auth ----------------------------------------------------------
    def token_ok(self, given: str | None) -> bool:
        if not self.token:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


def _same_origin(headers: Any) -> bool:
    """A browser's Origin must name this server: another site's page open in
    the same browser may not drive the board (cross-site websocket hijacking)."""
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser (curl, a script): the token is the guard
    return urlsplit(origin).netloc == headers.get("host", "")


def create_app(station: Station) -> Starlette:
    """The Starlette app serving the page, the dictionary and the websocket."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def dictionary(request: Request) -> Response:
        return JSONResponse(station.dictionary)

    async def config(request: Request) -> Response:
        return JSONResponse(
            {
                "token_required": bool(station.token),
                "where": station.where,
                "mass_target_g": station.mass_target_g,
            }
        )

    async def command(request: Request) -> Response:
        if not _same_origin(request.headers):
            return JSONResponse(
                {"ok": False, "err": "origin", "msg": "cross-origin request"}, status_code=403
            )
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else None
        if not station.token_ok(given):
            return JSONResponse(
                {"ok": False, "err": "token", "msg": "token required"}, status_code=401
            )
        try:
            body = json.loads(await request.body())
            name, args = str(body["name"]), dict(body.get("args") or {})
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {
                    "ok": False,
                    "err": "bad_request",
                    "msg": 'expected JSON {"name": ..., "args": {...}}',
                },
                status_code=400,
            )
        reply = await station.run_command(name, args, "http")
        return JSONResponse(reply, status_code=200 if reply["ok"] else 422)

    async def ws(socket: WebSocket) -> None:
        if not _same_origin(socket.headers):
            await socket.close(code=4403, reason="cross-origin")
            return
        await socket.accept()
        try:
            first = await asyncio.wait_for(socket.receive_json(), timeout=10)
        except (asyncio.TimeoutError, WebSocketDisconnect, ValueError, KeyError):
            await _close(socket, 4400, "expected a hello")
            return
        if not station.token_ok(first.get("token") if isinstance(first, dict) else None):
            await socket.send_json({"type": "denied", "msg": "token required"})
            await _close(socket, 4401, "token required")
            return
        q: asyncio.Queue[Message] = asyncio.Queue()
        station._clients.add(q)
        await socket.send_json(station.snapshot())
        sender = asyncio.create_task(_pump(socket, q))
        answering: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak refs
        try:
            while True:
                msg = await socket.receive_json()
                if not isinstance(msg, dict) or msg.get("type") != "cmd":
                    continue
                task = asyncio.create_task(_answer(socket, msg))
                answering.add(task)
                task.add_done_callback(answering.discard)
        except (WebSocketDisconnect, RuntimeError, ValueError, KeyError):
            pass
        finally:
            station._clients.discard(q)
            sender.cancel()

    async def _answer(socket: WebSocket, msg: Message) -> None:
        args = msg.get("args") if isinstance(msg.get("args"), dict) else {}
        reply = await station.run_command(str(msg.get("name", "")), args, "page")
        with contextlib.suppress(Exception):
            await socket.send_json({"type": "reply", "id": msg.get("id"), **reply})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        station._loop = asyncio.get_running_loop()
        yield
        station._loop = None

    routes = [
        Route("/", index),
        Route("/api/dictionary", dictionary),
        Route("/api/config", config),
        Route("/api/command", command, methods=["POST"]),
        WebSocketRoute("/ws", ws),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


async def _pump(socket: WebSocket, q: asyncio.Queue[Message]) -> None:
    with contextlib.suppress(Exception):
        while True:
            await socket.send_json(await q.get())


async def _close(socket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await socket.close(code=code, reason=reason)
