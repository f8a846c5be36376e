"""The error hierarchy, and the one function that maps an HTTP response onto it."""

from __future__ import annotations

import datetime
import email.utils
import html
import json
import math
import re
import time
from typing import Any, TypedDict

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AssetFailedError",
    "AssetNotReadyError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FieldError",
    "FloraError",
    "IdempotencyConflictError",
    "IdempotencyDuplicateError",
    "InsufficientCreditsError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SignedUploadError",
    "UnprocessableEntityError",
]

# Long proxy pages must not flood logs or flash messages.
_MAX_TEXT = 200


class FieldError(TypedDict):
    field: str
    message: str


class FloraError(Exception):
    """Base class for everything this library raises on purpose."""


class APIError(FloraError):
    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIStatusError(APIError):
    """FLORA answered with a non-2xx status."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        fields: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.fields: list[FieldError] = fields or []
        self.request_id: str | None = response.headers.get("request-id")
        self.retry_after = parse_retry_after(response.headers)

    def __str__(self) -> str:
        label = f"HTTP {self.status_code}"
        if self.code:
            label += f" {self.code}"
        text = f"{label}: {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class BadRequestError(APIStatusError):
    pass


class AuthenticationError(APIStatusError):
    pass


class InsufficientCreditsError(APIStatusError):
    pass


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class IdempotencyDuplicateError(ConflictError):
    """The idempotency key was already used: the run was submitted before.

    Treat it as "already submitted": look the run up, never submit again.
    """


class UnprocessableEntityError(APIStatusError):
    pass


class IdempotencyConflictError(UnprocessableEntityError):
    """The idempotency key was already used with a different request body."""


class RateLimitError(APIStatusError):
    pass


class InternalServerError(APIStatusError):
    pass


class SignedUploadError(APIStatusError):
    """The presigned upload target (not FLORA's API) refused the bytes of a signed upload."""

    def __str__(self) -> str:
        return f"The upload URL answered HTTP {self.status_code}: {self.message}"


class AssetFailedError(FloraError):
    """FLORA could not make the uploaded file an asset (wrong type, too large, unreadable)."""

    def __init__(self, asset_id: str, failure_message: str | None) -> None:
        detail = f": {failure_message}" if failure_message else "."
        super().__init__(f"Asset {asset_id} failed to process{detail}")
        self.asset_id = asset_id
        self.failure_message = failure_message


class AssetNotReadyError(FloraError):
    """The asset was still not ready when the upload stopped waiting for it."""

    def __init__(self, asset_id: str, status: str, waited: float) -> None:
        super().__init__(
            f"Asset {asset_id} was not ready after {waited:g} s (last status: {status})."
        )
        self.asset_id = asset_id
        self.status = status


class APIConnectionError(APIError):
    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class RequestNotSent(APIError):
    """The call was refused before anything was sent (by the client's `gate`).

    Unlike APIConnectionError, the outcome is known: FLORA never saw the request.
    """


class APIResponseValidationError(APIError):
    """A 2xx response whose body does not match the contract (not JSON, fields missing)."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.request_id: str | None = response.headers.get("request-id")

    def __str__(self) -> str:
        text = f"Invalid response from FLORA (HTTP {self.status_code}): {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_CODE_CLASSES: dict[str, type[APIStatusError]] = {
    "idempotency_duplicate": IdempotencyDuplicateError,
    "idempotency_conflict": IdempotencyConflictError,
}


def _make_status_error(response: httpx.Response) -> APIStatusError:
    """Build the right APIStatusError subclass for a non-2xx response."""
    code, message, fields = _read_error_body(response)
    message = _redact_key(message, response)

    cls = _STATUS_CLASSES.get(response.status_code, APIStatusError)
    if response.status_code >= 500:
        cls = InternalServerError
    # The code refines the class only when it agrees with the status, so that
    # `except ConflictError` still catches IdempotencyDuplicateError.
    by_code = _CODE_CLASSES.get(code or "")
    if by_code is not None and issubclass(by_code, cls):
        cls = by_code
    return cls(message, response=response, code=code, fields=fields)


def _read_error_body(response: httpx.Response) -> tuple[str | None, str, list[FieldError]]:
    fallback = f"HTTP {response.status_code} from FLORA"
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        text = _readable_text(response.text)
        detail = f"{fallback} (non-JSON body)"
        return None, f"{detail}: {text}" if text else detail, []

    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return None, error, []
    if not isinstance(error, dict):
        # Not FLORA's envelope (a gateway speaking JSON): keep what is readable.
        message = body.get("message") if isinstance(body, dict) else None
        return None, message if isinstance(message, str) and message else fallback, []

    code = error.get("code")
    message = error.get("message")
    fields = [
        FieldError(field=str(item.get("field", "")), message=str(item.get("message", "")))
        for item in error.get("fields") or []
        if isinstance(item, dict)
    ]
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) and message else fallback,
        fields,
    )


def _readable_text(text: str) -> str:
    """Reduce an HTML error page (or any text) to one short, readable line."""
    if "<" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        if title and title.group(1).strip():
            text = title.group(1)
        else:
            text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
            text = re.sub(r"<[^>]+>", " ", text)
        text = html.unescape(text)
    text = " ".join(text.split())
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1].rstrip() + "…"
    return text


def _redact_key(message: str, response: httpx.Response) -> str:
    # A misbehaving server or proxy may echo the Authorization header back.
    try:
        authorization = response.request.headers.get("authorization", "")
    except RuntimeError:  # a Response built by hand has no request
        return message
    key = authorization.removeprefix("Bearer ").strip()
    if len(key) >= 8 and key in message:
        message = message.replace(key, "[redacted]")
    return message


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `Retry-After`."""
    millis = _finite(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000" zone: HTTP dates are GMT anyway
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(moment.timestamp() - time.time(), 0.0)


def _finite(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
