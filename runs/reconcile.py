"""Resolving create calls whose outcome is unknown, without ever starting a run twice.

A run is ``checking`` when its create call timed out, lost its connection, got a 5xx or a
garbled answer, or FLORA said the key was already used (409). A run still ``submitting``
after SUBMITTING_GRACE was left by a request that died mid-way; it is treated the same.

The choice, per pass (the periodic job "runs.reconcile" every 15 s, and one task queued by
the submission itself):

1. Look first. ``GET /technique-runs?technique_id=`` (newest first) for a run of the same
   technique, created around the submission, in one of the team's workspaces, that no row
   of the team is linked to. Found: link it (``apply_remote``). Reading has no side effect,
   and in the common case (the run landed, its answer was lost) it settles everything
   without a second create call.
2. Not there, and the submission is at least RETRY_CREATE_AFTER old (long past the create's
   own timeout, so the first request is no longer in flight): send the create again with the
   SAME idempotency key and body. FLORA then either starts the run the person asked for
   (the first request never arrived; charged once), hands back the original run (FLORA's
   docs: same key, same body, same answer), or answers 409/422 ("already have it"), which
   proves it landed: the row keeps waiting for it to show in the history. A definitive
   refusal (402, 400, ...) makes the row ``failed_to_start`` with FLORA's reason.
3. Deadlines. Unconfirmed after RECONCILE_DEADLINE (FLORA never answered usefully):
   ``failed_to_start`` and the person may try again with a new intent key. Confirmed by a
   409 but never found: we keep looking for CONFIRMED_DEADLINE (FLORA's idempotency window),
   then stop with a message that says to check FLORA before retrying.

A new key is never used here. Each pass claims the row with a conditional UPDATE, so any
number of workers can run this at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flora import AuthenticationError, Flora, FloraError, RunListItem
from flora import Run as RemoteRun
from florasite.lib.flora_words import Refusal
from runs.callbacks import callback_url_for
from runs.columns import fits
from runs.jobs import savepoint
from runs.models import Run, RunStatus
from runs.outcomes import CREATE_ERRORS, create_failure, create_remote, with_outputs
from runs.state import apply_remote, failed_to_start, technique_key
from teams.models import FloraConnection, SecretUnavailable
from teams.services import NoConnection, flora_client, mark_failing

__all__ = [
    "CONFIRMED_DEADLINE",
    "RECONCILE_DEADLINE",
    "RETRY_CREATE_AFTER",
    "SUBMITTING_GRACE",
    "reconcile",
    "reconcile_all",
]

logger = logging.getLogger(__name__)

SUBMITTING_GRACE = timedelta(minutes=2)
RETRY_CREATE_AFTER = timedelta(seconds=60)
RECONCILE_DEADLINE = timedelta(minutes=5)
CONFIRMED_DEADLINE = timedelta(hours=2)
# FLORA's clock and ours may disagree a little; a create may also be processed late.
WINDOW_BEFORE = timedelta(minutes=2)
WINDOW_AFTER = timedelta(minutes=5)
CLAIM_FOR = timedelta(seconds=120)
HISTORY_PAGE_SIZE = 50
MAX_HISTORY_PAGES = 4
BATCH_LIMIT = 100
# Error codes of checking rows whose intent key FLORA has confirmed receiving.
CONFIRMED_CODES = frozenset({"idempotency_duplicate", "idempotency_conflict"})
UNRESOLVED = (RunStatus.CHECKING, RunStatus.SUBMITTING)


def reconcile_all(now: datetime | None = None) -> int:
    """Reconcile every unresolved run, oldest first; returns how many were looked at."""
    now = now or timezone.now()
    rows = list(
        Run.objects.filter(flora_run_id__isnull=True)
        .filter(
            Q(status=RunStatus.CHECKING)
            | Q(status=RunStatus.SUBMITTING, created_at__lt=now - SUBMITTING_GRACE)
        )
        .order_by("created_at", "id")
        .values_list("pk", "code")[:BATCH_LIMIT]
    )
    for pk, code in rows:
        try:
            with savepoint():
                reconcile(pk, now=now)
        except Exception:
            # One broken row must not keep every other team's runs unresolved.
            logger.exception("Reconciling run %s failed; going on with the others", code)
    return len(rows)


def reconcile(run_pk: int, now: datetime | None = None) -> str:
    """One pass over one run; returns what happened (for logs and tests):
    linked | started | waiting | refused | gave_up | skipped."""
    now = now or timezone.now()
    claimed = (
        Run.objects.filter(pk=run_pk, flora_run_id__isnull=True, status__in=UNRESOLVED)
        .filter(Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now))
        .update(refresh_claimed_until=now + CLAIM_FOR)
    )
    if not claimed:
        return "skipped"
    try:
        run = Run.objects.select_related("team").get(pk=run_pk)
        if run.status == RunStatus.SUBMITTING and run.created_at > now - SUBMITTING_GRACE:
            return "skipped"  # its request may still be waiting for FLORA's answer
        outcome = _reconcile(run, now)
    finally:
        Run.objects.filter(pk=run_pk).update(refresh_claimed_until=None)
    logger.info("Reconciled run %s: %s", run_pk, outcome)
    return outcome


def _reconcile(run: Run, now: datetime) -> str:
    submitted = run.submitted_at or run.created_at
    try:
        client = flora_client(run.team)
    except (NoConnection, SecretUnavailable) as exc:
        logger.warning("Cannot reconcile run %s: %s", run.code, exc)
        return _wait_or_give_up(run, now)
    try:
        found = _find_in_history(client, run, submitted)
    except FloraError as exc:
        _note_failure(run, exc)
        return _wait_or_give_up(run, now)
    if found is not None:
        return _link(client, run, found)
    if now - submitted < RETRY_CREATE_AFTER:
        return "waiting"
    return _create_again(client, run, now)


def _find_in_history(client: Flora, run: Run, submitted: datetime) -> RunListItem | None:
    """The FLORA run behind this row, if the team's history shows exactly where it should."""
    earliest = submitted - WINDOW_BEFORE
    latest = submitted + WINDOW_AFTER
    allowed = set(_allowed_workspaces(run))
    candidates: list[RunListItem] = []
    # GET /technique-runs?technique_id=...&limit=50 (newest first)
    first = client.techniques.runs.list(technique_id=run.technique_id, limit=HISTORY_PAGE_SIZE)
    for number, page in enumerate(first.iter_pages(), start=1):
        older_than_window = False
        for item in page.items:
            created = item.created_datetime
            if created is None or created > latest:
                continue
            if created < earliest:
                older_than_window = True
                break
            if technique_key(item.technique.technique_id) != technique_key(run.technique_id):
                continue
            if allowed and item.workspace_id not in allowed:
                continue
            if not fits(Run, "flora_run_id", item.run_id):
                continue  # an id no row can hold could never be linked
            candidates.append(item)
        if older_than_window or number >= MAX_HISTORY_PAGES:
            break
    if not candidates:
        return None
    linked = set(
        Run.objects.filter(
            team=run.team, flora_run_id__in=[item.run_id for item in candidates]
        ).values_list("flora_run_id", flat=True)
    )
    free = [item for item in candidates if item.run_id not in linked]
    if not free:
        return None
    # Rows are reconciled oldest first, so each takes the free run nearest its submission.
    return min(free, key=lambda item: abs((item.created_datetime - submitted).total_seconds()))


def _allowed_workspaces(run: Run) -> list[str]:
    try:
        return list(run.team.connection.workspace_ids or [])
    except FloraConnection.DoesNotExist:
        return []


def _link(client: Flora, run: Run, item: RunListItem) -> str:
    # A completed row is never asked about again: without its outputs (fetched when the
    # history left them out), link it as still running for the refresh to finish.
    remote = with_outputs(
        client, item, run_id=item.run_id, technique_id=run.technique_id, label=f"run {run.code}"
    )
    if remote is None:
        remote = item.model_copy(update={"status": RunStatus.RUNNING.value})
    return "linked" if _apply(run, remote) else "waiting"


def _create_again(client: Flora, run: Run, now: datetime) -> str:
    try:
        remote = create_remote(client, run, callback_url_for(run.team))
    except CREATE_ERRORS as exc:
        failure = create_failure(exc)
        if failure.kind == "key_seen":
            # FLORA has this key: the run landed. Wait for it to show in the history.
            run.error_code = failure.code
            run.last_request_id = (getattr(exc, "request_id", None) or "")[:200]
            run.save(update_fields=["error_code", "last_request_id", "updated_at"])
            return _wait_or_give_up(run, now)
        if failure.kind in ("unknown", "not_started"):
            # Not started, or not known to be: ask again on a later pass.
            _note_failure(run, exc)
            return _wait_or_give_up(run, now)
        assert failure.refusal is not None
        if isinstance(exc, AuthenticationError):
            mark_failing(run.team.connection, exc)
        failed_to_start(run, failure.refusal, now=now)
        return "refused"
    return "started" if _apply(run, remote) else "waiting"


def _apply(run: Run, remote: RemoteRun) -> bool:
    """Link the row to FLORA's run; False when another process linked that run meanwhile."""
    run.error_code = ""
    try:
        with transaction.atomic():
            apply_remote(run, remote)
    except IntegrityError:
        return False  # look again later
    return True


def _note_failure(run: Run, error: Exception) -> None:
    logger.warning("Reconciling run %s: FLORA did not answer (%s)", run.code, error)
    if isinstance(error, AuthenticationError):
        mark_failing(run.team.connection, error)
    request_id = getattr(error, "request_id", None)
    if request_id:
        run.last_request_id = request_id[:200]
        run.save(update_fields=["last_request_id", "updated_at"])


def _wait_or_give_up(run: Run, now: datetime) -> str:
    submitted = run.submitted_at or run.created_at
    confirmed = run.error_code in CONFIRMED_CODES
    if now - submitted < (CONFIRMED_DEADLINE if confirmed else RECONCILE_DEADLINE):
        return "waiting"
    if confirmed:
        refusal = Refusal(
            "not_found_in_history",
            "FLORA confirmed receiving this run, but it never appeared in the team's FLORA "
            "history. Check the run in FLORA before trying again, so it is not charged twice.",
            0,
            run.last_request_id,
        )
    else:
        minutes = int(RECONCILE_DEADLINE.total_seconds() // 60)
        refusal = Refusal(
            "unconfirmed",
            "FLORA never confirmed starting this run: its answer was lost and the run did not "
            f"appear in the team's FLORA history within {minutes} minutes. You can try again.",
            0,
            run.last_request_id,
        )
    failed_to_start(run, refusal, now=now)
    return "gave_up"
