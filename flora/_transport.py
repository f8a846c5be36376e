"""A total deadline for HTTP calls, enforced on the socket, and bounded body reads.

httpx's timeouts are per operation: a read timeout of 30 s starts again with every byte, so
a server that sends one byte every 20 s holds a request open for as long as it likes. A
deadline bounds the whole call instead:

    with deadline(8.0):                 # connect, send, headers and body: 8 s in all
        response = http.get(url)

Inside the block every connect, TLS handshake, write and read of a DeadlineBackend's sockets
waits at most until the deadline, and one that starts after it fails at once with httpx's
own timeout errors (httpx.ConnectTimeout, ReadTimeout, WriteTimeout). Nested blocks keep the
earliest deadline. The deadline lives in a context variable, so threads sharing one pooled
client each keep their own.

A client whose transport does not use DeadlineBackend (a mock, a WSGI transport, a proxy
mounted from the environment) is still bounded by `read_limited`, which checks the deadline
between chunks; only the socket-level check is immune to a slow drip, which is why the
clients built by this package and by the dashboard use DeadlineTransport.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

__all__ = [
    "DeadlineBackend",
    "DeadlineExceeded",
    "DeadlineTransport",
    "BodyTooLarge",
    "StreamWrapper",
    "deadline",
    "read_limited",
    "remaining",
]

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "flora_deadline", default=None
)


class BodyTooLarge(Exception):
    """A response body over the caller's limit (raised by read_limited)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit


class DeadlineExceeded(httpx.TimeoutException):
    """The call's total deadline passed (between chunks, where no socket read was waiting)."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[float | None]:
    """Bound every network operation in the block to `seconds` from now (None: no bound)."""
    current = _deadline.get()
    if seconds is None:
        yield current
        return
    mine = time.monotonic() + max(0.0, seconds)
    token = _deadline.set(mine if current is None else min(current, mine))
    try:
        yield _deadline.get()
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (may be negative), or None without one."""
    current = _deadline.get()
    return None if current is None else current - time.monotonic()


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """The operation's own timeout, shortened to what is left of the deadline."""
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise error("The call's deadline passed.")
    return left if timeout is None else min(timeout, left)


class StreamWrapper(httpcore.NetworkStream):
    """A network stream that hands every operation to the stream it wraps.

    Subclasses override what they change (a deadline here, a byte count elsewhere); a TLS
    upgrade wraps the upgraded stream in the same class, through `wrap`.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def wrap(self, inner: httpcore.NetworkStream) -> httpcore.NetworkStream:
        return type(self)(inner)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return self.wrap(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineStream(StreamWrapper):
    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return super().read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        super().write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return super().start_tls(ssl_context, server_hostname, bounded)


class DeadlineBackend(httpcore.SyncBackend):
    """httpcore's socket backend, with every operation bounded by the current deadline.

    Subclasses may override `connect_tcp` (e.g. to check addresses) and call super().
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = super().connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's HTTP/1.1 transport on a DeadlineBackend (or a subclass of it).

    `verify` is an SSL context or a bool, as for httpx.HTTPTransport.
    """

    def __init__(
        self,
        *,
        backend: DeadlineBackend | None = None,
        verify: Any = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        super().__init__(retries=0)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        ssl_context = verify if not isinstance(verify, bool) else httpx.create_ssl_context(verify)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend or DeadlineBackend(),
        )


def read_limited(response: httpx.Response, limit: int) -> bytes:
    """Read a streamed response's (decoded) body, at most `limit` bytes, within the deadline.

    Raises BodyTooLarge past the limit (a declared Content-Length over it fails before any
    byte is read) and DeadlineExceeded when the deadline passes between chunks. Leaves the
    body on the response (`response.content`), as `response.read()` would.
    """
    declared = response.headers.get("content-length", "")
    encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
    if declared.isdigit() and not encoded and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        left = remaining()
        if left is not None and left <= 0:
            raise DeadlineExceeded("The call's deadline passed.", request=response.request)
        chunks.append(chunk)
    body = b"".join(chunks)
    # What Response.read() does once the stream is consumed.
    response._content = body
    return body
