"""Import runs started outside the dashboard (FLORA's own app, scripts) with the team's key.

``GET /technique-runs`` lists a workspace's runs newest first. Each sync reads from the top
until it reaches runs older than what the previous sync already examined (a per-workspace
*watermark*, minus a safety margin), a bounded number of pages at most. Runs it does not
know (by FLORA run id) are imported with ``origin=external``; runs it knows are left to the
refresh machinery (runs.refresh), which keeps them up to date.

Why a watermark and not "stop at the first known run": dashboard runs and outside runs
interleave, so a known run near the top says nothing about the outside runs below it.

Each page is imported by runs.importer, which also holds back FLORA runs that may be ours
(a create call still in flight or unresolved) for the reconciler to link; the watermark does
not pass them, so a later sync imports them if they turn out not to be ours.

The very first sync of a workspace reads at most the bounded number of pages and leaves a
*backfill* cursor; every later sync reads a page or so further down until the end of the
history, so a long history arrives gradually instead of in one long request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from flora import AuthenticationError, BadRequestError, Flora, FloraError, RunListItem
from florasite.lib.flora_words import describe_error
from runs.importer import PageResult, import_page
from teams.models import ConnectionStatus, FloraConnection, SecretUnavailable, Team
from teams.services import NoConnection, flora_client, interactive_client, mark_failing

logger = logging.getLogger(__name__)

__all__ = ["SyncReport", "sync_team", "syncable_teams"]

PAGE_SIZE = 100
# Pages read from the top of one workspace's history per sync (the periodic sync runs every
# 2 minutes, so 500 runs per workspace per sync is far beyond any real team's pace).
MAX_PAGES = 5
# Pages of older history read per sync after the first one (see "backfill" above).
BACKFILL_PAGES = 2
# Runs this much older than the watermark are examined again: FLORA's list may show a run a
# moment after its created_at, and clocks differ.
WATERMARK_MARGIN = timedelta(minutes=10)
# One sync per team at a time; the lock expires on its own if a worker dies mid-sync.
LOCK_SECONDS = 300
STATE_KEY = "runs:sync:v1:{team}:{workspace}"
LOCK_KEY = "runs:sync-lock:v1:{team}"
# Timeouts: a sync is background work, but the "Refresh from FLORA" button waits for it.
SYNC_TIMEOUT = 15.0


@dataclass
class SyncReport:
    team_slug: str = ""
    imported: list[str] = field(default_factory=list)  # codes of the new rows
    held_back: int = 0
    pages: int = 0
    workspaces: int = 0
    error: str = ""
    request_id: str = ""
    busy: bool = False  # another sync of this team was running

    @property
    def ok(self) -> bool:
        return not self.error and not self.busy


def _load_state(team: Team, workspace_id: str) -> dict[str, Any]:
    state = cache.get(STATE_KEY.format(team=team.pk, workspace=workspace_id))
    return state if isinstance(state, dict) else {}


def _save_state(team: Team, workspace_id: str, state: dict[str, Any]) -> None:
    cache.set(STATE_KEY.format(team=team.pk, workspace=workspace_id), state, timeout=None)


def _import_page(
    team: Team, client: Flora, items: list[RunListItem], workspace_id: str, report: SyncReport
) -> PageResult:
    result = import_page(team, client, items, workspace_id)
    report.imported += result.imported
    report.held_back += result.held_back
    return result


def _sync_workspace(
    team: Team,
    client: Flora,
    workspace_id: str,
    report: SyncReport,
    *,
    max_pages: int,
    backfill_pages: int,
) -> None:
    state = _load_state(team, workspace_id)
    watermark: float | None = state.get("watermark")
    cutoff = None if watermark is None else watermark - WATERMARK_MARGIN.total_seconds()

    # Top pass: from the newest run down to the watermark.
    newest: float | None = None
    oldest_held: float | None = None
    cursor: str | None = None
    reached = False
    last_unknown = 0
    for _ in range(max_pages):
        # GET /technique-runs?workspace_id=...&limit=...&cursor=...
        page = client.techniques.runs.list(
            workspace_id=workspace_id, limit=PAGE_SIZE, cursor=cursor
        )
        report.pages += 1
        result = _import_page(team, client, page.items, workspace_id, report)
        last_unknown = result.unknown
        if result.newest is not None:
            newest = result.newest if newest is None else max(newest, result.newest)
        if result.oldest_held is not None:
            held = result.oldest_held
            oldest_held = held if oldest_held is None else min(oldest_held, held)
        if not page.has_next_page():
            reached = True
            break
        if cutoff is not None and result.oldest is not None and result.oldest < cutoff:
            reached = True
            break
        cursor = page.next_cursor
    if not reached and cursor and last_unknown:
        # The page bound was hit while still finding new runs (the first sync, or a long
        # outage): later syncs continue below the last page read, down to the end.
        state["backfill"] = cursor

    if oldest_held is not None:
        # Never past a held-back run, so the next syncs look at it again until it is linked.
        state["watermark"] = oldest_held - 1
    elif newest is not None:
        state["watermark"] = newest if watermark is None else max(watermark, newest)

    # Backfill: older history, a few pages per sync.
    backfill = state.get("backfill")
    for _ in range(backfill_pages if backfill else 0):
        try:
            # GET /technique-runs?workspace_id=...&cursor=... (older history)
            page = client.techniques.runs.list(
                workspace_id=workspace_id, limit=PAGE_SIZE, cursor=backfill
            )
        except BadRequestError as exc:
            # A cursor FLORA no longer accepts: drop it rather than fail every sync.
            logger.warning("Backfill of %s/%s dropped: %s", team.slug, workspace_id, exc)
            backfill = None
            break
        report.pages += 1
        _import_page(team, client, page.items, workspace_id, report)
        backfill = page.next_cursor if page.has_next_page() else None
        if backfill is None:
            break
    if backfill:
        state["backfill"] = backfill
    else:
        state.pop("backfill", None)
    _save_state(team, workspace_id, state)


def sync_team(
    team_pk: int,
    *,
    max_pages: int = MAX_PAGES,
    backfill_pages: int = BACKFILL_PAGES,
    interactive: bool = False,
) -> SyncReport:
    """Import the team's outside runs from each of its workspaces. Never raises for FLORA
    trouble: the report says what went wrong (the button shows it, the worker logs it).

    `interactive`: a person waits (the Sync button): page deadlines, the team's page slots.
    """
    team = Team.objects.select_related("connection").filter(pk=team_pk).first()
    report = SyncReport(team_slug=team.slug if team else "")
    if team is None:
        report.error = "This team no longer exists."
        return report
    lock = LOCK_KEY.format(team=team.pk)
    if not cache.add(lock, timezone.now().isoformat(), timeout=LOCK_SECONDS):
        report.busy = True
        return report
    try:
        if interactive:
            client = interactive_client(team)
        else:
            client = flora_client(team).with_options(deadline=SYNC_TIMEOUT, max_retries=1)
        workspaces = list(team.connection.workspace_ids)
        for workspace_id in workspaces:
            _sync_workspace(
                team,
                client,
                workspace_id,
                report,
                max_pages=max_pages,
                backfill_pages=backfill_pages,
            )
            report.workspaces += 1
    except (NoConnection, SecretUnavailable) as exc:
        report.error = str(exc)
    except AuthenticationError as exc:
        mark_failing(team.connection, exc)
        report.error = describe_error(exc)
        report.request_id = exc.request_id or ""
    except FloraError as exc:
        report.error = describe_error(exc)
        report.request_id = getattr(exc, "request_id", None) or ""
    except Exception:
        # A bug, or an answer the database refused: logged in full; the worker and the
        # button carry on (the periodic sync of every other team is a task of its own).
        logger.exception("History sync of team %s failed", team.slug)
        report.error = "An unexpected error stopped the sync; it has been logged."
    finally:
        cache.delete(lock)
    if report.error:
        logger.warning(
            "History sync of team %s stopped: %s (request id %s)",
            team.slug,
            report.error,
            report.request_id or "none",
        )
    elif report.imported or report.held_back:
        logger.info(
            "History sync of team %s: %d run(s) imported, %d held back for the reconciler, "
            "%d page(s) read",
            team.slug,
            len(report.imported),
            report.held_back,
            report.pages,
        )
    return report


def syncable_teams() -> list[tuple[int, str]]:
    """(pk, slug) of every team whose history can be synced (runs.tasks queues each).

    Teams whose key FLORA refused are skipped until an admin sets a new key (which resets
    the connection's status): asking again would only be refused again.
    """
    return [
        (connection.team_id, connection.team.slug)
        for connection in FloraConnection.objects.exclude(api_key_encrypted="")
        .exclude(status=ConnectionStatus.FAILING)
        .select_related("team")
        .only("team_id", "workspace_ids", "team__slug")
        if connection.workspace_ids
    ]
