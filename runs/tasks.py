"""Background work, run by `manage.py db_worker` (django-tasks, database backend).

Each task is a thin wrapper around a plain function that tests call directly; every unit is
small, idempotent and claims its work atomically, so several workers never double it.

This is the one module of runs that queues work: it imports the modules that do the work,
and none of them imports it. Follow-up work is otherwise picked up by the periodic jobs
(runs.apps), which claim what is due.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from runs import keeping, reconcile, refresh, sweep, sync, tallies, thumbnails
from runs.jobs import savepoint
from runs.models import OutputKeepStatus, RunStatus, WebhookDelivery
from runs.submit import SubmitOutcome
from uploads import thumbnails as upload_thumbnails

logger = logging.getLogger(__name__)

# Copies of output files (runs.keeping) have a queue of their own, served by a worker of its
# own under `make run` (bin/serve.py): a FLORA file server that drips can then hold up other
# copies for at most the download's rate-floor grace, and never a run's status, a sweep or a
# reconciliation. A single `manage.py db_worker` serves both queues.
OUTPUTS_QUEUE = "outputs"
# The first reconcile attempt waits a little: a create that timed out may still be landing.
CHECK_DELAY_SECONDS = 10


@task(queue_name=OUTPUTS_QUEUE)
def keep_outputs(run_pk: int) -> None:
    """Copy a completed run's media outputs into our storage (issue: outputs kept)."""
    outcome = keeping.keep_run_outputs(run_pk)
    if outcome.get(OutputKeepStatus.KEPT):
        thumbs_soon(run_pk)


# Thumbnails are made on the outputs queue too: they follow a copy (and read it back from
# storage), and their CPU never delays a run's status, a sweep or a reconciliation.
@task(queue_name=OUTPUTS_QUEUE)
def make_thumbnails(run_pk: int) -> None:
    """Make the thumbnails of a run's newly kept images (runs.thumbnails)."""
    thumbnails.make_run_thumbnails(run_pk)


@task(queue_name=OUTPUTS_QUEUE)
def make_due_thumbnails() -> None:
    """Thumbnails still missing: a lost task, a storage error to retry, older outputs, and
    uploads' (uploads.thumbnails: the gallery shows them too)."""
    thumbnails.make_due_thumbnails()
    upload_thumbnails.make_due_upload_thumbnails()


@task()
def refresh_run(run_pk: int) -> None:
    """Ask FLORA about one run now (after a webhook, or when nobody is watching it)."""
    refresh.refresh_in_background(run_pk)


@task()
def reconcile_run(run_pk: int) -> None:
    """Find the FLORA run behind a create call whose answer never arrived."""
    reconcile.reconcile(run_pk)


@task()
def reconcile_runs() -> None:
    """Reconcile every run whose create call's outcome is still unknown."""
    reconcile.reconcile_all()


@task()
def sweep_runs() -> None:
    """Refresh every in-flight run whose next refresh is overdue; flag runs that never end."""
    sweep.sweep()


@task()
def sync_team_history(team_pk: int) -> None:
    """Import runs started outside the dashboard with the team's key."""
    sync.sync_team(team_pk)


@task()
def sync_all_teams() -> None:
    """Enqueue a history sync for every team with a FLORA connection."""
    sync_all()


@task(queue_name=OUTPUTS_QUEUE)
def retry_keeping_outputs() -> None:
    """Retry copies of outputs that failed or were never attempted (worker restarts)."""
    if keeping.retry_due_outputs():
        # Copies this tick kept are thumbnailed at once, not at the next runs.thumbs tick.
        make_due_thumbnails.enqueue()


@task()
def prune_webhook_deliveries() -> None:
    """Forget webhook delivery ids long after FLORA stopped retrying them (days, not hours)."""
    WebhookDelivery.objects.filter(received_at__lt=timezone.now() - timedelta(days=30)).delete()


@task()
def compact_run_tallies() -> None:
    """Fold the history tallies' delta rows (runs.tallies), so reads sum a few rows a key."""
    while tallies.compact() >= tallies.COMPACT_BATCH:
        pass  # a backlog (after a burst of writes): the next batch at once


def sync_all() -> int:
    """Enqueue one history sync per team that can talk to FLORA; returns how many."""
    enqueued = 0
    for team_pk, slug in sync.syncable_teams():
        try:
            with savepoint():
                sync_team_history.enqueue(team_pk)
        except Exception:
            logger.exception("Could not queue the history sync of team %s", slug)
            continue
        enqueued += 1
    return enqueued


def reconcile_soon(outcome: SubmitOutcome) -> None:
    """After a submission: a first reconcile, a moment later, of each run whose create call's
    outcome is unknown (the periodic reconcile would get there too, within 15 s)."""
    if outcome.already_submitted:
        return
    for run in outcome.runs:
        if run.status == RunStatus.CHECKING:
            transaction.on_commit(lambda pk=run.pk: _reconcile_later(pk))


def _reconcile_later(run_pk: int) -> None:
    run_after = timezone.now() + timedelta(seconds=CHECK_DELAY_SECONDS)
    reconcile_run.using(run_after=run_after).enqueue(run_pk)


def thumbs_soon(run_pk: int) -> None:
    """Queue a run's thumbnails; a failure to queue is left to the periodic runs.thumbs job."""
    try:
        with savepoint():
            make_thumbnails.enqueue(run_pk)
    except Exception:
        logger.exception("Could not queue the thumbnails of run %s", run_pk)


def keep_waiting_outputs(sender: Any, *, run_pk: int, **kwargs: Any) -> None:
    """runs.state.outputs_waiting: copy the run's media outputs now, not at the next retry."""
    keep_outputs.enqueue(run_pk)
