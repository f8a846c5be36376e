"""Why FLORA could not answer a catalog read, in words for the people using the dashboard.

    problem = problem_from(connection, exc)  # a failed FLORA call -> Problem

The words themselves are florasite.lib.flora_words' (with the other words for FLORA's
errors); here the catalog adds what only it knows: an unreadable secret, a rejected key
marking the connection failing.

The catalog's reads raise CatalogUnavailable (no cached copy to fall back on) or
TechniqueGone (FLORA's 404); pages show the Problem with FLORA's request id.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flora import AuthenticationError
from florasite.lib.flora_words import Problem, problem_for
from teams.models import SecretUnavailable
from teams.services import mark_failing

if TYPE_CHECKING:
    from teams.models import FloraConnection

__all__ = ["CatalogUnavailable", "Problem", "TechniqueGone", "problem_from"]

logger = logging.getLogger(__name__)


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
    if isinstance(error, SecretUnavailable):
        logger.error("FLORA client for team %s unavailable: %s", connection.team.slug, error)
        return Problem(
            "secret",
            "The team's FLORA key cannot be read on this server: an operator must restore "
            "the encryption key it was saved with, or an admin must enter the key again.",
        )
    if isinstance(error, AuthenticationError):
        mark_failing(connection, error)
    return problem_for(error)
