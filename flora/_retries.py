"""Which failed attempts are worth another, and how long an attempt may take."""

from __future__ import annotations

import httpx

# Transport failures where the request may not have reached FLORA, or its answer was
# lost: safe to retry because every POST carries an idempotency key.
_RETRYABLE_TRANSPORT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


def _within(timeout: float | httpx.Timeout, left: float | None) -> httpx.Timeout:
    """Per-operation timeouts no longer than what is left of the deadline (waiting for a
    pooled connection included), so even a transport without DeadlineBackend is bounded."""
    base = httpx.Timeout(timeout)
    if left is None:
        return base
    left = max(left, 0.001)

    def cap(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cap(base.connect), read=cap(base.read), write=cap(base.write), pool=cap(base.pool)
    )


def _should_retry(response: httpx.Response) -> bool:
    # 409 means the idempotency key was already used: the first attempt landed.
    # Retrying cannot help, and must never look like a fresh submission.
    if response.status_code == 409:
        return False
    hint = response.headers.get("x-should-retry", "").strip().lower()
    if hint == "true":
        return True
    if hint == "false":
        return False
    return response.status_code in (408, 429) or response.status_code >= 500


def _request_of(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # raised by a transport before the request was attached
        return None
