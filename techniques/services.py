"""The team's technique catalog, read from FLORA through a per-team cache.

    page = catalog_page(team, workspace_id="ws_demo", query="product", cursor="")
    found = get_technique(team, "tech_tarot-pull")

Every answer is cached twice: a fresh copy for FLORA_CATALOG_TTL seconds (a warm page makes
no FLORA call), and a "last good" copy kept much longer, shown with a notice when FLORA
fails after the fresh copy expired. Cache keys carry the team and a fingerprint of its
connection (base URL and encrypted key), so teams never see each other's catalogs and a new
key never serves the old key's answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from flora import AuthenticationError, FloraError, NotFoundError, Technique
from florasite.lib.flora_words import Problem, problem_for
from teams.models import SecretUnavailable
from teams.services import (
    NoConnection,
    check_connection,
    get_connection,
    interactive_client,
    mark_failing,
)

if TYPE_CHECKING:
    from teams.models import FloraConnection, Team

__all__ = [
    "MEDIA_FILTERS",
    "PAGE_SIZE",
    "CatalogPage",
    "CatalogUnavailable",
    "Problem",  # defined with the other words for FLORA errors (florasite.lib.flora_words)
    "TechniqueGone",
    "TechniqueResult",
    "catalog_page",
    "forget_technique",
    "get_technique",
    "interactive_client",
    "is_valid_technique_id",
    "problem_from",
    "resolve_workspace",
    "workspace_choices",
]

logger = logging.getLogger(__name__)

# A grid of 12 fills rows of 2, 3 and 4 cards evenly.
PAGE_SIZE = 12
# The "last good" copy outlives the fresh one by far: it only serves while FLORA is down.
LAST_GOOD_TTL = int(timedelta(days=7).total_seconds())
MAX_QUERY_LENGTH = 200
MAX_CURSOR_LENGTH = 500
# Bumped whenever the cached shape changes, so old entries are simply never read.
_CACHE_VERSION = "v1"
# The workspace-name lookup of a never-checked connection runs inside a page view.
WORKSPACE_NAMES_TIMEOUT = 5.0
_TECHNIQUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")

# The type filters of the catalog: URL value -> FLORA media type.
MEDIA_FILTERS: dict[str, str] = {
    "text": "text",
    "image": "imageUrl",
    "video": "videoUrl",
    "audio": "audioUrl",
    "document": "documentUrl",
}


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


@dataclass(frozen=True)
class CatalogPage:
    techniques: list[Technique]
    next_cursor: str | None
    total_estimate: int | None
    fetched_at: datetime
    # Set when FLORA failed and this is the last good copy.
    problem: Problem | None = None

    @property
    def stale(self) -> bool:
        return self.problem is not None


@dataclass(frozen=True)
class TechniqueResult:
    technique: Technique
    fetched_at: datetime
    problem: Problem | None = None

    @property
    def stale(self) -> bool:
        return self.problem is not None


@dataclass(frozen=True)
class WorkspaceChoice:
    workspace_id: str
    name: str
    selected: bool = field(default=False)


# -- access -------------------------------------------------------------------------------


def resolve_workspace(connection: FloraConnection, requested: str | None) -> str:
    """The workspace to show: the requested one if the team may use it, else 404.

    An empty request means the team's default. A workspace outside the team's list (a
    hand-edited URL) is refused here, before anything reaches FLORA.
    """
    requested = (requested or "").strip()
    if not requested:
        return connection.default_workspace_id or connection.workspace_ids[0]
    if requested not in connection.workspace_ids:
        raise Http404("This workspace is not one of your team's.")
    return requested


def workspace_choices(connection: FloraConnection, selected: str) -> list[WorkspaceChoice]:
    """The team's workspaces, named as FLORA named them at the last connection check.

    A connection made from the command line has never been checked, so it has no names:
    check it once (GET /workspaces) rather than show bare ids forever. A failed check is
    recorded on the connection and not repeated here.
    """
    if connection.last_checked_at is None and not connection.available_workspaces:
        with contextlib.suppress(FloraError, NoConnection, SecretUnavailable):
            # Names only: one short attempt, so a hanging FLORA costs the page little.
            check_connection(connection, deadline=WORKSPACE_NAMES_TIMEOUT, interactive=True)
    names = {
        ws.get("workspace_id"): ws.get("name")
        for ws in connection.available_workspaces or []
        if isinstance(ws, dict)
    }
    return [
        WorkspaceChoice(ws, str(names.get(ws) or ws), ws == selected)
        for ws in connection.workspace_ids
    ]


def is_valid_technique_id(technique_id: str) -> bool:
    """Whether the dashboard can use this id in its URLs (FLORA's answers may hold any string).

    fullmatch: `$` would also accept a trailing newline.
    """
    return bool(_TECHNIQUE_ID.fullmatch(technique_id))


# -- errors -------------------------------------------------------------------------------


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


# -- cache --------------------------------------------------------------------------------


def _fingerprint(connection: FloraConnection) -> str:
    # The ciphertext changes whenever the key is set again (Fernet tokens are randomised),
    # so a new key starts with a cold cache. Hashing keeps the key material out of cache keys.
    raw = f"{connection.base_url}|{connection.api_key_encrypted}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _cache_key(connection: FloraConnection, kind: str, *parts: str) -> str:
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
    team_part = f"{connection.team_id}:{_fingerprint(connection)}"
    return f"techniques:{_CACHE_VERSION}:{team_part}:{kind}:{digest}"


def _store(key: str, entry: dict[str, Any]) -> None:
    if settings.FLORA_CATALOG_TTL > 0:
        cache.set(key, entry, settings.FLORA_CATALOG_TTL)
    cache.set(key + ":last-good", entry, LAST_GOOD_TTL)


def _technique_entry(technique: Technique, now: datetime) -> dict[str, Any]:
    return {"technique": technique.model_dump(mode="json"), "fetched_at": now.isoformat()}


# -- reads --------------------------------------------------------------------------------


def catalog_page(
    team: Team, *, workspace_id: str, query: str = "", cursor: str = ""
) -> CatalogPage:
    """One page of the team's techniques in a workspace (GET /techniques), cached.

    Raises NoConnection (teams.services) when the team is not set up, CatalogUnavailable
    when FLORA fails and no copy is cached.
    """
    connection = get_connection(team)
    key = _cache_key(connection, "list", workspace_id, query, cursor)
    entry = cache.get(key)
    if entry is not None:
        return _page_from(entry)
    try:
        client = interactive_client(team)
        # GET /techniques?workspace_id=&query=&limit=&cursor=
        page = client.techniques.list(
            query=query or None,
            workspace_id=workspace_id,
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
    except (FloraError, SecretUnavailable) as exc:
        problem = problem_from(connection, exc)
        last_good = cache.get(key + ":last-good")
        if last_good is not None:
            return _page_from(last_good, problem)
        raise CatalogUnavailable(problem) from exc
    now = timezone.now()
    entry = {
        "techniques": [t.model_dump(mode="json") for t in page.items],
        "next_cursor": page.next_cursor if page.has_next_page() else None,
        "total_estimate": page.total_estimate,
        "fetched_at": now.isoformat(),
    }
    _store(key, entry)
    if settings.FLORA_CATALOG_TTL > 0:
        # The list carries each technique's full schema: opening one from the catalog
        # then costs no FLORA call.
        cache.set_many(
            {
                _cache_key(connection, "technique", t.technique_id): _technique_entry(t, now)
                for t in page.items
                if is_valid_technique_id(t.technique_id)
            },
            settings.FLORA_CATALOG_TTL,
        )
    return _page_from(entry)


def get_technique(team: Team, technique_id: str) -> TechniqueResult:
    """One technique with its schema (GET /techniques/{id}), cached like the catalog.

    Raises NoConnection, TechniqueGone (FLORA's 404), or CatalogUnavailable.
    """
    connection = get_connection(team)
    key = _cache_key(connection, "technique", technique_id)
    entry = cache.get(key)
    if entry is not None:
        return _technique_from(entry)
    try:
        client = interactive_client(team)
        # GET /techniques/{technique_id}
        technique = client.techniques.retrieve(technique_id)
    except NotFoundError as exc:
        cache.delete_many([key, key + ":last-good"])
        raise TechniqueGone(technique_id, exc.request_id or "") from exc
    except (FloraError, SecretUnavailable) as exc:
        problem = problem_from(connection, exc)
        last_good = cache.get(key + ":last-good")
        if last_good is not None:
            return _technique_from(last_good, problem)
        raise CatalogUnavailable(problem) from exc
    entry = _technique_entry(technique, timezone.now())
    _store(key, entry)
    return _technique_from(entry)


def _page_from(entry: dict[str, Any], problem: Problem | None = None) -> CatalogPage:
    total = entry.get("total_estimate")
    return CatalogPage(
        techniques=[Technique.model_validate(t) for t in entry["techniques"]],
        next_cursor=entry.get("next_cursor"),
        total_estimate=int(total) if isinstance(total, int | float) else None,
        fetched_at=datetime.fromisoformat(entry["fetched_at"]),
        problem=problem,
    )


def _technique_from(entry: dict[str, Any], problem: Problem | None = None) -> TechniqueResult:
    return TechniqueResult(
        technique=Technique.model_validate(entry["technique"]),
        fetched_at=datetime.fromisoformat(entry["fetched_at"]),
        problem=problem,
    )


def forget_technique(team: Team, technique_id: str) -> None:
    """Drop the cached copies of a technique FLORA says is gone."""
    connection = get_connection(team)
    key = _cache_key(connection, "technique", technique_id)
    cache.delete_many([key, key + ":last-good"])
