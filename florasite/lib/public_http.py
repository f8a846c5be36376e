"""An HTTP client that fetches only from the public internet: for URLs that came from elsewhere.

FLORA's output URLs point wherever FLORA (or whoever answers in its place) says, so the
client that fetches them must not become a way into the dashboard's own network:

- https only; plain http only to the dashboard's own origin when the built-in sandbox is on
  (its outputs live there);
- no credentials in URLs, and no private, loopback, link-local, reserved or multicast
  addresses: the host is resolved and every address checked before the request
  (`check_url`), and again at connect time by the network backend, which connects to the
  very address it checked (so a DNS answer that changes in between, "rebinding", cannot slip
  through);
- no proxies from the environment (a proxy would hide the real destination), and redirects
  are never followed by the client: its caller checks each hop (florasite.lib.download);
- every socket operation is bounded by the current flora deadline (DeadlineBackend), and
  each connection counts the bytes it received (`excess_bytes`), so a body longer than its
  Content-Length, which h11 would silently cut, is seen.

The words of the errors are shown as they are on result pages.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from flora import DeadlineBackend, DeadlineTransport, StreamWrapper
from florasite.lib.net import host_address, is_public_ip

__all__ = [
    "TIMEOUT",
    "DownloadFailed",
    "DownloadRefused",
    "check_url",
    "excess_bytes",
    "get_client",
    "is_public_address",
    "public_addresses",
    "resolve_host",
]

TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
CHUNK_SIZE = 64 * 1024
# More than httpcore accepts for a response head (100 KB), 1xx heads included.
_HEAD_KEPT = 128 * 1024
_BLANK_LINE = re.compile(rb"\n\r?\n")  # where h11 ends a head


class DownloadFailed(Exception):
    """A fetch that did not work this time; worth another attempt later."""


class DownloadRefused(DownloadFailed):
    """A fetch refused outright (unsafe address, too large, wrong type).

    Trying again would give the same answer.
    """


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam: tests replace it instead of using DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for anything internal."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return is_public_ip(ip)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _sandbox_origin() -> tuple[str, str, int] | None:
    """(scheme, host, port) of the dashboard itself when the built-in sandbox serves files."""
    if not settings.FLORA_SANDBOX_ENABLED or not settings.PUBLIC_BASE_URL:
        return None
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    if not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), parts.port or _default_port(parts.scheme)


def _is_sandbox_host(host: str, port: int) -> bool:
    origin = _sandbox_origin()
    return origin is not None and (origin[1], origin[2]) == (host.lower(), port)


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to for host:port; DownloadRefused if any is not public.

    The dashboard's own origin is exempt when the sandbox is on (it is usually loopback).
    """
    if _is_sandbox_host(host, port):
        return [host]
    # A literal address (in any spelling the resolver reads: 127.1, 0x7f.0.0.1, 127.0.0.1.,
    # localhost.) is checked as it is; only names are resolved.
    literal = host_address(host)
    addresses = [str(literal)] if literal is not None else []
    try:
        addresses = addresses or resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise DownloadFailed(f"The file's host {host} could not be found.") from exc
    if not addresses:
        raise DownloadFailed(f"The file's host {host} could not be found.")
    if not all(is_public_address(address) for address in addresses):
        raise DownloadRefused(
            f"The file's host {host} points to a private or reserved network address; "
            "it was not fetched."
        )
    return addresses


def check_url(url: str) -> None:
    """DownloadRefused unless `url` is one the dashboard may fetch (see module docstring)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DownloadRefused("FLORA gave a malformed URL for this output.") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host or scheme not in ("http", "https"):
        raise DownloadRefused("FLORA gave a URL that is not a web address for this output.")
    if parts.username is not None or parts.password is not None:
        raise DownloadRefused("FLORA gave a URL with credentials in it; it was not fetched.")
    origin = _sandbox_origin()
    if origin is not None and (scheme, host, port or _default_port(scheme)) == origin:
        return
    if scheme != "https":
        raise DownloadRefused("Only https URLs are copied; FLORA gave a plain http one.")
    public_addresses(host, port or 443)


class _CountedStream(StreamWrapper):
    """A connection that counts the bytes it reads, and remembers the first ones.

    h11 stops reading a body at its Content-Length and drops whatever follows, so a server
    sending more than it declared would be kept cut short. The download compares the bytes
    that came off the connection with the head and body h11 made of them (`excess_bytes`);
    requests say `Connection: close`, so each connection carries one response only.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        super().__init__(inner)
        self.received = 0
        self.start = bytearray()

    def _count(self, data: bytes) -> None:
        self.received += len(data)
        if len(self.start) < _HEAD_KEPT:
            self.start += data[: _HEAD_KEPT - len(self.start)]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, timeout)
        self._count(data)
        return data

    def close(self) -> None:
        # Whatever the server already sent past the response is counted too (a read that
        # does not wait: nothing there, or the server closed, is the normal case).
        with contextlib.suppress(Exception):
            self._count(self._inner.read(CHUNK_SIZE, 0))
        self._inner.close()


def _head_length(data: bytes) -> int | None:
    """Where the body starts in the bytes a connection received: after any 1xx heads and the
    response's own, found as h11 finds them. None when the head is not all there."""
    at = 0
    while match := _BLANK_LINE.search(data, at):
        status = data[at : match.start()].split(b" ", 2)
        at = match.end()
        if not (len(status) > 1 and status[1].startswith(b"1")):
            return at
    return None


def excess_bytes(response: httpx.Response) -> int:
    """How many bytes the server sent past the response's Content-Length (0 when unknown)."""
    stream = response.extensions.get("network_stream")
    if not isinstance(stream, _CountedStream) or "transfer-encoding" in response.headers:
        return 0
    head = _head_length(bytes(stream.start))
    if head is None:
        return 0
    return stream.received - head - response.num_bytes_downloaded


class _PublicOnlyBackend(DeadlineBackend):
    """Connects only to public addresses, and to exactly the address it checked.

    As a DeadlineBackend, every socket operation waits at most until the current deadline.
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address in public_addresses(host, port):
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
                return _CountedStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


def _guarded_transport() -> httpx.HTTPTransport:
    """httpx's transport with the address-checking, deadline-bound backend and no proxies.

    TLS still verifies the certificate against the URL's host name (httpcore passes it as
    the server name), while the TCP connection goes to the checked address.
    """
    return DeadlineTransport(
        backend=_PublicOnlyBackend(),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=5, keepalive_expiry=5.0),
    )


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def get_client() -> httpx.Client:
    """The process-wide public-only client (a seam: tests route it to the sandbox).

    Redirects are never followed by the client itself (its caller checks each hop first)
    and environment proxies are ignored (a proxy would hide the real destination).
    """
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = httpx.Client(
                    transport=_guarded_transport(),
                    timeout=TIMEOUT,
                    follow_redirects=False,
                    trust_env=False,
                    headers={"User-Agent": "florasite-output-keeper"},
                )
    return _client
