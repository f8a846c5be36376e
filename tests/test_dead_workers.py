"""Task results left RUNNING by a dead worker are marked failed (florasite.tasks)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from florasite import periodic
from florasite.models import WorkerHeartbeat
from florasite.tasks import WorkerDied, fail_orphaned_tasks

pytestmark = pytest.mark.django_db


def _running(*worker_ids: str, started: timedelta = timedelta(minutes=5)) -> DBTaskResult:
    return DBTaskResult.objects.create(
        task_path="runs.tasks.keep_outputs",
        status="RUNNING",
        backend_name="default",
        args_kwargs={"args": [1], "kwargs": {}},
        run_after=timezone.now(),
        started_at=timezone.now() - started,
        worker_ids=list(worker_ids),
    )


def test_a_running_task_of_a_dead_worker_is_marked_failed():
    now = timezone.now()
    periodic.beat("dead", now=now - timedelta(seconds=70))
    periodic.beat("live", now=now - timedelta(seconds=3))
    dead = _running("dead")
    gone = _running("pruned-long-ago")  # its heartbeat row is gone
    restarted = _running("live", "dead")  # the last worker to claim it is the one running it
    live = _running("dead", "live")
    young = _running("not-beaten-yet", started=timedelta(seconds=5))
    done = _running("dead")
    DBTaskResult.objects.filter(pk=done.pk).update(status="SUCCESSFUL", finished_at=now)

    assert fail_orphaned_tasks() == 3

    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert {statuses[r.pk] for r in (dead, gone, restarted)} == {"FAILED"}
    assert [statuses[r.pk] for r in (live, young, done)] == ["RUNNING", "RUNNING", "SUCCESSFUL"]
    dead.refresh_from_db()
    assert dead.finished_at is not None
    assert "worker dead stopped beating" in dead.traceback
    (error,) = dead.task_result.errors
    assert error.exception_class is WorkerDied
    # Done once: the next run finds nothing left.
    assert fail_orphaned_tasks() == 0


def test_it_runs_every_minute_as_a_periodic_job():
    job = periodic._JOBS["florasite.dead_workers"]
    assert job.every == timedelta(minutes=1)
    job.task.call()  # the task wrapper runs the plain function


@pytest.mark.django_db(transaction=True)
def test_a_worker_without_periodic_jobs_still_beats(monkeypatch):
    """Otherwise its running tasks would be taken for a dead worker's."""
    from florasite.management.commands import db_worker

    ticked: list[str] = []
    monkeypatch.setattr(periodic, "tick", lambda worker_id: ticked.append(worker_id))
    stop = threading.Event()

    def run() -> None:
        try:
            db_worker._ticker("quiet", stop, jobs=False)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        for _ in range(100):
            if WorkerHeartbeat.objects.filter(worker_id="quiet").exists():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert WorkerHeartbeat.objects.filter(worker_id="quiet").exists()
    assert ticked == []
