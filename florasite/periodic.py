"""Periodic jobs for the background workers, safe with any number of workers.

Apps register jobs in their AppConfig.ready() by the task object itself, so a job that does
not exist fails at start-up rather than when it is due. Every worker ticks every few
seconds, and for each due job exactly one worker wins a conditional UPDATE on
PeriodicJob.next_run_at and enqueues the job's task. A worker that dies leaves nothing
stranded: the next tick of any other worker finds the job due.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks.base import Task

from florasite.models import PeriodicJob, WorkerHeartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    task: Task  # a django-tasks Task taking no arguments


_JOBS: dict[str, Job] = {}


def register(name: str, every: timedelta, task: Task) -> None:
    if not isinstance(task, Task):
        raise TypeError(f"Periodic job {name!r}: expected a django-tasks Task, got {task!r}.")
    _JOBS[name] = Job(name=name, every=every, task=task)


def tick(worker_id: str = "", now: datetime | None = None) -> list[str]:
    """Enqueue every due job that this caller wins; returns the names it enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in _JOBS.values():
        # get_or_create copes with another worker creating the row at the same moment.
        PeriodicJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        won = PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.every, last_run_at=now, last_worker_id=worker_id[:64]
        )
        if won:
            job.task.enqueue()
            enqueued.append(job.name)
    return enqueued


def beat(worker_id: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id[:64],
        defaults={"last_seen_at": now, "hostname": socket.gethostname()[:255], "pid": os.getpid()},
    )


def last_heartbeat_age(now: datetime | None = None) -> float | None:
    """Seconds since the freshest worker heartbeat, or None when no worker ever beat."""
    now = now or timezone.now()
    latest = (
        WorkerHeartbeat.objects.order_by("-last_seen_at")
        .values_list("last_seen_at", flat=True)
        .first()
    )
    if latest is None:
        return None
    return max(0.0, (now - latest).total_seconds())


def forget_stale_workers(older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = WorkerHeartbeat.objects.filter(
        last_seen_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
