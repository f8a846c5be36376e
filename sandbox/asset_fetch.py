"""Fetching an asset's `source` URL, as FLORA does: public https hosts only, 50 MB at most.

SSRF protection, as the SDK describes FLORA's: private, loopback, link-local and metadata
addresses are refused, and so are redirects to them. Each hop's host is checked before the
request (a literal address in any spelling, or every address a name resolves to, through
the same resolver seam as webhooks: `sandbox.webhooks.resolve_host`), and the connection
goes to exactly the address that was checked, so a name that changes its answer in between
gains nothing. Unlike webhooks, no local exception: a source is never this machine.

Tests have no network: they replace `transport()` (and the resolver) instead.
"""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from sandbox import webhooks

MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10.0
# The whole fetch (every hop, every byte) ends within this, however slowly bytes drip.
DEADLINE_SECONDS = 60.0
USER_AGENT = "FLORA-Sandbox-Assets/1.0"
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchProblem(Exception):
    """Why the source could not be made an asset, in words for the `fields` message."""


def _checked_addresses(host: str, port: int) -> list[str]:
    try:
        return webhooks._public_addresses(host, port)
    except webhooks.RefusedCallback:
        raise FetchProblem(
            f"The source host {host} is a private or internal address; it was not fetched"
        ) from None
    except httpcore.ConnectError:
        raise FetchProblem(f"The source host {host} could not be found") from None


def check_url(url: str) -> None:
    """FetchProblem unless `url` is a public https URL (its host resolved and checked)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchProblem("The source is not a valid URL") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise FetchProblem('Expected a public https:// URL or "signed-url"')
    if parts.username is not None or parts.password is not None:
        raise FetchProblem("The source URL must not contain credentials")
    _checked_addresses(parts.hostname, port or 443)


def _backend() -> webhooks._CheckedBackend:
    """The webhooks' checking backend, with a source's checks and no local exception."""
    return webhooks._CheckedBackend(_checked_addresses, allow_local=False)


def transport() -> httpx.BaseTransport:
    """The transport sources are fetched through (a seam: tests serve canned answers)."""
    return webhooks._CheckedTransport(_backend())


def fetch(url: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes at `url` and the Content-Type it was served with; FetchProblem otherwise."""
    started = time.monotonic()
    with httpx.Client(
        transport=transport(),
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(url)
            try:
                with client.stream("GET", url) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if not response.is_success:
                        raise FetchProblem(f"The source answered HTTP {response.status_code}")
                    return _read(response, max_bytes, started), response.headers.get(
                        "content-type", ""
                    )
            except httpx.HTTPError as exc:
                raise FetchProblem(
                    f"The source could not be fetched ({type(exc).__name__})"
                ) from exc
    raise FetchProblem(f"The source redirected more than {MAX_REDIRECTS} times")


def _read(response: httpx.Response, max_bytes: int, started: float) -> bytes:
    too_large = f"The source is larger than {max_bytes // (1024 * 1024)} MB"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchProblem(too_large)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchProblem(too_large)
        if time.monotonic() - started > DEADLINE_SECONDS:
            raise FetchProblem(f"The source took longer than {DEADLINE_SECONDS:g} s to fetch")
        chunks.append(chunk)
    return b"".join(chunks)
