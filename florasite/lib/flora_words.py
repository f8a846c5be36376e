"""FLORA's errors in words: one function per question, side by side.

The same error is told differently depending on who asks and what failed:

- `describe_error`: one line for an admin (a connection's status, a sync's report);
- `log_label`: the few words a log line carries ("HTTP 503 upstream_down");
- `problem_for`: a read failed (the catalog, a technique), for the page that shows it;
- `refusal_from`: FLORA refused to start a run, for the person who pressed the button.

Pages and tests show these words as they are: change them here, knowingly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flora import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestNotSent,
)

__all__ = [
    "KEY_REJECTED",
    "Problem",
    "Refusal",
    "describe_error",
    "log_label",
    "problem_for",
    "refusal_from",
]

KEY_REJECTED = "The team's FLORA key was rejected; an admin must update it."


def describe_error(error: BaseException) -> str:
    """One line for an admin, without the request id (stored and shown on its own)."""
    if isinstance(error, APIStatusError):
        code = f" {error.code}" if error.code else ""
        return f"HTTP {error.status_code}{code}: {error.message}"
    return str(error) or type(error).__name__


def log_label(error: BaseException) -> str:
    """The status and code of a failed call, or the error's type, for a log line."""
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code} {error.code or ''}".strip()
    return type(error).__name__


def _wait(error: RateLimitError) -> int:
    """The seconds to tell a person to wait after a 429 (FLORA's Retry-After, or 5)."""
    return max(1, round(error.retry_after or 5))


@dataclass(frozen=True)
class Problem:
    """Why FLORA could not answer, in words for the people using the dashboard."""

    kind: str  # auth | forbidden | rate_limited | bad_request | secret | unavailable
    message: str
    request_id: str = ""
    retry_after: int | None = None


def problem_for(error: BaseException) -> Problem:
    """A failed read from FLORA as a Problem (anything but FLORA's answers is "unavailable")."""
    request_id = getattr(error, "request_id", None) or ""
    if isinstance(error, AuthenticationError):
        return Problem("auth", KEY_REJECTED, request_id)
    if isinstance(error, PermissionDeniedError):
        return Problem(
            "forbidden",
            "FLORA refused access to this workspace with the team's key; an admin should "
            "check the team's workspaces.",
            request_id,
        )
    if isinstance(error, RateLimitError):
        wait = _wait(error)
        return Problem(
            "rate_limited", f"FLORA is busy; try again in {wait} s.", request_id, retry_after=wait
        )
    if isinstance(error, BadRequestError):
        return Problem(
            "bad_request", f"FLORA did not accept this request: {error.message}", request_id
        )
    if isinstance(error, RequestNotSent):
        return Problem("unavailable", str(error), request_id)
    if isinstance(error, APIResponseValidationError):
        return Problem("unavailable", "FLORA sent an answer the dashboard cannot read.", request_id)
    if isinstance(error, APIStatusError):
        return Problem(
            "unavailable", f"FLORA is not answering (HTTP {error.status_code}).", request_id
        )
    if isinstance(error, APIConnectionError):
        return Problem("unavailable", "FLORA is not answering.", request_id)
    return Problem("unavailable", "FLORA is not answering.", request_id)


@dataclass(frozen=True)
class Refusal:
    """FLORA definitively refused to start a run: what to tell the person."""

    code: str
    message: str
    status_code: int
    request_id: str = ""
    fields: list[dict[str, str]] = field(default_factory=list)
    retry_after: int | None = None


def refusal_from(error: APIStatusError) -> Refusal:
    """FLORA's 4xx answer to a create, as a message for the person who pressed the button."""
    request_id = error.request_id or ""
    if isinstance(error, BadRequestError):
        message = "FLORA did not accept these inputs."
        if not error.fields:
            message = f"FLORA did not accept this run: {error.message}"
        return Refusal(
            error.code or "input_validation_error", message, 400, request_id, list(error.fields)
        )
    if isinstance(error, AuthenticationError):
        return Refusal(error.code or "unauthorized", KEY_REJECTED, 401, request_id)
    if isinstance(error, InsufficientCreditsError):
        message = (
            "Not enough FLORA credits to start this run. A manager can top up the "
            "team's FLORA account; nothing was charged."
        )
        return Refusal(error.code or "insufficient_credits", message, 402, request_id)
    if isinstance(error, PermissionDeniedError):
        message = "FLORA does not allow this run in this workspace with the team's key."
        return Refusal(error.code or "forbidden", message, 403, request_id)
    if isinstance(error, NotFoundError):
        message = "This technique no longer exists in FLORA, so it cannot be run."
        return Refusal(error.code or "not_found", message, 404, request_id)
    if isinstance(error, RateLimitError):
        wait = _wait(error)
        return Refusal(
            error.code or "rate_limited",
            f"FLORA is busy; try again in {wait} s. Nothing was started.",
            429,
            request_id,
            retry_after=wait,
        )
    message = f"FLORA refused this run: {error.message}"
    return Refusal(
        error.code or f"http_{error.status_code}", message, error.status_code, request_id
    )
