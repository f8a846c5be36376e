"""Housekeeping for the bookkeeping tables (workers, tasks, rate limits), so they stay small."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from florasite import periodic, ratelimit

logger = logging.getLogger(__name__)

# Finished background-task results are only useful for looking into recent failures.
TASK_RESULTS_KEPT = timedelta(days=7)
HEARTBEATS_KEPT = timedelta(days=1)


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


@task()
def housekeeping() -> None:
    prune()
