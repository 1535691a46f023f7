"""Serving the ground station with uvicorn, in the foreground or in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import uvicorn

from lunasample.errors import UserError
from lunasample.gds.station import Station, create_app


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free one), or a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    except OverflowError:
        sock.close()
        raise UserError(f"--http-port {port} is not a TCP port (0..65535)") from None
    sock.listen(64)
    return sock


def page_url(sock: socket.socket, token: str | None) -> str:
    """The address to open; the token rides in the fragment, which is never sent."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/" + (f"#token={token}" if token else "")


def _server(station: Station) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(station),
        log_level="warning",
        access_log=False,
        ws="auto",
        lifespan="on",
        ws_ping_interval=5,
        ws_ping_timeout=10,
    )
    return uvicorn.Server(config)


class ThreadedServer:
    """The station's web server in a background thread (tests, benchmarks)."""

    def __init__(self, station: Station, host: str = "127.0.0.1", port: int = 0) -> None:
        self.station = station
        self.sock = listen(host, port)
        self.url = page_url(self.sock, None)
        self._server = _server(station)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, name="gds-http", daemon=True
        )

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the ground station's web server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self.sock.close()


def serve_forever(station: Station, sock: socket.socket) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn handles both)."""
    _server(station).run(sockets=[sock])
