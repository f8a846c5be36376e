"""Exports asked for, written, resumed and expired.

request_export (the web request) writes a queued row and nothing else; build (the worker)
claims it with a conditional UPDATE and a token, writes the CSV into a temporary file, chunk
by chunk, renewing the claim as it goes, and only then puts the whole file into the default
storage (storage.save): a failure leaves no file, only the row marked failed with the reason.
A worker killed mid-way leaves a claim that runs out; exports.resume queues the row again.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils import timezone

from exports.models import ACTIVE_STATUSES, Export, ExportStatus
from florasite import discards
from runs import history
from runs.csv_export import write_history_csv
from runs.forms import OUTSIDE, STATUS_CHOICES, HistoryFilterForm
from runs.models import Run
from teams.models import Membership, Team

logger = logging.getLogger(__name__)

# A worker renews its claim this often while it writes (and records the rows so far), and
# a claim not renewed for LEASE is a dead worker's.
LEASE = timedelta(seconds=60)
RENEW_EVERY_SECONDS = 2.0
# A queued export not picked up by then (a lost task) is queued again.
QUEUE_GRACE = timedelta(minutes=5)
# Interrupted this many times (a worker killed each time): failed, for a person to retry.
MAX_ATTEMPTS = 3
# Rows of finished exports are listed this long, then deleted with any file left.
ROWS_KEPT = timedelta(days=90)
MAX_QUERY_CHARS = 2000
FIELDS = ("status", "technique", "member", "workspace", "project", "date_from", "date_to")


class ExportRefused(Exception):
    """The request cannot become an export; the message says why, in words."""


class ClaimLost(Exception):
    """Another worker took the export over (this one was too slow), or it is gone."""


def keep_for() -> timedelta:
    return timedelta(days=settings.FLORASITE_EXPORT_KEEP_DAYS)


# -- asking -----------------------------------------------------------------------------------


def canonical_query(query: QueryDict, form: HistoryFilterForm | None = None) -> str:
    """The filters of a history query string, sorted, without empty values or paging, so
    that the same filters are the same text (one active export per team and text)."""
    errors = form.errors if form is not None else {}
    pairs = sorted(
        (name, value)
        for name in FIELDS
        if name not in errors
        for value in [query.get(name, "").strip()]
        if value
    )
    result = QueryDict(mutable=True)
    for name, value in pairs:
        result[name] = value
    return result.urlencode()


def filters_form(query: QueryDict, team: Team) -> HistoryFilterForm:
    """The history's filters, validated as the history validates them, without the queries
    that list the choices (history.summary_form): asking for an export costs the same
    whatever the team's size."""
    return history.summary_form(query, team)


def describe(form: HistoryFilterForm, team: Team) -> str:
    """The applied filters in words, as the history's form names them."""
    data = form.cleaned_data
    parts = []
    if data.get("status"):
        parts.append(str(dict(STATUS_CHOICES).get(data["status"], data["status"])))
    if technique := data.get("technique"):
        # The name its newest run recorded (one index walk), else the id.
        name = (
            Run.objects.filter(team=team, technique_id=technique)
            .order_by("-created_at", "-id")
            .values_list("technique_name", flat=True)
            .first()
        )
        parts.append(name or technique)
    if member := data.get("member"):
        outside = member == OUTSIDE
        parts.append("started outside the dashboard" if outside else f"started by {member}")
    if workspace := data.get("workspace"):
        names = dict(form.fields["workspace"].choices)
        parts.append(f"workspace {names.get(workspace, workspace)}")
    if data.get("project"):
        parts.append(f"project {data['project']}")
    start, end = data.get("date_from"), data.get("date_to")
    if start and end:
        parts.append(f"{start.isoformat()} to {end.isoformat()}")
    elif start:
        parts.append(f"from {start.isoformat()}")
    elif end:
        parts.append(f"until {end.isoformat()}")
    return " · ".join(parts)[:500] or "All runs"


def _existing(membership: Membership, query: str, intent: str) -> Export | None:
    exports = Export.objects.filter(team=membership.team)
    if intent:
        found = exports.filter(intent_key=intent).first()
        if found is not None:
            return found
    return exports.filter(query=query, status__in=ACTIVE_STATUSES).first()


def request_export(
    membership: Membership, *, raw_query: str, intent: str, base_url: str
) -> tuple[Export, bool]:
    """The export for this intent and these filters: (export, made now). An export of the
    same filters still queued or running is answered instead of a second one."""
    if len(raw_query) > MAX_QUERY_CHARS:
        raise ExportRefused("These filters are too long to export; clear some and try again.")
    intent = intent.strip()
    if len(intent) > 64:
        raise ExportRefused("This page is out of date; reload it and export again.")
    team = membership.team
    parsed = QueryDict(raw_query)
    form = filters_form(parsed, team)
    query = canonical_query(parsed, form)
    found = _existing(membership, query, intent)
    if found is not None:
        return found, False
    now = timezone.now()
    try:
        with transaction.atomic():
            export = Export.objects.create(
                team=team,
                requested_by=membership.user,
                query=query,
                description=describe(form, team),
                base_url=base_url[:300],
                intent_key=intent or None,
                created_at=now,
                claimed_until=now + QUEUE_GRACE,
            )
    except IntegrityError:
        # A second click won the race: the same intent, or the same filters now active.
        found = _existing(membership, query, intent)
        if found is None:
            raise
        return found, False
    return export, True


def retry(export: Export) -> Export:
    """A failed export, queued again (or the export of the same filters already active)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            Export.objects.filter(pk=export.pk, status=ExportStatus.FAILED).update(
                status=ExportStatus.QUEUED,
                attempts=0,
                error="",
                rows=None,
                finished_at=None,
                claimed_until=now + QUEUE_GRACE,
            )
    except IntegrityError:
        active = Export.objects.filter(
            team=export.team_id, query=export.query, status__in=ACTIVE_STATUSES
        ).first()
        if active is not None:
            return active
        raise
    export.refresh_from_db()
    return export


# -- writing ----------------------------------------------------------------------------------


def _claim(export_pk: int, now: datetime) -> str | None:
    token = uuid.uuid4().hex
    won = (
        Export.objects.filter(pk=export_pk, attempts__lt=MAX_ATTEMPTS)
        .filter(
            Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, claimed_until__lt=now)
        )
        .update(
            status=ExportStatus.RUNNING,
            claim_token=token,
            claimed_until=now + LEASE,
            attempts=F("attempts") + 1,
            started_at=now,
            rows=0,
        )
    )
    return token if won else None


@dataclass
class _Renewer:
    export_pk: int
    token: str
    last: float = 0.0

    def __call__(self, rows: int) -> None:
        if time.monotonic() - self.last < RENEW_EVERY_SECONDS:
            return
        self.last = time.monotonic()
        kept = Export.objects.filter(
            pk=self.export_pk, claim_token=self.token, status=ExportStatus.RUNNING
        ).update(claimed_until=timezone.now() + LEASE, rows=rows)
        if not kept:
            raise ClaimLost


_AGAIN = "Try again; if it keeps failing, tell an administrator."


def _words(exc: BaseException, stage: str) -> str:
    kind = type(exc).__name__
    if stage == "store":
        return f"The file could not be stored ({kind}). {_AGAIN}"
    if isinstance(exc, DatabaseError):
        return f"Reading the runs failed ({kind}). {_AGAIN}"
    return f"The export stopped with an error ({kind}). {_AGAIN}"


def build(export_pk: int) -> str:
    """Write one export (the worker's task); returns what became of it."""
    token = _claim(export_pk, timezone.now())
    if token is None:
        return "not claimed"  # written, being written, or gone
    export = Export.objects.select_related("team").get(pk=export_pk)
    renew = _Renewer(export_pk, token, last=time.monotonic())
    stage, name = "read", ""
    try:
        with tempfile.TemporaryFile() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            rows = write_history_csv(
                export.team, export.query, export.base_url, text, on_chunk=renew
            )
            text.flush()
            size = raw.tell()
            text.detach()
            raw.seek(0)
            renew.last = 0.0
            renew(rows)  # still ours before the upload
            stage = "store"
            name = default_storage.save(
                f"exports/{export.code}.csv", File(raw, name=f"{export.code}.csv")
            )
        now = timezone.now()
        done = Export.objects.filter(
            pk=export_pk, claim_token=token, status=ExportStatus.RUNNING
        ).update(
            status=ExportStatus.READY,
            file=name,
            rows=rows,
            size=size,
            error="",
            finished_at=now,
            expires_at=now + keep_for(),
            claimed_until=None,
        )
        if not done:
            raise ClaimLost
    except ClaimLost:
        if name:
            _delete_quietly(name)
        logger.warning("Export %s was taken over by another worker; copy dropped", export.code)
        return "claim lost"
    except Exception as exc:
        if name:
            _delete_quietly(name)
        logger.exception("Export %s failed while it was at stage %s", export.code, stage)
        Export.objects.filter(pk=export_pk, claim_token=token).update(
            status=ExportStatus.FAILED,
            error=_words(exc, stage)[:500],
            finished_at=timezone.now(),
            claimed_until=None,
        )
        return "failed"
    logger.info("Export %s ready: %s rows, %s bytes", export.code, rows, size)
    return "ready"


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:
        logger.exception("Could not delete the export file %s; delete it by hand", name)


# -- housekeeping -----------------------------------------------------------------------------


def due_for_resume(now: datetime | None = None) -> list[int]:
    """Exports whose task was lost or whose worker died: queued again (their pks returned,
    for the caller to enqueue); interrupted MAX_ATTEMPTS times: failed."""
    now = now or timezone.now()
    stalled = Export.objects.filter(status__in=ACTIVE_STATUSES, claimed_until__lt=now)
    again = []
    for pk, attempts in stalled.values_list("pk", "attempts")[:100]:
        this = Export.objects.filter(pk=pk, status__in=ACTIVE_STATUSES, claimed_until__lt=now)
        if attempts >= MAX_ATTEMPTS:
            this.update(
                status=ExportStatus.FAILED,
                error=(
                    f"The worker writing this export stopped {attempts} times before it "
                    "finished. Try again; if it keeps failing, tell an administrator."
                ),
                finished_at=now,
                claimed_until=None,
            )
            continue
        if this.update(status=ExportStatus.QUEUED, claimed_until=now + QUEUE_GRACE):
            again.append(pk)
    return again


def expire(now: datetime | None = None) -> dict[str, int]:
    """Delete the files of ready exports past their time (the rows stay, expired), and the
    rows of exports finished over ROWS_KEPT ago."""
    now = now or timezone.now()
    expired = 0
    due = Export.objects.filter(status=ExportStatus.READY, expires_at__lte=now)
    for pk, name in due.values_list("pk", "file")[:500]:
        try:
            if name:
                default_storage.delete(name)
        except Exception:
            # Left ready: the next pass tries again (downloads already answer "expired").
            logger.exception("Could not delete the expired export file %s", name)
            continue
        expired += Export.objects.filter(pk=pk, status=ExportStatus.READY).update(
            status=ExportStatus.EXPIRED, file=""
        )
    old = Export.objects.exclude(status__in=ACTIVE_STATUSES).filter(created_at__lt=now - ROWS_KEPT)
    removed = 0
    for pk, name in old.values_list("pk", "file")[:500]:
        if name:
            _delete_quietly(name)
        removed += Export.objects.filter(pk=pk).delete()[0]
    return {"expired": expired, "removed": removed}


def downloadable(export: Export, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        export.status == ExportStatus.READY
        and bool(export.file.name)
        and (export.expires_at is None or export.expires_at > now)
    )


def discard_team_files(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_delete of a Team: its export files, for the worker to delete. An export being
    written now finds its row gone and deletes its own file."""
    discards.discard_columns(Export.objects.filter(team=instance), "file")
