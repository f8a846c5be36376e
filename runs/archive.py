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
  origin); timeouts per operation and a deadline for the whole file;
- failures are retried with exponential backoff up to MAX_ATTEMPTS; refusals (unsafe URL,
  too large, wrong type) are final at once. Each output is claimed with a conditional
  UPDATE before it is fetched, so several workers never copy the same one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import mimetypes
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from florasite.net import host_address, is_public_ip
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
# A whole file must arrive within this many seconds, however slowly the bytes drip.
DOWNLOAD_DEADLINE = 600.0
# A claimed output is left alone by other workers this long: longer than any download, so a
# worker that died mid-copy is replaced only after it certainly gave up.
CLAIM_LEASE = timedelta(seconds=DOWNLOAD_DEADLINE + 300)
TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
MAX_REDIRECTS = 3
CHUNK_SIZE = 64 * 1024
# Files up to this size are buffered in memory; larger ones spill to a temporary file.
SPOOL_IN_MEMORY = 8 * 1024 * 1024
# The periodic retry handles at most this many outputs per tick, and stops starting new
# copies after this many seconds, so ticks never pile up behind a slow server.
RETRY_BATCH = 20
RETRY_BUDGET_SECONDS = 45.0

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


class _PublicOnlyBackend(httpcore.SyncBackend):
    """Connects only to public addresses, and to exactly the address it checked."""

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
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the address-checking network backend and no proxies.

    TLS still verifies the certificate against the URL's host name (httpcore passes it as
    the server name), while the TCP connection goes to the checked address.
    """

    def __init__(self) -> None:
        super().__init__(retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=20,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_PublicOnlyBackend(),
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
                    transport=_GuardedTransport(),
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


def download(url: str, output_type: str, client: httpx.Client | None = None) -> _Download:
    """Fetch one output file under every rule in the module docstring, into a temp file."""
    client = client or get_download_client()
    limit = settings.FLORASITE_OUTPUT_MAX_BYTES
    deadline = time.monotonic() + DOWNLOAD_DEADLINE
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(url)
        with client.stream(
            "GET",
            url,
            headers={"Accept-Encoding": "identity"},
            follow_redirects=False,
            timeout=TIMEOUT,
        ) as response:
            if response.is_redirect:
                location = response.headers.get("location", "")
                if not location:
                    raise KeepFailed(f"FLORA's file server answered {response.status_code}.")
                url = urljoin(url, location)
                continue
            if response.status_code != 200:
                raise _http_failure(response.status_code)
            content_type = _checked_content_type(response, url, output_type)
            declared = response.headers.get("content-length", "")
            declared_size = int(declared) if declared.isdigit() else None
            if declared_size is not None and declared_size > limit:
                raise _too_large(limit)
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
            try:
                digest = hashlib.sha256()
                size = 0
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(limit)
                    if time.monotonic() > deadline:
                        raise KeepFailed("The file took too long to arrive.")
                    digest.update(chunk)
                    spool.write(chunk)
                encoded = response.headers.get("content-encoding", "identity") != "identity"
                if declared_size is not None and not encoded and size != declared_size:
                    raise KeepFailed("The file arrived incomplete.")
                if size == 0:
                    raise KeepFailed("FLORA's file server sent an empty file.")
            except BaseException:
                spool.close()
                raise
            spool.seek(0)
            media = content_type.split(";", 1)[0]
            extension = EXTENSIONS.get(media) or (mimetypes.guess_extension(media) or ".bin")
            return _Download(spool, size, digest.hexdigest(), content_type, extension.lstrip("."))
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


def _claim(output_pk: int, now: datetime) -> bool:
    """Take the output for this worker; False when someone else has it or it is not due."""
    return (
        RunOutput.objects.filter(_due(now), pk=output_pk).update(
            attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
        )
        == 1
    )


def _record_failure(output: RunOutput, message: str, *, final: bool) -> str:
    now = timezone.now()
    give_up = final or output.attempts >= MAX_ATTEMPTS
    RunOutput.objects.filter(pk=output.pk, keep_status=OutputKeepStatus.PENDING).update(
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

    Returns the output's keep status afterwards, or "skipped" when it was not claimed.
    """
    now = timezone.now()
    if not _claim(output_pk, now):
        return "skipped"
    output = RunOutput.objects.select_related("run").get(pk=output_pk)
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

    updated = RunOutput.objects.filter(pk=output.pk, keep_status=OutputKeepStatus.PENDING).update(
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
        # The row changed under us (deleted, or reset by an admin): do not leave an orphan.
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


def retry_due_outputs(now: datetime | None = None) -> int:
    """Copy outputs whose retry is due, or whose copy was never attempted (the periodic job).

    Returns how many were attempted.
    """
    now = now or timezone.now()
    started = time.monotonic()
    pks = list(
        RunOutput.objects.filter(_due(now))
        .order_by(F("next_attempt_at").asc(nulls_first=True), "pk")
        .values_list("pk", "run__code")[:RETRY_BATCH]
    )
    attempted = 0
    for pk, code in pks:
        if time.monotonic() - started > RETRY_BUDGET_SECONDS:
            break
        if _keep_isolated(pk, code) != "skipped":
            attempted += 1
    return attempted


def reset_failed_outputs(runs: QuerySet[Run]) -> int:
    """Give outputs that could not be kept a fresh set of attempts (admin action)."""
    count = RunOutput.objects.filter(run__in=runs, keep_status=OutputKeepStatus.FAILED).update(
        keep_status=OutputKeepStatus.PENDING, attempts=0, next_attempt_at=None, last_error=""
    )
    return count
