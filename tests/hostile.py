"""A hostile FLORA on 127.0.0.1: slow drips, huge bodies, absurd answers, on demand.

    with HostileFlora() as server:
        server.route("/techniques", drip(b'{"techniques": []}', every=0.5))
        team.connection.base_url = server.url      # a team pointed at it

Each route is a function of the request handler that writes whatever it likes to the
socket. Everything is bounded: drips stop when the client goes away or the server stops,
so no test (or benchmark, which uses it too) can hang on it. Only loopback is used.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: tests read counts, not logs

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits.append((self.command, path))
        behaviour = self.server.match(path)
        if behaviour is None:
            send_json(self, {"error": {"code": "not_found", "message": "no route"}}, 404)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            behaviour(self)

    do_GET = do_POST = _dispatch  # noqa: N815

    @property
    def stopping(self) -> threading.Event:
        return self.server.stopping


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many drips at once (the benchmark keeps 16 in flight).
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: list[tuple[str, Behaviour]] = []
        self.hits: list[tuple[str, str]] = []
        self.stopping = threading.Event()

    def match(self, path: str) -> Behaviour | None:
        # The longest matching prefix wins, so specific routes can sit beside general ones.
        best = None
        for prefix, behaviour in self.routes:
            if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, behaviour)
        return best[1] if best else None


class HostileFlora:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def hits(self) -> list[tuple[str, str]]:
        return self._server.hits

    def route(self, prefix: str, behaviour: Behaviour) -> None:
        self._server.routes.append((prefix, behaviour))

    def start(self) -> HostileFlora:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HostileFlora:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- behaviours ------------------------------------------------------------------------------


def send_json(handler: _Handler, body: Any, status: int = 200) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def answer(body: Any, status: int = 200) -> Behaviour:
    """A normal answer (any JSON, NaN and Infinity allowed, or raw bytes)."""
    return lambda handler: send_json(handler, body, status)


def drip(
    body: bytes,
    *,
    every: float,
    headers_first: bool = True,
    limit: float = 60,
    content_type: str = "application/json",
) -> Behaviour:
    """Send one byte every `every` seconds: the body only, or the status line too.

    After `limit` seconds the connection is closed, the body unfinished."""

    def behaviour(handler: _Handler) -> None:
        # Whatever happens, this connection serves no further request.
        handler.close_connection = True
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        stream = body if headers_first else head + body
        if headers_first:
            handler.wfile.write(head)
            handler.wfile.flush()
        started = time.monotonic()
        for i in range(len(stream)):
            if handler.stopping.wait(every) or time.monotonic() - started > limit:
                return
            handler.wfile.write(stream[i : i + 1])
            handler.wfile.flush()

    return behaviour


def steady(body: bytes, *, rate: int, content_type: str = "image/png") -> Behaviour:
    """Send `body` at about `rate` bytes a second (in tenths of a second), with its length."""

    def behaviour(handler: _Handler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        piece = max(1, rate // 10)
        for i in range(0, len(body), piece):
            if handler.stopping.wait(0.1):
                return
            handler.wfile.write(body[i : i + piece])
            handler.wfile.flush()

    return behaviour


def huge(total: int, *, declare_length: bool = True, chunk: int = 64 * 1024) -> Behaviour:
    """A JSON-looking body of `total` bytes (a string that never ends), sent as fast as the
    client reads; without a Content-Length it is sent with `Connection: close`."""

    def behaviour(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declare_length:
            handler.send_header("Content-Length", str(total))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(b'{"techniques": [], "x": "')
        sent = 25
        block = b"a" * chunk
        while sent < total and not handler.stopping.is_set():
            piece = block[: min(chunk, total - sent)]
            handler.wfile.write(piece)
            sent += len(piece)

    return behaviour


def lying_length(body: bytes, *, declared: int, content_type: str = "image/png") -> Behaviour:
    """Declare `declared` bytes, send `body` (shorter), then close the connection."""

    def behaviour(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True

    return behaviour


def overlong(body: bytes, *, declared: int, content_type: str = "image/png") -> Behaviour:
    """Declare `declared` bytes, send all of `body` (longer), then close the connection."""

    def behaviour(handler: _Handler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    return behaviour
