"""The background worker's part: the sweep refreshes runs nobody watches, until they end."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks import default_task_backend

from florasite import periodic
from runs import refresh, sweep, tasks
from runs.models import Run, RunStatus
from tests.runs.live_helpers import (
    dashboard_run,
    let_interval_pass,
    plain_run,
    queued_writers,
)

pytestmark = pytest.mark.django_db


def test_the_sweep_refreshes_overdue_runs_until_they_end(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    for _ in range(40):
        let_interval_pass(run)
        report = sweep.sweep()
        assert report.count("refreshed") == 1
        if Run.objects.get(pk=run.pk).is_terminal:
            break
        clock.advance(2)

    row = Run.objects.get(pk=run.pk)
    assert row.status == RunStatus.COMPLETED
    assert row.next_refresh_at is None
    # Once it has ended, the sweep leaves it alone.
    let_interval_pass(run)
    assert sweep.sweep().outcomes == {}


def test_the_sweep_skips_runs_that_are_not_due(team_a, bob, flora):
    run = dashboard_run(team_a, bob)  # just refreshed: next refresh in 2 s
    flora.reset()

    report = sweep.sweep()

    assert report.outcomes == {}
    assert flora.get_run == 0
    assert Run.objects.get(pk=run.pk).next_refresh_at > timezone.now()


def test_the_sweep_skips_runs_a_viewer_is_refreshing(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    let_interval_pass(run)
    assert refresh.claim_refresh(Run.objects.get(pk=run.pk), timeout=5) is not None  # a viewer
    flora.reset()

    assert sweep.sweep().outcomes == {}
    assert flora.get_run == 0


def test_a_run_whose_refresher_died_is_picked_up_when_its_lease_ends(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    # A worker claimed the run and died: the lease is left behind, the refresh overdue.
    Run.objects.filter(pk=run.pk).update(
        refresh_claimed_until=timezone.now() + timedelta(seconds=12),
        next_refresh_at=timezone.now() - timedelta(seconds=30),
    )
    assert sweep.sweep().outcomes == {}

    Run.objects.filter(pk=run.pk).update(
        refresh_claimed_until=timezone.now() - timedelta(seconds=1)
    )
    clock.advance_past(run.flora_run_id)
    report = sweep.sweep()

    assert report.count("refreshed") == 1
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


def test_runs_never_refreshed_are_due(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    Run.objects.filter(pk=run.pk).update(next_refresh_at=None, refresh_claimed_until=None)
    assert sweep.sweep().count("refreshed") == 1


def test_the_sweep_leaves_submitting_and_checking_runs_to_the_reconciler(team_a, bob, flora):
    plain_run(team_a, bob, status=RunStatus.SUBMITTING)
    plain_run(team_a, bob, status=RunStatus.CHECKING)

    assert sweep.sweep().outcomes == {}
    assert flora.get_run == 0


def test_the_sweep_is_bounded(team_a, bob, flora):
    runs = [dashboard_run(team_a, bob, question=f"Question {i}") for i in range(5)]
    for run in runs:
        let_interval_pass(run)
    flora.reset()

    report = sweep.sweep(batch=3)

    assert report.count("refreshed") == 3
    assert flora.get_run == 3
    # The rest go in the next sweep.
    assert sweep.sweep(batch=3).count("refreshed") == 2


def test_the_sweep_stops_at_its_time_budget(team_a, bob, flora):
    for i in range(3):
        let_interval_pass(dashboard_run(team_a, bob, question=f"Q{i}"))
    report = sweep.sweep(budget_seconds=0)
    assert report.stopped_early
    assert report.outcomes == {}


def test_runs_unfinished_after_the_limit_are_flagged_stale(team_a, bob, flora, settings):
    settings.FLORA_RUN_STALE_AFTER = 7200
    old = dashboard_run(team_a, bob, question="Old")
    young = dashboard_run(team_a, bob, question="Young")
    Run.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3))
    stuck = plain_run(
        team_a,
        bob,
        status=RunStatus.CHECKING,
        created_at=timezone.now() - timedelta(hours=5),
    )
    finished = plain_run(team_a, bob, created_at=timezone.now() - timedelta(days=3))

    report = sweep.sweep()

    assert sorted(report.flagged_stale) == sorted([old.code, stuck.code])
    assert Run.objects.get(pk=old.pk).stale
    assert Run.objects.get(pk=stuck.pk).stale
    assert not Run.objects.get(pk=young.pk).stale
    assert not Run.objects.get(pk=finished.pk).stale
    # A stale run is asked about every ten minutes, not every few seconds.
    row = Run.objects.get(pk=old.pk)
    assert row.next_refresh_at - timezone.now() > timedelta(minutes=9)
    flora.reset()
    sweep.sweep()
    assert flora.get_run == 0


def test_a_stale_run_that_finishes_is_completed(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob, stale=True)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)
    assert sweep.sweep().count("refreshed") == 1
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


def test_the_stale_limit_is_a_strict_setting(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from florasite.env import env_int

    monkeypatch.setenv("FLORA_RUN_STALE_AFTER", "two hours")
    with pytest.raises(ImproperlyConfigured, match="FLORA_RUN_STALE_AFTER"):
        env_int("FLORA_RUN_STALE_AFTER", 7200, minimum=60)


def test_the_worker_enqueues_the_sweep_and_the_sync_periodically(db):
    default_task_backend.clear()
    enqueued = periodic.tick("worker-1")
    assert {"runs.sweep", "runs.sync"} <= set(enqueued)
    names = [result.task.name for result in default_task_backend.results]
    assert "sweep_runs" in names
    assert "sync_all_teams" in names
    # Within 5 s the sweep is not enqueued again, by this worker or another.
    assert "runs.sweep" not in periodic.tick("worker-2")
    default_task_backend.clear()


def test_the_task_wrappers_call_the_plain_functions(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)

    tasks.refresh_run.call(run.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED

    run2 = dashboard_run(team_a, bob, question="Again")
    clock.advance_past(run2.flora_run_id)
    let_interval_pass(run2)
    tasks.sweep_runs.call()
    assert Run.objects.get(pk=run2.pk).status == RunStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_several_workers_sweeping_at_once_refresh_each_run_once(team_a, bob, flora):
    runs = [dashboard_run(team_a, bob, question=f"Question {i}") for i in range(6)]
    for run in runs:
        let_interval_pass(run)
    flora.reset()
    barrier = threading.Barrier(4)
    reports: list[sweep.SweepReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with queued_writers():
                barrier.wait()
                reports.append(sweep.sweep())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sum(report.count("refreshed") for report in reports) == 6
    assert flora.get_run == 6


def test_output_copies_have_a_queue_of_their_own():
    # A dripping file server then holds up only other copies, never a run's status.
    from runs import tasks

    assert tasks.keep_outputs.queue_name == tasks.OUTPUTS_QUEUE == "outputs"
    assert tasks.retry_keeping_outputs.queue_name == "outputs"
    others = [tasks.refresh_run, tasks.sweep_runs, tasks.reconcile_runs, tasks.sync_all_teams]
    assert {task.queue_name for task in others} == {"default"}


def test_a_plain_db_worker_serves_every_queue_and_make_run_splits_them(settings):
    from django.core.management import load_command_class

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    command = load_command_class("florasite", "db_worker")
    options = command.create_parser("manage.py", "db_worker").parse_args([])
    assert options.queue_name == "*"

    from pathlib import Path

    serve = (Path(__file__).resolve().parents[2] / "bin" / "serve.py").read_text()
    assert '"--queue-name=outputs"' in serve and '"--exclude-queues=outputs"' in serve


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_threads_runs_tasks_side_by_side_under_one_id(settings):
    import signal
    import threading
    import time

    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "outputs"],
        }
    }
    from runs import keeping, tasks

    running = threading.Barrier(2, timeout=5)

    # Each copy waits until the other one runs too: a single loop would time the barrier out.
    def both_at_once(run_pk):
        running.wait()
        return {}

    original = keeping.keep_run_outputs
    keeping.keep_run_outputs = both_at_once
    handler = signal.getsignal(signal.SIGINT)
    try:
        results = [tasks.keep_outputs.enqueue(pk) for pk in (1, 2)]
        started = time.monotonic()
        call_command(
            "db_worker",
            "--threads=2",
            "--batch",
            "--queue-name=outputs",
            "--worker-id=pair",
            "--no-startup-delay",
            "--interval=0.05",
            "--verbosity=0",
        )
    finally:
        keeping.keep_run_outputs = original
    assert time.monotonic() - started < 5
    rows = DBTaskResult.objects.filter(pk__in=[r.id for r in results])
    assert {row.status for row in rows} == {"SUCCESSFUL"}
    assert {tuple(row.worker_ids) for row in rows} == {("pair",)}
    assert signal.getsignal(signal.SIGINT) is handler  # the caller's handlers are back
