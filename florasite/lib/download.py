"""Downloading one file from a URL that came from elsewhere, under strict limits.

    fetched = download(url, allowed={"image/png"}, expected="an image", max_bytes=limit)

Through the public-only client (florasite.lib.public_http), so no internal address is ever
fetched, and:

- redirects are followed by hand, at most MAX_REDIRECTS, each new URL checked again;
- a size limit: Content-Length is checked first and bytes are counted while streaming,
  since a server may lie or send none;
- a content-type allowlist (the caller's: runs.content_types for FLORA's outputs);
- time limits enforced on the socket, so that a server dripping a byte now and then (which
  never trips a per-read timeout) cannot hold the worker: every connect, write and read of a
  download waits at most until DOWNLOAD_DEADLINE for the whole file (all redirect hops), and
  at most until the rate floor says the copy is stuck (see `_Pace`);
- the body must be exactly as long as its Content-Length: shorter (the server closed early)
  or longer (h11 would silently stop at the declared length) is a failed download, never a
  truncated file kept.

Every failure is a DownloadFailed (try again later) or a DownloadRefused (final), in words
shown as they are on result pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin, urlsplit

import httpx
from django.template.defaultfilters import filesizeformat

from flora._transport import deadline, remaining
from florasite.lib import public_http
from florasite.lib.public_http import (
    TIMEOUT,
    DownloadFailed,
    DownloadRefused,
    check_url,
    excess_bytes,
)

__all__ = ["DOWNLOAD_DEADLINE", "Downloaded", "download"]

# A whole file must arrive within this many seconds, however slowly the bytes drip (the
# socket's every operation is bounded by it, see flora._transport).
DOWNLOAD_DEADLINE = 600.0
# The rate floor (see _Pace): after STALL_GRACE seconds a copy must have averaged MIN_RATE
# bytes a second since it started, or it is given up as stuck and retried later. 20 s covers
# a slow first byte (a storage service signing or warming a file) and a few redirects; 32 KB/s
# (256 kbit/s) is far below any transfer between servers that works, so a real copy never
# falls under it (a 200 MB video at the floor would miss the deadline anyway), while a drip
# of a few bytes a second is cut after 20 s instead of holding the worker for 600.
STALL_GRACE = 20.0
MIN_RATE = 32 * 1024
MAX_REDIRECTS = 3
# Files up to this size are buffered in memory; larger ones spill to a temporary file.
SPOOL_IN_MEMORY = 8 * 1024 * 1024


@dataclass
class Downloaded:
    file: IO[bytes]  # a temporary file at its start; the caller closes it
    size: int
    sha256: str
    content_type: str


def _media_type(response: httpx.Response, url: str) -> str:
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in ("", "application/octet-stream", "binary/octet-stream"):
        # Some storage services label everything as bytes; the file name is then the hint.
        guessed = mimetypes.guess_type(urlsplit(url).path)[0]
        if guessed:
            media = guessed.lower()
    return media


def _checked_content_type(
    response: httpx.Response, url: str, allowed: Collection[str], expected: str
) -> str:
    media = _media_type(response, url)
    if media not in allowed:
        raise DownloadRefused(
            f"FLORA sent {media or 'a file without a content type'}, which is not {expected}; "
            "it was not kept."
        )
    if media.startswith("text/") or media == "application/json":
        charset = (response.charset_encoding or "utf-8").lower()
        if not charset.replace("-", "").replace("_", "").isalnum():
            charset = "utf-8"
        return f"{media}; charset={charset}"
    return media


def _http_failure(status: int) -> DownloadFailed:
    # Expired signatures (401/403) and malformed requests will not fix themselves; a 404
    # right after completion may be a storage service catching up, so it is retried.
    if 400 <= status < 500 and status not in (404, 408, 409, 425, 429):
        return DownloadRefused(f"FLORA's file server answered {status}; the file was not kept.")
    return DownloadFailed(f"FLORA's file server answered {status}.")


def _too_large(limit: int) -> DownloadRefused:
    return DownloadRefused(
        f"The file is larger than the {filesizeformat(limit)} limit "
        "(FLORASITE_OUTPUT_MAX_BYTES); it was not kept."
    )


_TOO_LONG = "The file took too long to arrive."
_TOO_SLOW = "The file is arriving too slowly."
# Close each connection after its response: the connection's byte count (public_http) is
# then one response's, and bytes a lying server sent past its Content-Length can never be read
# as the answer to the next request on a reused connection.
_REQUEST_HEADERS = {"Accept-Encoding": "identity", "Connection": "close"}
# Socket timeouts may fire a hair early; a timeout this close to a limit is that limit's.
_TIMER_SLACK = 0.05


class _Pace:
    """The deadline and the rate floor, for one download and all its redirect hops.

    From the first request on, the copy has STALL_GRACE seconds for connecting, redirects,
    headers and its first bytes; after that the body received so far must average at least
    MIN_RATE bytes a second since the start. Like the deadline, the floor is enforced on the
    socket: each step (a request, the next piece of the body) waits only until the moment the
    average would fall below it, so a server that stops sending is cut at that moment whether
    or not another byte ever arrives. The floor is on the average, so a fast start earns
    slack for a slow patch later; a complete stall still ends at TIMEOUT's 30 s read timeout,
    and everything at DOWNLOAD_DEADLINE.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.received = 0

    def _left(self) -> float:
        return self.started + max(STALL_GRACE, self.received / MIN_RATE) - time.monotonic()

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """Bound every socket operation in the block by both limits; DownloadFailed past one."""
        total = remaining()
        if total is not None and total <= 0:
            raise DownloadFailed(_TOO_LONG)
        left = self._left()
        if left <= 0:
            raise DownloadFailed(_TOO_SLOW)
        try:
            with deadline(left):
                yield
        except httpx.TimeoutException as exc:
            total = remaining()
            if total is not None and total <= _TIMER_SLACK:
                raise DownloadFailed(_TOO_LONG) from exc
            if self._left() <= _TIMER_SLACK:
                raise DownloadFailed(_TOO_SLOW) from exc
            raise  # an ordinary per-operation timeout


def _receive(
    response: httpx.Response,
    url: str,
    allowed: Collection[str],
    expected: str,
    limit: int,
    pace: _Pace,
) -> Downloaded:
    """Read a final (non-redirect) response's body into a temp file, checking it all."""
    if response.status_code != 200:
        raise _http_failure(response.status_code)
    content_type = _checked_content_type(response, url, allowed, expected)
    declared = response.headers.get("content-length", "")
    declared_size = int(declared) if declared.isdigit() else None
    if declared_size is not None and declared_size > limit:
        raise _too_large(limit)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        digest = hashlib.sha256()
        chunks = response.iter_bytes()
        while True:
            with pace.step():
                chunk = next(chunks, None)
            if chunk is None:
                break
            pace.received += len(chunk)
            if pace.received > limit:
                raise _too_large(limit)
            digest.update(chunk)
            spool.write(chunk)
        size = pace.received
        encoded = response.headers.get("content-encoding", "identity") != "identity"
        if declared_size is not None and not encoded:
            if size < declared_size:
                raise DownloadFailed("The file arrived incomplete.")
            if size > declared_size or excess_bytes(response) > 0:
                raise DownloadFailed("The file server sent more than the size it declared.")
        if size == 0:
            raise DownloadFailed("FLORA's file server sent an empty file.")
    except httpx.RemoteProtocolError as exc:
        # h11's word for a body cut short of its Content-Length (or mangled framing).
        spool.close()
        raise DownloadFailed("The file arrived incomplete.") from exc
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Downloaded(spool, size, digest.hexdigest(), content_type)


def download(
    url: str,
    *,
    allowed: Collection[str],
    expected: str,
    max_bytes: int,
    client: httpx.Client | None = None,
) -> Downloaded:
    """Fetch one file under every rule in the module docstring, into a temporary file.

    `allowed`: the content types accepted; `expected`: what they are in words ("an image"),
    for the refusal. Raises DownloadRefused (final) or DownloadFailed (worth a retry).
    """
    client = client or public_http.get_client()
    pace = _Pace()
    try:
        with deadline(DOWNLOAD_DEADLINE):
            for _hop in range(MAX_REDIRECTS + 1):
                check_url(url)
                request = client.build_request(
                    "GET", url, headers=_REQUEST_HEADERS, timeout=TIMEOUT
                )
                with pace.step():
                    response = client.send(request, stream=True, follow_redirects=False)
                try:
                    if not response.is_redirect:
                        return _receive(response, url, allowed, expected, max_bytes, pace)
                    location = response.headers.get("location", "")
                    if not location:
                        raise DownloadFailed(
                            f"FLORA's file server answered {response.status_code}."
                        )
                    url = urljoin(url, location)
                finally:
                    response.close()
    except httpx.HTTPError as exc:
        raise DownloadFailed(_describe_http_error(exc)) from exc
    raise DownloadFailed(f"FLORA's file URL redirected more than {MAX_REDIRECTS} times.")


def _describe_http_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "FLORA's file server did not answer in time."
    if isinstance(exc, httpx.TransportError):
        return "Could not connect to FLORA's file server."
    return "The download failed."
