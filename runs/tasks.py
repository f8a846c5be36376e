"""Background work, run by `manage.py db_worker` (django-tasks, database backend).

Each task is a thin wrapper around a plain function that tests call directly; every unit is
small, idempotent and claims its work atomically, so several workers never double it.
"""

from __future__ import annotations

from django_tasks import task

# Copies of output files (runs.keeping) have a queue of their own, served by a worker of its
# own under `make run` (bin/serve.py): a FLORA file server that drips can then hold up other
# copies for at most the download's rate-floor grace, and never a run's status, a sweep or a
# reconciliation. A single `manage.py db_worker` serves both queues.
OUTPUTS_QUEUE = "outputs"


@task(queue_name=OUTPUTS_QUEUE)
def keep_outputs(run_pk: int) -> None:
    """Copy a completed run's media outputs into our storage (issue: outputs kept)."""
    from runs.keeping import keep_run_outputs

    keep_run_outputs(run_pk)


@task()
def refresh_run(run_pk: int) -> None:
    """Ask FLORA about one run now (after a webhook, or when nobody is watching it)."""
    from runs.refresh import refresh_in_background

    refresh_in_background(run_pk)


@task()
def reconcile_run(run_pk: int) -> None:
    """Find the FLORA run behind a create call whose answer never arrived."""
    from runs.reconcile import reconcile

    reconcile(run_pk)


@task()
def reconcile_runs() -> None:
    """Reconcile every run whose create call's outcome is still unknown."""
    from runs.reconcile import reconcile_all

    reconcile_all()


@task()
def sweep_runs() -> None:
    """Refresh every in-flight run whose next refresh is overdue; flag runs that never end."""
    from runs.refresh import sweep

    sweep()


@task()
def sync_team_history(team_pk: int) -> None:
    """Import runs started outside the dashboard with the team's key."""
    from runs.sync import sync_team

    sync_team(team_pk)


@task()
def sync_all_teams() -> None:
    """Enqueue a history sync for every team with a FLORA connection."""
    from runs.sync import sync_all

    sync_all()


@task(queue_name=OUTPUTS_QUEUE)
def retry_keeping_outputs() -> None:
    """Retry copies of outputs that failed or were never attempted (worker restarts)."""
    from runs.keeping import retry_due_outputs

    retry_due_outputs()


@task()
def prune_webhook_deliveries() -> None:
    """Forget webhook delivery ids long after FLORA stopped retrying them (days, not hours)."""
    from datetime import timedelta

    from django.utils import timezone

    from runs.models import WebhookDelivery

    WebhookDelivery.objects.filter(received_at__lt=timezone.now() - timedelta(days=30)).delete()
