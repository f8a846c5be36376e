"""Asking FLORA how a run is doing: at most once per run per interval, whoever asks.

Three callers want fresh run states: the status fragment (every viewer of a run polls it),
the background sweep (runs nobody watches), and the webhook receiver (FLORA says a run
ended). They coordinate through one column, ``Run.refresh_claimed_until``:

* A caller *claims* a refresh with a conditional UPDATE that only matches while the column
  is empty or in the past. The database runs the UPDATE atomically, so of any number of
  callers, in any number of processes and machines, exactly one sees "1 row updated": it
  asks FLORA; every other caller just reads the row. This works the same on SQLite and
  PostgreSQL, with no lock held while FLORA answers.
* The claim is first a *lease* long enough to cover the FLORA call (its timeout plus a
  margin), so a slow answer cannot let a second caller in. When the answer is applied, the
  column becomes "start of this refresh + interval": the earliest moment anyone may ask
  again. A caller that dies mid-call blocks nobody for longer than its lease.
* A failed call pushes the column (and ``next_refresh_at``) out by an exponential backoff.

The claim's interval is the normal pace for every run, but the sweep only takes runs whose
``next_refresh_at`` has come, and for a run with a webhook on the way that is set later
(``runs.state.background_interval``): the sweep waits for the webhook, which makes the run
due at once, and catches up a late one. A watched page keeps the normal pace on purpose: its
viewer wants progress, not only the end, and its polls cost one call per interval however
many viewers there are. So the at-most-1.5-calls-per-run target with webhooks is for the
runs nobody watches, which is most of them (batches, API-started runs, closed tabs).

The answer is applied by ``runs.state.apply_remote`` on a row re-read under a row lock, so a
late answer can never overwrite a newer one.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from flora import AuthenticationError, FloraError
from flora import Run as RemoteRun
from florasite.lib.flora_words import log_label
from runs.models import IN_FLIGHT_STATUSES, Run, RunStatus
from runs.state import apply_remote, refresh_interval
from teams.models import FloraConnection, SecretUnavailable
from teams.services import NoConnection, flora_client, interactive_client, mark_failing

logger = logging.getLogger(__name__)

__all__ = [
    "REFRESHABLE_STATUSES",
    "backoff_for",
    "claim_refresh",
    "interval_for",
    "refresh_if_due",
    "refresh_in_background",
    "request_immediate_refresh",
]

# Only runs FLORA has acknowledged can be asked about: `submitting` and `checking` rows have
# no FLORA id yet, and finding it is the reconciler's job (runs.reconcile).
REFRESHABLE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)

# A run still unfinished after FLORA_RUN_STALE_AFTER is flagged and asked about rarely.
STALE_REFRESH_INTERVAL = timedelta(minutes=10)
# Failures back off exponentially from the run's interval up to this.
MAX_BACKOFF = timedelta(minutes=5)
# A viewer's poll waits for the call it wins: keep it short, and never retry inline (the
# next poll is the retry).
FRAGMENT_TIMEOUT = 5.0
# The worker can afford to wait longer for FLORA than a viewer can.
BACKGROUND_TIMEOUT = 10.0
# The lease covers the call's timeout plus this, so a slow answer never lets a second in.
LEASE_MARGIN = timedelta(seconds=2)


def interval_for(run: Run, now: datetime | None = None) -> timedelta:
    """How long after one refresh the next may start."""
    if run.stale:
        return STALE_REFRESH_INTERVAL
    return refresh_interval(run, now)


def backoff_for(
    run: Run, failures: int, now: datetime | None = None, retry_after: float | None = None
) -> timedelta:
    """Delay after the `failures`-th failure in a row: the interval doubled per failure."""
    delay = interval_for(run, now) * (2 ** min(failures, 16))
    if retry_after is not None and retry_after > 0:
        # FLORA asked for a pause (429 Retry-After): honour it, within reason.
        delay = max(delay, timedelta(seconds=retry_after))
    delay = min(delay, MAX_BACKOFF)
    if run.stale:
        delay = max(delay, STALE_REFRESH_INTERVAL)
    return delay


def claim_refresh(run: Run, *, timeout: float, now: datetime | None = None) -> datetime | None:
    """Try to become the one caller that asks FLORA about `run` now.

    Returns the lease's end (the claim's identity, used when applying the answer), or None
    when another caller holds the claim, the run was asked about less than an interval ago,
    or the run is not one FLORA can be asked about.
    """
    now = now or timezone.now()
    lease_until = now + max(interval_for(run, now), timedelta(seconds=timeout) + LEASE_MARGIN)
    won = (
        Run.objects.filter(pk=run.pk, status__in=REFRESHABLE_STATUSES, flora_run_id__isnull=False)
        .filter(Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lte=now))
        .update(refresh_claimed_until=lease_until)
    )
    if won != 1:
        return None
    # Keep the instance in step with the row: a later save() must not release the lease.
    run.refresh_claimed_until = lease_until
    return lease_until


def _ask_flora(run: Run, *, timeout: float, interactive: bool) -> RemoteRun:
    # One attempt within `timeout` in all (connect to last byte): the caller's schedule is
    # the retry policy. A viewer's poll also takes one of the team's few page slots.
    make = interactive_client if interactive else flora_client
    client = make(run.team).with_options(deadline=timeout, max_retries=0)
    # GET /techniques/{technique_id}/runs/{run_id}: status, progress, outputs.
    return client.techniques.runs.retrieve(run.flora_run_id, technique_id=run.technique_id)


def _refresh_claimed(
    run: Run,
    lease_until: datetime,
    started: datetime,
    timeout: float,
    *,
    interactive: bool = False,
) -> tuple[Run, bool]:
    """Ask FLORA about a run this caller has claimed; record the answer or the failure.

    Returns the run as it now is, and whether FLORA answered.
    """
    try:
        remote = _ask_flora(run, timeout=timeout, interactive=interactive)
    except AuthenticationError as exc:
        with contextlib.suppress(FloraConnection.DoesNotExist):
            mark_failing(run.team.connection, exc)
        return _record_failure(run, lease_until, exc), False
    except (FloraError, NoConnection, SecretUnavailable) as exc:
        return _record_failure(run, lease_until, exc), False

    with transaction.atomic():
        # Re-read under a row lock (SQLite: the IMMEDIATE transaction's write lock), so the
        # answer is applied to the newest state and can never move the run backwards. Only
        # the run's row (of=self): FOR UPDATE on the joined team row too would block every
        # insert that references the team (its foreign-key check takes FOR KEY SHARE) until
        # this commits, and with the budget's balance rows in between, deadlock submissions.
        fresh = Run.objects.select_for_update(of=("self",)).select_related("team").get(pk=run.pk)
        if fresh.refresh_claimed_until == lease_until:
            # Still ours: the next refresh may start one interval after this one did.
            fresh.refresh_claimed_until = started + interval_for(fresh, started)
        apply_remote(fresh, remote)
        if fresh.stale and fresh.is_in_flight:
            # apply_remote schedules by the normal interval; a stale run waits longer.
            fresh.next_refresh_at = timezone.now() + STALE_REFRESH_INTERVAL
            Run.objects.filter(pk=fresh.pk).update(next_refresh_at=fresh.next_refresh_at)
    if fresh.is_terminal and not run.is_terminal:
        logger.info("Run %s is %s (FLORA run %s)", fresh.code, fresh.status, fresh.flora_run_id)
    return fresh, True


def _record_failure(run: Run, lease_until: datetime, exc: BaseException) -> Run:
    """Keep the run as it is; try again after a backoff. Only the claim holder writes."""
    now = timezone.now()
    failures = run.refresh_failures + 1
    delay = backoff_for(run, failures, now, retry_after=getattr(exc, "retry_after", None))
    request_id = (getattr(exc, "request_id", None) or "")[:200]
    updates: dict[str, object] = {
        "refresh_failures": F("refresh_failures") + 1,
        "refresh_claimed_until": now + delay,
        "next_refresh_at": now + delay,
    }
    if request_id:
        updates["last_request_id"] = request_id
    Run.objects.filter(pk=run.pk, refresh_claimed_until=lease_until).update(**updates)
    logger.warning(
        "Refreshing run %s (FLORA run %s) failed: %s, request id %s; %d failure(s) in a row, "
        "next try in %.0f s",
        run.code,
        run.flora_run_id,
        log_label(exc),
        request_id or "none",
        failures,
        delay.total_seconds(),
    )
    run.refresh_failures = failures
    run.refresh_claimed_until = now + delay
    run.next_refresh_at = now + delay
    if request_id:
        run.last_request_id = request_id
    return run


def _is_refreshable(run: Run) -> bool:
    return run.status in REFRESHABLE_STATUSES and bool(run.flora_run_id)


def refresh_if_due(run: Run, *, timeout: float = FRAGMENT_TIMEOUT) -> Run:
    """The status fragment's refresh: ask FLORA if this caller wins the claim, else read.

    Returns the run as it now is (the same instance when nothing was asked).
    """
    if not _is_refreshable(run):
        return run
    now = timezone.now()
    if run.refresh_claimed_until is not None and run.refresh_claimed_until > now:
        # Someone asked less than an interval ago (or is asking): no write needed to know.
        return run
    lease_until = claim_refresh(run, timeout=timeout, now=now)
    if lease_until is None:
        return run
    return _refresh_claimed(run, lease_until, now, timeout, interactive=True)[0]


def refresh_in_background(run_pk: int, *, timeout: float = BACKGROUND_TIMEOUT) -> str:
    """Refresh one run from a worker (sweep, webhook). Returns what happened:

    "refreshed", "failed", "error", "claimed_elsewhere", "not_refreshable" or "missing".
    """
    run = Run.objects.select_related("team").filter(pk=run_pk).first()
    if run is None:
        return "missing"
    if not _is_refreshable(run):
        return "not_refreshable"
    now = timezone.now()
    lease_until = claim_refresh(run, timeout=timeout, now=now)
    if lease_until is None:
        return "claimed_elsewhere"
    try:
        _, answered = _refresh_claimed(run, lease_until, now, timeout, interactive=False)
    except Exception as exc:
        # An answer the row cannot take, or a bug: logged in full, and tried again after the
        # usual backoff rather than on every sweep.
        logger.exception("Refreshing run %s (FLORA run %s) failed", run.code, run.flora_run_id)
        _record_failure(run, lease_until, exc)
        return "error"
    return "refreshed" if answered else "failed"


def request_immediate_refresh(run: Run) -> bool:
    """Make the run due now (a webhook said it changed); True if it is still in flight.

    Clears the interval hold so that the next caller (the enqueued task, a viewer's poll or
    the sweep, whichever comes first) asks FLORA at once.
    """
    return bool(
        Run.objects.filter(pk=run.pk, status__in=IN_FLIGHT_STATUSES).update(
            refresh_claimed_until=None, next_refresh_at=timezone.now()
        )
    )
