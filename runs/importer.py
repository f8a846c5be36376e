"""One page of a workspace's FLORA history, imported: rows for the runs the team has not got.

The history sync (runs.sync) walks the pages; this decides, item by item, what a run of the
page is to the team:

- known (a row has its FLORA id): left to the refresh machinery;
- possibly ours: a ``submitting`` / ``checking`` row of the same technique, created around
  the same time, has no FLORA id yet. The run is *held back* for the reconciler
  (runs.reconcile) to link, and the sync's watermark does not pass it;
- otherwise an outside run: imported with ``origin=external``. The unique constraint
  (team, flora_run_id) is the last word: an import that loses a race with our own
  submission linking the same FLORA run is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from flora import Flora, RunListItem
from runs.columns import clip, fits
from runs.jobs import savepoint
from runs.models import Run, RunOrigin, RunStatus
from runs.outcomes import with_outputs
from runs.state import apply_remote, moment, technique_key
from teams.models import Team

__all__ = ["PageResult", "flora_id", "import_page"]

logger = logging.getLogger(__name__)

# A FLORA run created this long before a `submitting`/`checking` row of ours may still be
# that row's run (clock skew between FLORA and us).
PENDING_LINK_SKEW = timedelta(minutes=5)


@dataclass
class PageResult:
    # Unix seconds of the page's newest and oldest runs, and of the oldest held-back one.
    newest: float | None = None
    oldest: float | None = None
    oldest_held: float | None = None
    unknown: int = 0  # runs not known before this page was read
    imported: list[str] = field(default_factory=list)  # codes of the new rows
    held_back: int = 0


@dataclass
class _PendingRow:
    technique_id: str
    created_at: datetime


def _pending_rows(team: Team) -> list[_PendingRow]:
    rows = Run.objects.filter(
        team=team,
        status__in=(RunStatus.SUBMITTING, RunStatus.CHECKING),
        flora_run_id__isnull=True,
    ).values_list("technique_id", "created_at")
    return [_PendingRow(technique_key(tid), created) for tid, created in rows]


def _held_back(item: RunListItem, created: datetime | None, pending: list[_PendingRow]) -> bool:
    if not pending:
        return False
    technique = technique_key(item.technique.technique_id)
    for row in pending:
        if row.technique_id != technique:
            continue
        if created is None or created >= row.created_at - PENDING_LINK_SKEW:
            return True
    return False


def flora_id(item: RunListItem) -> str:
    return str(item.run_id or item.technique_run_id or "")


def _seconds(item: RunListItem) -> float:
    """When the run was created, in unix seconds; 0 when FLORA did not say."""
    created = moment(item.created_at)
    return created.timestamp() if created else 0.0


def _import(team: Team, client: Flora, item: RunListItem, workspace_id: str) -> Run | None:
    """Create the row for one outside run; None when another writer linked it first, or
    when its ids are too long for a row (it could never be asked about again)."""
    run_id = flora_id(item)
    technique_id = item.technique.technique_id
    if not (fits(Run, "flora_run_id", run_id) and fits(Run, "technique_id", technique_id)):
        logger.warning(
            "History sync of team %s: FLORA run %.40s... has an id too long to keep; skipped",
            team.slug,
            run_id,
        )
        return None
    created = moment(item.created_at) or timezone.now()
    item_workspace = item.workspace_id if fits(Run, "workspace_id", item.workspace_id) else ""
    run = Run(
        team=team,
        origin=RunOrigin.EXTERNAL,
        technique_id=technique_id,
        technique_name=clip(Run, "technique_name", item.technique.name or technique_id),
        workspace_id=item_workspace or workspace_id,
        project_id=item.project_id if fits(Run, "project_id", item.project_id) else "",
        flora_run_id=run_id,
        status=RunStatus.PENDING,
        created_at=created,
        submitted_at=created,
        next_refresh_at=timezone.now(),
    )
    # A list item without outputs must not complete the run: once completed, outputs are
    # never recorded again. Without the full run, the row is left to the sweep.
    remote = with_outputs(
        client, item, run_id=run_id, technique_id=technique_id, label=f"outside run {run_id}"
    )
    try:
        with transaction.atomic():
            run.save()
            if remote is not None:
                apply_remote(run, remote)
    except IntegrityError:
        # Our own submission (or a concurrent sync) linked this FLORA run meanwhile.
        return None
    return run


def import_page(
    team: Team, client: Flora, items: list[RunListItem], workspace_id: str
) -> PageResult:
    """Import the unknown runs of one page."""
    # Pending rows first, then known ids: a row linked between the two reads is then seen
    # as known, and one linked before the first read too (see the module docstring).
    pending = _pending_rows(team)
    ids = [flora_id(item) for item in items]
    known = set(
        Run.objects.filter(team=team, flora_run_id__in=ids).values_list("flora_run_id", flat=True)
    )
    stamps = [_seconds(item) for item in items if item.created_at]
    result = PageResult(
        newest=max(stamps) if stamps else None, oldest=min(stamps) if stamps else None
    )
    for item in items:
        run_id = flora_id(item)
        if not run_id or run_id in known:
            continue
        result.unknown += 1
        if _held_back(item, moment(item.created_at), pending):
            result.held_back += 1
            stamp = _seconds(item)
            held = result.oldest_held
            result.oldest_held = stamp if held is None else min(held, stamp)
            continue
        try:
            with savepoint():
                run = _import(team, client, item, workspace_id)
        except Exception:
            # One odd run must not stop the import of the others.
            logger.exception("History sync of team %s: importing %.40s failed", team.slug, run_id)
            continue
        if run is not None:
            known.add(run_id)
            result.imported.append(run.code)
    return result
