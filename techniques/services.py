"""The team's technique catalog, read from FLORA through a per-team cache.

    catalog = full_catalog(team, workspace_id="ws_demo")   # every page, walked once
    found = get_technique(team, "tech_tarot-pull")

The catalog is walked whole (FLORA's pages of 100, at most WALK_PAGES of them, within one
FLORA_PAGE_DEADLINE for the walk) so that search, filters and sort see every technique;
a walk that stops early says why (Catalog.cut_off) rather than pass the part for the whole.

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
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from flora import APITimeoutError, FloraError, NotFoundError, Technique, deadline
from teams.models import SecretUnavailable
from teams.services import NoConnection, check_connection, get_connection, interactive_client
from techniques.problems import CatalogUnavailable, Problem, TechniqueGone, problem_from

if TYPE_CHECKING:
    from flora import Flora
    from teams.models import FloraConnection, Team

__all__ = [
    "MEDIA_FILTERS",
    "PAGE_SIZE",
    "WALK_PAGES",
    "Catalog",
    "TechniqueResult",
    "forget_technique",
    "full_catalog",
    "get_technique",
    "interactive_client",
    "is_valid_technique_id",
    "resolve_workspace",
    "workspace_choices",
]

# A grid of 12 fills rows of 2, 3 and 4 cards evenly.
PAGE_SIZE = 12
# The "last good" copy outlives the fresh one by far: it only serves while FLORA is down.
LAST_GOOD_TTL = int(timedelta(days=7).total_seconds())
MAX_QUERY_LENGTH = 200
# The walk: FLORA's largest page, and a cap so that a huge (or looping) catalog stays bounded.
WALK_PAGE_LIMIT = 100
WALK_PAGES = 20
# A walk cut short by a slow or failing FLORA is kept this long (seconds) at most.
CUT_OFF_TTL = 30
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


@dataclass(frozen=True)
class Catalog:
    techniques: list[Technique]
    fetched_at: datetime
    # Why the list is shorter than FLORA's catalog: "" (it is not), "pages" (more than
    # WALK_PAGES pages), "deadline" (FLORA too slow), "error" (FLORA failed on a later page).
    cut_off: str = ""
    cut_off_message: str = ""
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


def full_catalog(team: Team, *, workspace_id: str) -> Catalog:
    """Every technique of the team in a workspace, walked page by page (GET /techniques), cached.

    Search, filters, sort and "Load more" all work on this one list (techniques.listing),
    so they cover the whole catalog and a keystroke costs no FLORA call once it is cached.
    Raises NoConnection (teams.services) when the team is not set up, CatalogUnavailable
    when FLORA fails on the first page and no copy is cached.
    """
    connection = get_connection(team)
    key = _cache_key(connection, "catalog", workspace_id)
    entry = cache.get(key)
    if entry is not None:
        return _catalog_from(entry)
    try:
        found, cut_off, cut_error = _walk(interactive_client(team), workspace_id)
    except (FloraError, SecretUnavailable) as exc:
        problem = problem_from(connection, exc)
        last_good = cache.get(key + ":last-good")
        if last_good is not None:
            return _catalog_from(last_good, problem)
        raise CatalogUnavailable(problem) from exc
    now = timezone.now()
    entry = {
        "techniques": [t.model_dump(mode="json") for t in found],
        "fetched_at": now.isoformat(),
        "cut_off": cut_off,
        "cut_off_message": problem_from(connection, cut_error).message if cut_error else "",
    }
    if cut_off in ("deadline", "error"):
        # A slow or failing FLORA: keep the part briefly (the next keystroke must not walk
        # again for 8 s), and never let it replace a complete last good copy.
        if settings.FLORA_CATALOG_TTL > 0:
            cache.set(key, entry, min(settings.FLORA_CATALOG_TTL, CUT_OFF_TTL))
        cache.add(key + ":last-good", entry, LAST_GOOD_TTL)
    else:
        _store(key, entry)
    if settings.FLORA_CATALOG_TTL > 0:
        # The list carries each technique's full schema: opening one from the catalog
        # then costs no FLORA call.
        cache.set_many(
            {
                _cache_key(connection, "technique", t.technique_id): _technique_entry(t, now)
                for t in found
                if is_valid_technique_id(t.technique_id)
            },
            settings.FLORA_CATALOG_TTL,
        )
    return _catalog_from(entry)


def _walk(client: Flora, workspace_id: str) -> tuple[list[Technique], str, FloraError | None]:
    """FLORA's pages, in order, within one deadline for the whole walk.

    Returns the techniques (each id once: pages that shift under the walk may repeat one),
    why the walk stopped early ("" when it reached the end, "pages", "deadline" or "error")
    and the error that stopped it. A failure on the first page is raised.
    """
    found: dict[str, Technique] = {}
    budget = settings.FLORA_PAGE_DEADLINE
    started = time.monotonic()
    cursor: str | None = None
    seen: set[str] = set()
    # Each call keeps its own deadline too; nested deadlines keep the earliest.
    with deadline(budget):
        for number in range(WALK_PAGES):
            if number and time.monotonic() - started >= budget:
                return list(found.values()), "deadline", None
            try:
                # GET /techniques?workspace_id=&limit=100&cursor=
                page = client.techniques.list(
                    workspace_id=workspace_id, limit=WALK_PAGE_LIMIT, cursor=cursor
                )
            except FloraError as exc:
                if not number:
                    raise
                reason = "deadline" if isinstance(exc, APITimeoutError) else "error"
                return list(found.values()), reason, exc
            for technique in page.items:
                found.setdefault(technique.technique_id, technique)
            if not page.has_next_page() or page.next_cursor in seen:
                return list(found.values()), "", None
            cursor = page.next_cursor
            seen.add(cursor)
    return list(found.values()), "pages", None


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


def _catalog_from(entry: dict[str, Any], problem: Problem | None = None) -> Catalog:
    return Catalog(
        techniques=[Technique.model_validate(t) for t in entry["techniques"]],
        fetched_at=datetime.fromisoformat(entry["fetched_at"]),
        cut_off=str(entry.get("cut_off") or ""),
        cut_off_message=str(entry.get("cut_off_message") or ""),
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
