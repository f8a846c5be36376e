"""Why FLORA could not answer a catalog read, in words for the people using the dashboard.

    problem = problem_from(connection, exc)  # a failed FLORA call -> Problem

The catalog's reads raise CatalogUnavailable (no cached copy to fall back on) or
TechniqueGone (FLORA's 404); pages show the Problem with FLORA's request id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flora import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    RateLimitError,
    RequestNotSent,
)
from teams.models import SecretUnavailable
from teams.services import mark_failing

if TYPE_CHECKING:
    from teams.models import FloraConnection

__all__ = ["CatalogUnavailable", "Problem", "TechniqueGone", "problem_from"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """Why FLORA could not answer, in words for the people using the dashboard."""

    kind: str  # auth | forbidden | rate_limited | bad_request | secret | unavailable
    message: str
    request_id: str = ""
    retry_after: int | None = None


class CatalogUnavailable(Exception):
    """FLORA failed and no copy of the answer is cached."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class TechniqueGone(Exception):
    """FLORA answered 404: the technique no longer exists (or the key cannot see it)."""

    def __init__(self, technique_id: str, request_id: str = "") -> None:
        super().__init__(f"Technique {technique_id} was not found in FLORA.")
        self.technique_id = technique_id
        self.request_id = request_id


def problem_from(connection: FloraConnection, error: Exception) -> Problem:
    """Map a failed FLORA call onto a Problem; a rejected key marks the connection failing."""
    request_id = getattr(error, "request_id", None) or ""
    if isinstance(error, SecretUnavailable):
        logger.error("FLORA client for team %s unavailable: %s", connection.team.slug, error)
        return Problem(
            "secret",
            "The team's FLORA key cannot be read on this server: an operator must restore "
            "the encryption key it was saved with, or an admin must enter the key again.",
        )
    if isinstance(error, AuthenticationError):
        mark_failing(connection, error)
        return Problem(
            "auth",
            "The team's FLORA key was rejected; an admin must update it.",
            request_id,
        )
    if isinstance(error, PermissionDeniedError):
        return Problem(
            "forbidden",
            "FLORA refused access to this workspace with the team's key; an admin should "
            "check the team's workspaces.",
            request_id,
        )
    if isinstance(error, RateLimitError):
        wait = max(1, round(error.retry_after or 5))
        return Problem(
            "rate_limited", f"FLORA is busy; try again in {wait} s.", request_id, retry_after=wait
        )
    if isinstance(error, BadRequestError):
        return Problem(
            "bad_request",
            f"FLORA did not accept this request: {error.message}",
            request_id,
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
