"""The request core: headers, retries, idempotency keys, response parsing."""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    _make_status_error,
    parse_retry_after,
)
from ._response import _envelope_items, _json, _PageMeta, _validate
from ._retries import _RETRYABLE_TRANSPORT_ERRORS, _request_of, _should_retry, _within
from ._transport import BodyTooLarge, DeadlineTransport, deadline, read_limited, remaining
from ._version import __version__
from .pagination import CursorPage

logger = logging.getLogger("flora")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

DEFAULT_BASE_URL = "https://app.flora.ai/api/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
# A whole call (every attempt, the waits between them, connect to the last byte) ends within
# this many seconds, however slowly FLORA answers: per-operation timeouts alone restart with
# every byte of a slow drip.
DEFAULT_DEADLINE = 90.0
# FLORA's JSON answers are kilobytes; a body larger than this is refused, never buffered.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
USER_AGENT = f"florasite/{__version__} (python-httpx/{httpx.__version__})"

# Backoff as in the official SDK: 0.5 s doubling to 8 s, minus up to 25 % jitter.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server asking for longer than this is not worth blocking a web request on.
MAX_RETRY_AFTER = 60.0
# FLORA's advice on 429 without Retry-After: start backing off near 5 s.
RATE_LIMIT_RETRY_DELAY = 5.0


def new_idempotency_key() -> str:
    return f"florasite-{uuid.uuid4()}"


def path_segment(value: str) -> str:
    """Quote one path segment so an id can never change which endpoint is hit."""
    if not isinstance(value, str) or value in {"", ".", ".."}:
        raise ValueError(f"Invalid id for a URL path segment: {value!r}")
    return quote(value, safe="")


# The kind of secret ("sk_live_", "sk_sandbox_", "whsec_"): FLORA's documented prefixes,
# safe to show. Anything else is treated as secret from the first character.
_KIND_PREFIX = re.compile(r"^(?:sk|whsec)_(?:[a-z]{1,8}_)?")
# Below this length a key shows nothing: no FLORA key is that short, and any character
# shown would be a large share of it.
_MIN_MASKED_LENGTH = 12


def mask_key(api_key: str) -> str:
    """A hint at which key or secret is set, safe to show and log: 'sk_live_…abcd'.

    The kind prefix and the last four characters, as payment dashboards show keys, so two
    keys of one kind can be told apart. Never more: a short key (under 12 characters) shows
    only '…'. The sandbox's public keys come out whole ('sk_sandbox_…demo'): their secret
    part is four letters, and they are published in its README.
    """
    if len(api_key) < _MIN_MASKED_LENGTH:
        return "…"
    match = _KIND_PREFIX.match(api_key)
    prefix = match.group(0) if match else ""
    rest = api_key[len(prefix) :]
    return f"{prefix}…{rest[-4:]}" if len(rest) >= 4 else f"{prefix}…"


Gate = Callable[[], AbstractContextManager[object]]


@dataclass(frozen=True)
class Form:
    """A multipart/form-data body: text fields, then files as (name, bytes, content type).

    Held as bytes, never as an open stream, so every retry can send it again in full.
    """

    fields: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]


class SyncAPIClient:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.Client | None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        gate: Gate | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if deadline is not None and deadline <= 0:
            raise ValueError("deadline must be > 0 (or None for no deadline)")
        if max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be > 0")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        # Entered around every attempt; it may raise RequestNotSent to refuse the call (the
        # dashboard caps how many calls one team has in flight this way).
        self._gate: Gate = gate or nullcontext
        self._owns_http_client = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else httpx.Client(timeout=timeout, transport=DeadlineTransport())
        )
        # Patchable so tests (and callers with their own scheduling) need not really sleep.
        self._sleep: Callable[[float], None] = time.sleep

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client, unless it was passed in (then its owner closes it)."""
        if self._owns_http_client:
            self._http.close()

    def __repr__(self) -> str:
        key_hint = mask_key(self._api_key)
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key_hint!r})"

    # -- requests --------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        form: Form | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """Send a request, retrying what is safe to retry; return the 2xx response.

        The whole call, retries included, ends within `self.deadline`; the body (of any
        status) is read into memory only up to `self.max_response_bytes`. `form` sends
        multipart/form-data instead of JSON; it is encoded afresh for every attempt, so a
        retry sends the same bytes. `url` (absolute) sends to a host other than FLORA's API,
        without the API key: a presigned upload target.
        """
        with deadline(self.deadline):
            return self._request_within_deadline(method, path, params, body, headers, form, url)

    def _request_within_deadline(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        form: Form | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        authenticated = url is None
        target = self.base_url + path if url is None else url
        query = {k: v for k, v in (params or {}).items() if v is not None}
        extra_headers = dict(headers or {})
        retries_taken = 0
        while True:
            response: httpx.Response | None = None
            try:
                with self._gate():
                    response = self._send(
                        method, target, query, body, extra_headers, form, authenticated
                    )
            except httpx.TimeoutException as exc:
                error: APIError = APITimeoutError(request=_request_of(exc))
                error.__cause__ = exc
                retryable = True
                outcome = "timed out"
            except httpx.RequestError as exc:
                detail = str(exc) or type(exc).__name__
                error = APIConnectionError(f"Connection error: {detail}", request=_request_of(exc))
                error.__cause__ = exc
                retryable = isinstance(exc, _RETRYABLE_TRANSPORT_ERRORS)
                outcome = f"connection error ({type(exc).__name__})"
            else:
                if response.is_success:
                    return response
                error = _make_status_error(response)
                retryable = _should_retry(response)
                outcome = f"HTTP {response.status_code}"

            request_id = response.headers.get("request-id") if response is not None else None
            delay = self._retry_delay(retries_taken, response)
            left = remaining()
            in_time = left is None or left > delay
            if retryable and retries_taken < self.max_retries and in_time:
                logger.warning(
                    "FLORA %s %s failed: %s, request id %s; retrying in %.2f s (%d of %d)",
                    method,
                    path,
                    outcome,
                    request_id,
                    delay,
                    retries_taken + 1,
                    self.max_retries,
                )
                self._sleep(delay)
                retries_taken += 1
                continue
            logger.warning(
                "FLORA %s %s failed: %s, request id %s; giving up after %d attempt(s)%s",
                method,
                path,
                outcome,
                request_id,
                retries_taken + 1,
                "" if in_time or not retryable else " (no time left before the deadline)",
            )
            raise error

    def _send(
        self,
        method: str,
        url: str,
        query: Mapping[str, Any],
        body: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str],
        form: Form | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """One attempt: send, then read the body within the size limit."""
        # The Authorization header is built inline, never held in a local variable, so no
        # traceback or error report can show the key.
        request = self._http.build_request(
            method,
            url,
            params=query,
            json=body if form is None else None,
            data=form.fields if form is not None else None,
            files=form.files if form is not None else None,
            headers={
                **(self._headers() if authenticated else {"User-Agent": USER_AGENT}),
                **extra_headers,
            },
            timeout=_within(self.timeout, remaining()),
        )
        response = self._http.send(request, stream=True)
        try:
            read_limited(response, self.max_response_bytes)
        except BodyTooLarge:
            limit_mb = self.max_response_bytes / (1024 * 1024)
            raise APIResponseValidationError(
                f"the answer is larger than the {limit_mb:g} MB limit; it was not read",
                response=response,
            ) from None
        finally:
            response.close()
        return response

    def _retry_delay(self, retries_taken: int, response: httpx.Response | None) -> float:
        if response is not None:
            requested = parse_retry_after(response.headers)
            if requested is not None:
                return min(requested, MAX_RETRY_AFTER)
        delay = min(INITIAL_RETRY_DELAY * 2**retries_taken, MAX_RETRY_DELAY)
        if response is not None and response.status_code == 429:
            delay = max(delay, RATE_LIMIT_RETRY_DELAY)
        return delay * (1 - 0.25 * random.random())

    def _get(self, path: str, *, cast_to: type[M], params: Mapping[str, Any] | None = None) -> M:
        response = self._request("GET", path, params=params)
        return _validate(response, TypeAdapter(cast_to), _json(response))

    def _post(
        self,
        path: str,
        *,
        cast_to: type[M],
        body: Mapping[str, Any],
        idempotency_key: str | None = None,
        form: Form | None = None,
    ) -> M:
        # One key per call, reused by every retry: a POST that landed but whose answer
        # was lost is recognised by FLORA instead of starting (and charging) a second run.
        # The docs want it in the body, the spec in the header: send both.
        key = idempotency_key or new_idempotency_key()
        if form is not None:
            form = Form(fields={**form.fields, "idempotency_key": key}, files=form.files)
        response = self._request(
            "POST",
            path,
            body={**body, "idempotency_key": key},
            headers={"Idempotency-Key": key},
            form=form,
        )
        return _validate(response, TypeAdapter(cast_to), _json(response))

    def _get_list(self, path: str, *, key: str, model: type[M]) -> list[M]:
        response = self._request("GET", path)
        items = _envelope_items(response, _json(response), key)
        return _validate(response, TypeAdapter(list[model]), items)  # type: ignore[valid-type]

    def _get_page(
        self, path: str, *, key: str, model: type[M], params: Mapping[str, Any]
    ) -> CursorPage[M]:
        response = self._request("GET", path, params=params)
        body = _json(response)
        items = _validate(
            response,
            TypeAdapter(list[model]),  # type: ignore[valid-type]
            _envelope_items(response, body, key),
        )
        meta = _validate(response, TypeAdapter(_PageMeta), body.get("meta") or {})

        def fetch(cursor: str) -> CursorPage[M]:
            return self._get_page(path, key=key, model=model, params={**params, "cursor": cursor})

        return CursorPage(
            items=items,
            next_cursor=meta.next_cursor,
            total_estimate=meta.total_estimate,
            cursor=params.get("cursor"),
            fetch=fetch,
        )


class APIResource:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client
