"""Keeping run outputs: copy FLORA's media files into the dashboard's own storage.

FLORA's output URLs are long-lived but not permanent, so when a run completes the worker
copies each media output into Django's default storage (a local folder, or S3 and the like
through django-storages) and records its size, content type and checksum. Result pages and
share links serve that copy; FLORA's URL is only ever read here.

Fetching a URL that came from elsewhere is dangerous, so downloading is defensive:

- https only; plain http only to the dashboard's own origin when the built-in sandbox is on
  (its outputs live there);
- no credentials in URLs, and no private, loopback, link-local, reserved or multicast
  addresses: the host is resolved and every address checked before the request, and again
  at connect time by the network backend, which connects to the very address it checked
  (so a DNS answer that changes in between, "rebinding", cannot slip through);
- redirects are followed by hand, at most MAX_REDIRECTS, each new URL checked as above;
- a size limit (settings.FLORASITE_OUTPUT_MAX_BYTES): Content-Length is checked first and
  bytes are counted while streaming, since a server may lie or send none;
- a content-type allowlist per output type (no HTML or SVG: the copy is served from our
  origin);
- time limits enforced on the socket, so that a server dripping a byte now and then (which
  never trips a per-read timeout) cannot hold the worker: every connect, write and read of a
  download waits at most until DOWNLOAD_DEADLINE for the whole file (all redirect hops), and
  at most until the rate floor says the copy is stuck (see `_Pace`);
- the body must be exactly as long as its Content-Length: shorter (the server closed early)
  or longer (h11 would silently stop at the declared length) is a failed copy, never a
  truncated file kept;
- failures are retried with exponential backoff up to MAX_ATTEMPTS; refusals (unsafe URL,
  too large, wrong type) are final at once. Each output is claimed with a conditional
  UPDATE before it is fetched, so several workers never copy the same one; the claim is a
  short lease the copying worker renews, so one that dies mid-copy is replaced in a minute.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import itertools
import logging
import mimetypes
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from flora._transport import DeadlineBackend, DeadlineTransport, deadline, remaining
from florasite.lib.net import host_address, is_public_ip
from runs.jobs import savepoint
from runs.models import OutputKeepStatus, Run, RunOutput

__all__ = [
    "MAX_ATTEMPTS",
    "RefusedDownload",
    "check_url",
    "get_download_client",
    "keep_output",
    "keep_run_outputs",
    "reset_failed_outputs",
    "resolve_host",
    "retry_due_outputs",
]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Backoff after attempt n (1-based): 1, 2, 4, 8, 16 minutes... capped.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
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
# A claimed output is left alone by other workers this long. The worker copying it renews
# the claim every LEASE_RENEWAL for as long as the copy runs (_renewing_claim), so the lease
# need not outlast the longest download, only a dead worker: one killed mid-copy leaves the
# output to the retry job (every minute) about a minute later, not after fifteen.
CLAIM_LEASE = timedelta(seconds=60)
LEASE_RENEWAL = CLAIM_LEASE / 3
TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
MAX_REDIRECTS = 3
CHUNK_SIZE = 64 * 1024
# Files up to this size are buffered in memory; larger ones spill to a temporary file.
SPOOL_IN_MEMORY = 8 * 1024 * 1024
# The periodic retry handles at most this many outputs per tick, and stops starting new
# copies after this many seconds, so ticks never pile up behind a slow server.
RETRY_BATCH = 20
RETRY_BUDGET_SECONDS = 45.0
# At most this many of one team's copies run at once in one worker process; one more is left
# pending, unclaimed, for the periodic retry. The copier runs several threads (bin/serve.py),
# so a team whose file server drips holds at most this many of them, never all.
TEAM_COPIES_AT_ONCE = 2

_team_copies: dict[int, int] = {}
_team_copies_lock = threading.Lock()

_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/gif", "image/avif", "image/heic"}
)
_VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime", "video/ogg"})
_AUDIO_TYPES = frozenset(
    {
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/vnd.wave",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/webm",
        "audio/flac",
        "audio/x-flac",
    }
)
_DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "text/plain",
        "text/markdown",
        "text/csv",
        "application/json",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
# What each FLORA output type may be. HTML and SVG are never allowed anywhere: the copy is
# served from the dashboard's origin, where they could run scripts.
ALLOWED_CONTENT_TYPES: dict[str, frozenset[str]] = {
    "imageUrl": _IMAGE_TYPES,
    "videoUrl": _VIDEO_TYPES,
    "audioUrl": _AUDIO_TYPES,
    "documentUrl": _DOCUMENT_TYPES,
}
# An output type FLORA adds later is kept if it is any of the known safe kinds.
_ANY_ALLOWED = _IMAGE_TYPES | _VIDEO_TYPES | _AUDIO_TYPES | _DOCUMENT_TYPES

_TYPE_WORDS = {
    "imageUrl": "an image",
    "videoUrl": "a video",
    "audioUrl": "audio",
    "documentUrl": "a document",
}

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/heic": "heic",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "video/ogg": "ogv",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "audio/webm": "weba",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/csv": "csv",
    "application/json": "json",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}

# --- Errors ---------------------------------------------------------------------------------


class KeepFailed(Exception):
    """A copy that did not work this time; worth another attempt later."""


class RefusedDownload(KeepFailed):
    """A copy the dashboard refuses to make (unsafe address, too large, wrong type).

    Trying again would give the same answer, so the output is marked failed at once.
    """


# --- Address checks -------------------------------------------------------------------------


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
    """The addresses to connect to for host:port; RefusedDownload if any is not public.

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
        raise KeepFailed(f"The file's host {host} could not be found.") from exc
    if not addresses:
        raise KeepFailed(f"The file's host {host} could not be found.")
    if not all(is_public_address(address) for address in addresses):
        raise RefusedDownload(
            f"The file's host {host} points to a private or reserved network address; "
            "it was not fetched."
        )
    return addresses


def check_url(url: str) -> None:
    """RefusedDownload unless `url` is one the dashboard may fetch (see module docstring)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedDownload("FLORA gave a malformed URL for this output.") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host or scheme not in ("http", "https"):
        raise RefusedDownload("FLORA gave a URL that is not a web address for this output.")
    if parts.username is not None or parts.password is not None:
        raise RefusedDownload("FLORA gave a URL with credentials in it; it was not fetched.")
    origin = _sandbox_origin()
    if origin is not None and (scheme, host, port or _default_port(scheme)) == origin:
        return
    if scheme != "https":
        raise RefusedDownload("Only https URLs are copied; FLORA gave a plain http one.")
    public_addresses(host, port or 443)


class _CountedStream(httpcore.NetworkStream):
    """A connection that counts the bytes it reads, and remembers the first ones.

    h11 stops reading a body at its Content-Length and drops whatever follows, so a server
    sending more than it declared would be kept cut short. The download compares the bytes
    that came off the connection with the head and body h11 made of them (`_excess_bytes`);
    requests say `Connection: close`, so each connection carries one response only.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
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

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        # Whatever the server already sent past the response is counted too (a read that
        # does not wait: nothing there, or the server closed, is the normal case).
        with contextlib.suppress(Exception):
            self._count(self._inner.read(CHUNK_SIZE, 0))
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _CountedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


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


def get_download_client() -> httpx.Client:
    """The process-wide client for copying outputs (a seam: tests route it to the sandbox).

    Redirects are never followed by the client itself (each hop is checked here first) and
    environment proxies are ignored (a proxy would hide the real destination).
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


# --- Downloading ----------------------------------------------------------------------------


@dataclass
class _Download:
    file: IO[bytes]
    size: int
    sha256: str
    content_type: str
    extension: str


def _described_url(url: str) -> str:
    """Host and path only: signed URLs carry secrets in their query string."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}{parts.path}"


def _media_type(response: httpx.Response, url: str) -> str:
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in ("", "application/octet-stream", "binary/octet-stream"):
        # Some storage services label everything as bytes; the file name is then the hint.
        guessed = mimetypes.guess_type(urlsplit(url).path)[0]
        if guessed:
            media = guessed.lower()
    return media


def _checked_content_type(response: httpx.Response, url: str, output_type: str) -> str:
    media = _media_type(response, url)
    allowed = ALLOWED_CONTENT_TYPES.get(output_type, _ANY_ALLOWED)
    if media not in allowed:
        expected = _TYPE_WORDS.get(output_type, "a kind of file the dashboard keeps")
        raise RefusedDownload(
            f"FLORA sent {media or 'a file without a content type'}, which is not {expected}; "
            "it was not kept."
        )
    if media.startswith("text/") or media == "application/json":
        charset = (response.charset_encoding or "utf-8").lower()
        if not charset.replace("-", "").replace("_", "").isalnum():
            charset = "utf-8"
        return f"{media}; charset={charset}"
    return media


def _http_failure(status: int) -> KeepFailed:
    # Expired signatures (401/403) and malformed requests will not fix themselves; a 404
    # right after completion may be a storage service catching up, so it is retried.
    if 400 <= status < 500 and status not in (404, 408, 409, 425, 429):
        return RefusedDownload(f"FLORA's file server answered {status}; the file was not kept.")
    return KeepFailed(f"FLORA's file server answered {status}.")


def _too_large(limit: int) -> RefusedDownload:
    return RefusedDownload(
        f"The file is larger than the {filesizeformat(limit)} limit "
        "(FLORASITE_OUTPUT_MAX_BYTES); it was not kept."
    )


_TOO_LONG = "The file took too long to arrive."
_TOO_SLOW = "The file is arriving too slowly."
# Close each connection after its response: the byte count in _CountedStream is then one
# response's, and bytes a lying server sent past its Content-Length can never be read as the
# answer to the next request on a reused connection.
_REQUEST_HEADERS = {"Accept-Encoding": "identity", "Connection": "close"}
# More than httpcore accepts for a response head (100 KB), 1xx heads included.
_HEAD_KEPT = 128 * 1024
_BLANK_LINE = re.compile(rb"\n\r?\n")  # where h11 ends a head
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
        """Bound every socket operation in the block by both limits; KeepFailed past one."""
        total = remaining()
        if total is not None and total <= 0:
            raise KeepFailed(_TOO_LONG)
        left = self._left()
        if left <= 0:
            raise KeepFailed(_TOO_SLOW)
        try:
            with deadline(left):
                yield
        except httpx.TimeoutException as exc:
            total = remaining()
            if total is not None and total <= _TIMER_SLACK:
                raise KeepFailed(_TOO_LONG) from exc
            if self._left() <= _TIMER_SLACK:
                raise KeepFailed(_TOO_SLOW) from exc
            raise  # an ordinary per-operation timeout


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


def _excess_bytes(response: httpx.Response) -> int:
    """How many bytes the server sent past the response's Content-Length (0 when unknown)."""
    stream = response.extensions.get("network_stream")
    if not isinstance(stream, _CountedStream) or "transfer-encoding" in response.headers:
        return 0
    head = _head_length(bytes(stream.start))
    if head is None:
        return 0
    return stream.received - head - response.num_bytes_downloaded


def _receive(response: httpx.Response, url: str, output_type: str, pace: _Pace) -> _Download:
    """Read a final (non-redirect) response's body into a temp file, checking it all."""
    if response.status_code != 200:
        raise _http_failure(response.status_code)
    limit = settings.FLORASITE_OUTPUT_MAX_BYTES
    content_type = _checked_content_type(response, url, output_type)
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
                raise KeepFailed("The file arrived incomplete.")
            if size > declared_size or _excess_bytes(response) > 0:
                raise KeepFailed("The file server sent more than the size it declared.")
        if size == 0:
            raise KeepFailed("FLORA's file server sent an empty file.")
    except httpx.RemoteProtocolError as exc:
        # h11's word for a body cut short of its Content-Length (or mangled framing).
        spool.close()
        raise KeepFailed("The file arrived incomplete.") from exc
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    media = content_type.split(";", 1)[0]
    extension = EXTENSIONS.get(media) or (mimetypes.guess_extension(media) or ".bin")
    return _Download(spool, size, digest.hexdigest(), content_type, extension.lstrip("."))


def download(url: str, output_type: str, client: httpx.Client | None = None) -> _Download:
    """Fetch one output file under every rule in the module docstring, into a temp file."""
    client = client or get_download_client()
    pace = _Pace()
    with deadline(DOWNLOAD_DEADLINE):
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(url)
            request = client.build_request("GET", url, headers=_REQUEST_HEADERS, timeout=TIMEOUT)
            with pace.step():
                response = client.send(request, stream=True, follow_redirects=False)
            try:
                if not response.is_redirect:
                    return _receive(response, url, output_type, pace)
                location = response.headers.get("location", "")
                if not location:
                    raise KeepFailed(f"FLORA's file server answered {response.status_code}.")
                url = urljoin(url, location)
            finally:
                response.close()
    raise KeepFailed(f"FLORA's file URL redirected more than {MAX_REDIRECTS} times.")


def _describe_http_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "FLORA's file server did not answer in time."
    if isinstance(exc, httpx.TransportError):
        return "Could not connect to FLORA's file server."
    return "The download failed."


# --- Keeping --------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1, 2, 4, 8... minutes, at most BACKOFF_MAX."""
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def _due(now: datetime) -> Q:
    return Q(keep_status=OutputKeepStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _claim(output_pk: int, now: datetime) -> datetime | None:
    """Take the output for this worker: the claim's end, or None when someone else has it
    or it is not due. A claim is an attempt: a later claim by anyone has a higher count."""
    until = now + CLAIM_LEASE
    claimed = RunOutput.objects.filter(_due(now), pk=output_pk).update(
        attempts=F("attempts") + 1, next_attempt_at=until
    )
    return until if claimed == 1 else None


def _still_ours(output: RunOutput) -> QuerySet[RunOutput]:
    """The output's row, as long as no other worker claimed it after this one."""
    return RunOutput.objects.filter(
        pk=output.pk, keep_status=OutputKeepStatus.PENDING, attempts=output.attempts
    )


@contextlib.contextmanager
def _renewing_claim(output: RunOutput, until: datetime) -> Iterator[None]:
    """Keep this worker's claim on `output` alive while the block runs.

    A thread renews it every LEASE_RENEWAL, whether or not bytes are arriving, with an UPDATE
    that matches only the lease this worker last wrote: it never renews a claim another
    worker took once ours ran out, nor overwrites the retry time of an outcome already
    recorded. The thread uses its own database connection and closes it when the block ends.
    """
    stop = threading.Event()

    def renew(until: datetime) -> None:
        try:
            while not stop.wait(LEASE_RENEWAL.total_seconds()):
                renewed = timezone.now() + CLAIM_LEASE
                mine = _still_ours(output).filter(next_attempt_at=until)
                try:
                    if not mine.update(next_attempt_at=renewed):
                        return
                    until = renewed
                except Exception:  # the database may be back by the next renewal
                    logger.exception("Could not renew the claim on output %s", output.pk)
        finally:
            connection.close()

    thread = threading.Thread(
        target=renew, args=(until,), name=f"keep-lease-{output.pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _record_failure(output: RunOutput, message: str, *, final: bool) -> str:
    now = timezone.now()
    give_up = final or output.attempts >= MAX_ATTEMPTS
    _still_ours(output).update(
        keep_status=OutputKeepStatus.FAILED if give_up else OutputKeepStatus.PENDING,
        next_attempt_at=None if give_up else now + backoff(output.attempts),
        last_error=message[:500],
    )
    logger.warning(
        "Output %s of run %s not kept (attempt %s, %s): %s [%s]",
        output.output_id,
        output.run.code,
        output.attempts,
        "giving up" if give_up else "will retry",
        message,
        _described_url(output.source_url),
    )
    return OutputKeepStatus.FAILED if give_up else OutputKeepStatus.PENDING


def _storage_name(output: RunOutput, extension: str) -> str:
    name = f"{output.run.code}-{output.position + 1}.{extension}"
    return output.file.field.generate_filename(output, name)


def keep_output(output_pk: int, *, client: httpx.Client | None = None) -> str:
    """Copy one pending media output into storage, if it is due and this worker claims it.

    Returns the output's keep status afterwards, "skipped" when it was not claimed, or
    "deferred" when its team already has TEAM_COPIES_AT_ONCE copies running here (it stays
    due, for the periodic retry).
    """
    team_id = RunOutput.objects.filter(pk=output_pk).values_list("run__team_id", flat=True).first()
    if team_id is None:
        return "skipped"
    with _team_slot(team_id) as slot:
        if not slot:
            return "deferred"
        until = _claim(output_pk, timezone.now())
        if until is None:
            return "skipped"
        output = RunOutput.objects.select_related("run").get(pk=output_pk)
        with _renewing_claim(output, until):
            return _copy(output, client)


@contextlib.contextmanager
def _team_slot(team_id: int) -> Iterator[bool]:
    """One of the team's copy slots in this process, if one is free (see TEAM_COPIES_AT_ONCE)."""
    with _team_copies_lock:
        busy = _team_copies.get(team_id, 0)
        if busy >= TEAM_COPIES_AT_ONCE:
            got = False
        else:
            _team_copies[team_id] = busy + 1
            got = True
    try:
        yield got
    finally:
        if got:
            with _team_copies_lock:
                _team_copies[team_id] -= 1
                if not _team_copies[team_id]:
                    del _team_copies[team_id]


def _copy(output: RunOutput, client: httpx.Client | None) -> str:
    """keep_output's work once the output is claimed: fetch, store, record the outcome."""
    if not output.source_url:
        return _record_failure(output, "FLORA gave no URL for this output.", final=True)
    try:
        fetched = download(output.source_url, output.type, client)
    except RefusedDownload as exc:
        return _record_failure(output, str(exc), final=True)
    except KeepFailed as exc:
        return _record_failure(output, str(exc), final=False)
    except httpx.HTTPError as exc:
        return _record_failure(output, _describe_http_error(exc), final=False)
    except Exception:
        # A bug or a storage outage must not stop the other outputs; it is logged in full.
        logger.exception("Unexpected error copying output %s of run %s", output.pk, output.run)
        return _record_failure(output, "An unexpected error stopped the copy.", final=False)

    try:
        stored = default_storage.save(
            _storage_name(output, fetched.extension), File(fetched.file, name="output")
        )
    except Exception:
        logger.exception("Could not write output %s of run %s to storage", output.pk, output.run)
        return _record_failure(output, "The copy could not be written to storage.", final=False)
    finally:
        fetched.file.close()

    updated = _still_ours(output).update(
        file=stored,
        content_type=fetched.content_type,
        size=fetched.size,
        sha256=fetched.sha256,
        keep_status=OutputKeepStatus.KEPT,
        kept_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    if not updated:
        # The row changed under us (deleted, reset by an admin, or claimed by another worker
        # after our lease ran out): do not leave an orphan.
        default_storage.delete(stored)
        return "skipped"
    logger.info(
        "Kept output %s of run %s (%s bytes, %s)",
        output.output_id,
        output.run.code,
        fetched.size,
        fetched.content_type,
    )
    return OutputKeepStatus.KEPT


def keep_run_outputs(run_pk: int) -> dict[str, int]:
    """Copy every due media output of one run (the task enqueued when a run completes)."""
    now = timezone.now()
    rows = list(
        RunOutput.objects.filter(_due(now), run_id=run_pk)
        .order_by("position")
        .values_list("pk", "run__code")
    )
    outcome: dict[str, int] = {}
    for pk, code in rows:
        status = _keep_isolated(pk, code)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def _keep_isolated(output_pk: int, run_code: str) -> str:
    """keep_output, with a failure logged and contained: the other outputs are still kept."""
    try:
        with savepoint():
            return keep_output(output_pk)
    except Exception:
        logger.exception("Keeping output %s of run %s failed", output_pk, run_code)
        return "error"


def _fair_order(now: datetime) -> list[tuple[int, str]]:
    """The due outputs one retry tick tries, in turn: the least failed first, teams by turns.

    An output that keeps failing (a stuck server costs up to STALL_GRACE each time) goes
    after outputs that failed less or were never tried, and every team's best candidate
    comes before any team's second: however many bad outputs one team has, another team's
    output waits behind at most one of them per round.
    """
    rows = (
        RunOutput.objects.filter(_due(now))
        .order_by("attempts", F("next_attempt_at").asc(nulls_first=True), "pk")
        .values_list("pk", "run__team_id", "run__code")[: RETRY_BATCH * 5]
    )
    by_team: dict[int, list[tuple[int, str]]] = {}
    for pk, team_id, code in rows:
        by_team.setdefault(team_id, []).append((pk, code))
    turns = itertools.zip_longest(*by_team.values())
    return [item for turn in turns for item in turn if item is not None][:RETRY_BATCH]


def retry_due_outputs(now: datetime | None = None) -> int:
    """Copy outputs whose retry is due, or whose copy was never attempted (the periodic job).

    Returns how many were attempted.
    """
    now = now or timezone.now()
    started = time.monotonic()
    pks = _fair_order(now)
    attempted = 0
    for pk, code in pks:
        if time.monotonic() - started > RETRY_BUDGET_SECONDS:
            break
        if _keep_isolated(pk, code) not in ("skipped", "deferred"):
            attempted += 1
    return attempted


def reset_failed_outputs(runs: QuerySet[Run]) -> int:
    """Give outputs that could not be kept a fresh set of attempts (admin action)."""
    count = RunOutput.objects.filter(run__in=runs, keep_status=OutputKeepStatus.FAILED).update(
        keep_status=OutputKeepStatus.PENDING, attempts=0, next_attempt_at=None, last_error=""
    )
    return count
