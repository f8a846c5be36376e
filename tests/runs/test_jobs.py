"""Periodic jobs (sweep, reconciler, history sync, output copies): one run or team that fails
is logged with its code or slug and skipped, and every other one is still handled.

The failure used here is a real database error. On PostgreSQL it aborts the surrounding
transaction (each test runs in one), so these tests also show that each item runs in a
savepoint of its own there.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from runs import importer, keeping, reconcile, refresh, sweep, sync, tasks
from runs.models import OutputKeepStatus, Run, RunOutput, RunStatus
from tests.runs.live_helpers import dashboard_run, start_flora_run

pytestmark = pytest.mark.django_db


def _fail_in_the_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


def test_a_sweep_carries_on_past_a_run_that_fails(
    team_a, team_b, bob, dave, sandbox_http, clock, monkeypatch, caplog
):
    poisoned = dashboard_run(team_a, bob)
    healthy = dashboard_run(team_b, dave)
    clock.advance_past(poisoned.flora_run_id)
    clock.advance_past(healthy.flora_run_id)
    Run.objects.update(next_refresh_at=None, refresh_claimed_until=None)
    real_apply = refresh.apply_remote

    def apply_remote(run, remote, **kwargs):
        if run.pk == poisoned.pk:
            _fail_in_the_database()
        return real_apply(run, remote, **kwargs)

    monkeypatch.setattr(refresh, "apply_remote", apply_remote)
    caplog.set_level(logging.INFO)

    report = sweep.sweep()

    assert report.outcomes == {"error": 1, "refreshed": 1}
    assert Run.objects.get(pk=healthy.pk).status == RunStatus.COMPLETED
    row = Run.objects.get(pk=poisoned.pk)
    assert row.status in (RunStatus.PENDING, RunStatus.RUNNING)
    # Logged in full, and tried again after a backoff rather than on every sweep.
    assert f"Refreshing run {poisoned.code}" in caplog.text
    assert "no_such_table" in caplog.text
    assert row.refresh_failures == 1 and row.next_refresh_at > timezone.now()


def test_the_reconciler_carries_on_past_a_run_that_fails(team_a, team_b, monkeypatch, caplog):
    stuck = [
        Run.objects.create(
            team=team,
            technique_id="tech_tarot-pull",
            technique_name="Tarot Pull",
            status=RunStatus.CHECKING,
            created_at=timezone.now() - timedelta(minutes=1, seconds=n),
        )
        for n, team in enumerate((team_a, team_b), start=1)
    ]
    bad, good = stuck[1], stuck[0]  # oldest first: the bad one comes first

    def fake_reconcile(run, now):
        if run.pk == bad.pk:
            _fail_in_the_database()
        Run.objects.filter(pk=run.pk).update(error_code="looked_at")
        return "waiting"

    monkeypatch.setattr(reconcile, "_reconcile", fake_reconcile)

    assert reconcile.reconcile_all() == 2

    assert Run.objects.get(pk=good.pk).error_code == "looked_at"
    assert f"Reconciling run {bad.code} failed" in caplog.text


def test_a_history_sync_carries_on_past_a_run_that_fails(team_a, sandbox_http, monkeypatch, caplog):
    first = start_flora_run(team_a, question="First")
    second = start_flora_run(team_a, question="Second")
    real_import = importer._import

    def import_(team, client, item, workspace_id):
        if item.run_id == second.run_id:
            _fail_in_the_database()
        return real_import(team, client, item, workspace_id)

    monkeypatch.setattr(importer, "_import", import_)

    report = sync.sync_team(team_a.pk)

    assert report.ok
    assert list(Run.objects.values_list("flora_run_id", flat=True)) == [first.run_id]
    assert f"History sync of team {team_a.slug}: importing {second.run_id} failed" in caplog.text


def test_an_unexpected_error_ends_one_teams_sync_with_a_report(team_a, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(sync, "_sync_workspace", broken)

    report = sync.sync_team(team_a.pk)

    assert report.error == "An unexpected error stopped the sync; it has been logged."
    assert f"History sync of team {team_a.slug} failed" in caplog.text
    assert not sync.sync_team(team_a.pk).busy  # the lock was released


def test_sync_all_queues_the_other_teams_when_one_cannot_be_queued(
    team_a, team_b, monkeypatch, caplog
):
    queued = []

    def enqueue(team_pk):
        if team_pk == team_a.pk:
            _fail_in_the_database()
        queued.append(team_pk)

    monkeypatch.setattr("runs.tasks.sync_team_history", SimpleNamespace(enqueue=enqueue))

    assert tasks.sync_all() == 1

    assert queued == [team_b.pk]
    assert f"Could not queue the history sync of team {team_a.slug}" in caplog.text


def test_output_copies_carry_on_past_one_that_fails(team_a, team_b, monkeypatch, caplog):
    outputs = []
    for team in (team_a, team_b):
        run = Run.objects.create(
            team=team, technique_id="t", technique_name="T", status=RunStatus.COMPLETED
        )
        outputs.append(
            RunOutput.objects.create(
                run=run, output_id="card", type="imageUrl", source_url="https://x/y.png"
            )
        )
    bad, good = outputs

    def keep_output(pk):
        if pk == bad.pk:
            _fail_in_the_database()
        RunOutput.objects.filter(pk=pk).update(keep_status=OutputKeepStatus.KEPT)
        return OutputKeepStatus.KEPT

    monkeypatch.setattr(keeping, "keep_output", keep_output)

    assert keeping.retry_due_outputs() == 2
    assert keeping.keep_run_outputs(bad.run_id) == {"error": 1}

    assert RunOutput.objects.get(pk=good.pk).keep_status == OutputKeepStatus.KEPT
    assert RunOutput.objects.get(pk=bad.pk).keep_status == OutputKeepStatus.PENDING
    assert f"Keeping output {bad.pk} of run {bad.run.code} failed" in caplog.text
