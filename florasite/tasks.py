"""Housekeeping for the bookkeeping tables (workers, tasks, rate limits): nothing grows
forever or stays stuck."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from florasite import discards, periodic
from florasite.lib import ratelimit
from florasite.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# Finished background-task results are only useful for looking into recent failures.
TASK_RESULTS_KEPT = timedelta(days=7)
HEARTBEATS_KEPT = timedelta(days=1)
# Every worker beats every 5 s (florasite.management.commands.db_worker); one silent for a
# minute is dead.
WORKER_DEAD_AFTER = timedelta(seconds=60)


class WorkerDied(Exception):
    """Recorded on a task result whose worker stopped beating while it ran the task."""


def prune() -> dict[str, int]:
    workers = periodic.forget_stale_workers(HEARTBEATS_KEPT)
    results, _ = (
        DBTaskResult.objects.finished()
        .filter(finished_at__lt=timezone.now() - TASK_RESULTS_KEPT)
        .delete()
    )
    counts = {
        "worker heartbeats": workers,
        "task results": results,
        "rate-limit counters": ratelimit.prune(),
    }
    logger.info("Housekeeping removed %s", counts)
    return counts


def fail_orphaned_tasks(now: datetime | None = None) -> int:
    """Mark task results left RUNNING by a dead worker as FAILED; returns how many.

    A worker killed mid-task (SIGKILL, out of memory, a lost machine) leaves its task result
    RUNNING for ever. The worker running a task is the last of its worker_ids (each claim
    appends one); when that worker's heartbeat is older than WORKER_DEAD_AFTER, or gone, the
    result is failed with WorkerDied. Tasks started less than WORKER_DEAD_AFTER ago are left
    alone: their worker may not have beaten yet. The work itself is not redone here: tasks
    are idempotent and their periodic jobs pick up what was left (an output's claim, for one,
    runs out within a minute and runs.keeping.retry_due_outputs keeps it).
    """
    now = now or timezone.now()
    cutoff = now - WORKER_DEAD_AFTER
    alive = set(
        WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).values_list("worker_id", flat=True)
    )
    failed = 0
    running = DBTaskResult.objects.running().filter(started_at__lt=cutoff)
    for result in running.only("id", "task_path", "worker_ids"):
        worker = result.worker_ids[-1] if result.worker_ids else ""
        if worker in alive:
            continue
        message = (
            f"WorkerDied: worker {worker or '(unknown)'} stopped beating while running "
            f"this task (no heartbeat for {int(WORKER_DEAD_AFTER.total_seconds())} s); "
            "the task was marked failed by florasite's housekeeping.\n"
        )
        failed += DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            return_value=None,
            exception_class_path=f"{WorkerDied.__module__}.{WorkerDied.__qualname__}",
            traceback=message,
        )
        logger.warning(
            "Task %s (%s) failed: its worker %s died", result.pk, result.task_path, worker
        )
    return failed


@task()
def housekeeping() -> None:
    prune()


@task()
def delete_discarded_files() -> None:
    """The files of deleted teams, removed from storage (florasite.discards)."""
    discards.delete_discarded()


@task()
def fail_dead_workers_tasks() -> None:
    fail_orphaned_tasks()
