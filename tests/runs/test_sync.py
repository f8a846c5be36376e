"""runs.sync: runs started outside the dashboard appear in the history too."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx
from django.utils import timezone
from django_tasks import default_task_backend

from runs import importer, sync, tasks
from runs.models import Run, RunOrigin, RunOutput, RunStatus
from teams.models import ConnectionStatus
from tests.runs.live_helpers import dashboard_run, start_flora_run

pytestmark = pytest.mark.django_db


def test_it_imports_runs_started_outside_the_dashboard(team_a, flora, clock):
    done = start_flora_run(team_a, question="Finished elsewhere")
    clock.advance_past(done.run_id)
    running = start_flora_run(team_a, question="Still going [slow]")
    clock.advance(3)

    report = sync.sync_team(team_a.pk)

    assert report.ok
    assert len(report.imported) == 2
    imported = {run.flora_run_id: run for run in Run.objects.filter(team=team_a)}
    assert set(imported) == {done.run_id, running.run_id}
    for run in imported.values():
        assert run.origin == RunOrigin.EXTERNAL
        assert run.created_by is None
        assert run.technique_id == "tech_tarot-pull"
        assert run.technique_name == "Tarot Pull"
        assert run.workspace_id == "ws_demo"
        assert run.project_id
    completed = imported[done.run_id]
    assert completed.status == RunStatus.COMPLETED
    assert completed.charged_cost is not None
    assert RunOutput.objects.filter(run=completed).count() == 2
    # Placed in the history at FLORA's creation time, not at import time.
    assert completed.created_at < imported[running.run_id].created_at
    assert imported[running.run_id].status == RunStatus.RUNNING
    # ... and the refresh machinery takes the running one from here.
    assert imported[running.run_id].next_refresh_at is not None


def test_a_second_sync_imports_nothing_twice(team_a, bob, flora):
    start_flora_run(team_a)
    dashboard_run(team_a, bob)
    first = sync.sync_team(team_a.pk)
    assert len(first.imported) == 1

    second = sync.sync_team(team_a.pk)

    assert second.imported == []
    assert Run.objects.filter(team=team_a).count() == 2
    assert Run.objects.filter(team=team_a, origin=RunOrigin.DASHBOARD).count() == 1


def test_only_the_teams_own_workspaces_are_imported(team_a, team_b, flora):
    mine = start_flora_run(team_a)
    theirs = start_flora_run(team_b)

    sync.sync_team(team_a.pk)
    sync.sync_team(team_b.pk)

    assert list(Run.objects.filter(team=team_a).values_list("flora_run_id", flat=True)) == [
        mine.run_id
    ]
    assert list(Run.objects.filter(team=team_b).values_list("flora_run_id", flat=True)) == [
        theirs.run_id
    ]
    # One list call per workspace of each team: ws_demo and ws_brand, then ws_other.
    assert flora.list_runs == 3


def test_runs_whose_create_is_in_flight_are_left_to_the_reconciler(team_a, bob, flora):
    # Our own submission wrote its row and is waiting for FLORA's answer (or lost it).
    pending = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        status=RunStatus.CHECKING,
        intent_key="intent-1",
    )
    ours = start_flora_run(team_a, question="Ours, answer lost")

    report = sync.sync_team(team_a.pk)

    assert report.imported == []
    assert report.held_back == 1
    assert Run.objects.filter(team=team_a).count() == 1

    # The reconciler decides it never started: the FLORA run is someone else's after all,
    # and the next sync imports it (the watermark did not pass it).
    Run.objects.filter(pk=pending.pk).update(status=RunStatus.FAILED_TO_START)
    report = sync.sync_team(team_a.pk)
    assert len(report.imported) == 1
    assert Run.objects.get(code=report.imported[0]).flora_run_id == ours.run_id


def test_a_run_linked_by_the_reconciler_meanwhile_is_not_duplicated(team_a, bob, flora):
    pending = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        status=RunStatus.CHECKING,
        intent_key="intent-2",
    )
    ours = start_flora_run(team_a)
    assert sync.sync_team(team_a.pk).held_back == 1

    Run.objects.filter(pk=pending.pk).update(flora_run_id=ours.run_id, status=RunStatus.RUNNING)
    report = sync.sync_team(team_a.pk)

    assert report.imported == []
    assert report.held_back == 0
    assert Run.objects.filter(team=team_a).count() == 1


def test_other_techniques_are_not_held_back(team_a, bob, flora):
    Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.SUBMITTING,
        intent_key="intent-3",
    )
    start_flora_run(team_a)
    assert len(sync.sync_team(team_a.pk).imported) == 1


def test_losing_a_race_with_our_own_submission_drops_the_import(team_a, bob, flora, monkeypatch):
    remote = start_flora_run(team_a)
    real_held_back = importer._held_back

    def submission_links_it_now(item, created, pending):
        # Between the sync's "is it known?" and its insert, submission links the run.
        Run.objects.create(
            team=team_a,
            created_by=bob,
            technique_id="tech_tarot-pull",
            technique_name="Tarot Pull",
            flora_run_id=remote.run_id,
            status=RunStatus.PENDING,
            intent_key="intent-4",
        )
        return real_held_back(item, created, pending)

    monkeypatch.setattr(importer, "_held_back", submission_links_it_now)

    report = sync.sync_team(team_a.pk)

    assert report.ok
    assert report.imported == []
    assert Run.objects.filter(team=team_a, flora_run_id=remote.run_id).count() == 1
    assert Run.objects.get(flora_run_id=remote.run_id).origin == RunOrigin.DASHBOARD


def test_a_sync_stops_at_what_the_previous_one_saw(team_a, bob, flora, clock, monkeypatch):
    monkeypatch.setattr(sync, "PAGE_SIZE", 2)
    for i in range(5):
        start_flora_run(team_a, question=f"Old {i}")
        clock.advance(20 * 60)  # further apart than the watermark's safety margin
    assert len(sync.sync_team(team_a.pk).imported) == 5
    clock.advance(3600)

    # Outside and dashboard runs interleave: a known run near the top must not stop the sync.
    first = start_flora_run(team_a, question="New outside 1")
    clock.advance(1)
    dashboard_run(team_a, bob, question="Ours in between")
    clock.advance(1)
    second = start_flora_run(team_a, question="New outside 2")
    flora.reset()

    report = sync.sync_team(team_a.pk)

    assert sorted(Run.objects.get(code=c).flora_run_id for c in report.imported) == sorted(
        [first.run_id, second.run_id]
    )
    # ws_demo: page 1 (new 2, ours), page 2 (new 1, the newest old run: within the margin,
    # so read on), page 3 (older than watermark - margin: stop); ws_brand: one page.
    assert flora.list_runs == 4


def test_a_long_history_arrives_over_several_syncs(team_a, flora, monkeypatch):
    monkeypatch.setattr(sync, "PAGE_SIZE", 2)
    for i in range(7):
        start_flora_run(team_a, question=f"History {i}")

    first = sync.sync_team(team_a.pk, max_pages=1, backfill_pages=0)
    assert len(first.imported) == 2
    second = sync.sync_team(team_a.pk, max_pages=1, backfill_pages=2)
    assert len(second.imported) == 4
    third = sync.sync_team(team_a.pk, max_pages=1, backfill_pages=2)
    assert len(third.imported) == 1
    assert Run.objects.filter(team=team_a).count() == 7
    flora.reset()
    assert sync.sync_team(team_a.pk, max_pages=1, backfill_pages=2).imported == []
    assert flora.list_runs == 2  # the backfill is done: one page per workspace


def test_a_refused_key_stops_the_sync_and_marks_the_connection(team_a, flora):
    connection = team_a.connection
    connection.set_api_key("sk_sandbox_nope")
    connection.save()

    report = sync.sync_team(team_a.pk)

    assert not report.ok
    assert "401" in report.error
    assert report.request_id.startswith("req_")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.FAILING


def test_a_team_without_connection_reports_it(team_a, flora):
    team_a.connection.delete()
    report = sync.sync_team(team_a.pk)
    assert "not connected" in report.error


def test_one_sync_per_team_at_a_time(team_a, flora):
    from django.core.cache import cache

    cache.add(sync.LOCK_KEY.format(team=team_a.pk), "busy", 60)
    report = sync.sync_team(team_a.pk)
    assert report.busy
    assert flora.list_runs == 0


def test_a_completed_list_item_without_outputs_is_fetched_in_full(team_a, monkeypatch):
    root = "http://flora.test/api/v1"
    connection = team_a.connection
    connection.base_url = root
    connection.workspace_ids = ["ws_demo"]
    connection.save()
    item = {
        "run_id": "run_ext",
        "technique_run_id": "run_ext",
        "status": "completed",
        "progress": 100,
        "created_at": 1_790_000_000,
        "completed_at": 1_790_000_010,
        "charged_cost": 0.06,
        "project_id": "prj_demo_campaign",
        "workspace_id": "ws_demo",
        "technique": {"name": "Tarot Pull", "technique_id": "tech_tarot-pull"},
    }
    full = {
        **item,
        "outputs": [{"output_id": "reading", "type": "text", "url": "Patience."}],
    }
    with respx.mock(base_url=root) as mock:
        mock.get("/technique-runs").respond(
            200, json={"technique_runs": [item], "meta": {"next_cursor": None}}
        )
        mock.get("/techniques/tech_tarot-pull/runs/run_ext").respond(200, json=full)
        client = httpx.Client(transport=httpx.MockTransport(mock.handler))
        monkeypatch.setattr("teams.services.get_http_client", lambda: client)

        report = sync.sync_team(team_a.pk)

    run = Run.objects.get(code=report.imported[0])
    assert run.status == RunStatus.COMPLETED
    assert list(run.outputs.values_list("output_id", "text")) == [("reading", "Patience.")]


def test_sync_all_enqueues_one_sync_per_connected_team(team_a, team_b):
    from teams.models import FloraConnection

    FloraConnection.objects.filter(team=team_b).update(status=ConnectionStatus.FAILING)
    default_task_backend.clear()

    assert tasks.sync_all() == 1

    results = default_task_backend.results
    assert [(r.task.name, r.args) for r in results] == [("sync_team_history", [team_a.pk])]
    default_task_backend.clear()


def test_an_outside_run_is_dated_by_flora(team_a, flora, clock):
    remote = start_flora_run(team_a)
    sync.sync_team(team_a.pk)
    run = Run.objects.get(flora_run_id=remote.run_id)
    assert abs(run.created_at.timestamp() - clock.time) < 2
    assert run.created_at < timezone.now() - timedelta(days=1)  # the frozen sandbox clock
