"""runs.refresh: the claim that lets one caller per interval ask FLORA, and what it records."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from flora import Run as RemoteRun
from runs import refresh
from runs.models import Run, RunOutput, RunStatus
from teams.models import ConnectionStatus
from tests.runs.conftest import FAKE_FLORA_ROOT as FLORA_ROOT
from tests.runs.live_helpers import dashboard_run, let_interval_pass

pytestmark = pytest.mark.django_db


def test_the_first_caller_wins_the_claim_and_the_next_waits_an_interval(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    now = timezone.now()

    lease = refresh.claim_refresh(run, timeout=5, now=now)

    assert lease is not None
    # Within the lease nobody else wins, however many try.
    again = Run.objects.get(pk=run.pk)
    assert [refresh.claim_refresh(again, timeout=5, now=now) for _ in range(20)] == [None] * 20


def test_the_lease_covers_the_flora_call_and_then_shrinks_to_the_interval(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    started = timezone.now()
    lease = refresh.claim_refresh(run, timeout=5, now=started)
    # The lease outlasts the call's timeout, so a slow FLORA cannot let a second caller in.
    assert lease - started >= timedelta(seconds=5)

    fresh = refresh.refresh_if_due(Run.objects.get(pk=run.pk))  # claimed: reads only
    assert flora.get_run == 0
    assert fresh.refresh_claimed_until == lease

    let_interval_pass(run)
    fresh = refresh.refresh_if_due(Run.objects.get(pk=run.pk))
    assert flora.get_run == 1
    # After the answer, the next refresh may start one interval after this one started.
    row = Run.objects.get(pk=run.pk)
    assert row.refresh_claimed_until - row.last_refreshed_at <= timedelta(seconds=2)


def test_a_refresh_applies_flora_state_and_records_outputs(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)

    fresh = refresh.refresh_if_due(Run.objects.get(pk=run.pk))

    assert fresh.status == RunStatus.COMPLETED
    assert fresh.progress_percent == 100
    assert fresh.charged_cost == Decimal("0.0600")
    assert fresh.next_refresh_at is None
    assert RunOutput.objects.filter(run=run).count() == 2
    assert flora.get_run == 1


@pytest.mark.parametrize("status", [RunStatus.SUBMITTING, RunStatus.CHECKING])
def test_runs_without_a_flora_id_are_left_to_the_reconciler(team_a, bob, flora, status):
    run = Run.objects.create(
        team=team_a, created_by=bob, technique_id="tech_tarot-pull", status=status
    )

    assert refresh.claim_refresh(run, timeout=5) is None
    assert refresh.refresh_if_due(run) is run
    assert refresh.refresh_in_background(run.pk) == "not_refreshable"
    assert flora.get_run == 0


def test_terminal_runs_are_never_asked_about(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)
    refresh.refresh_if_due(Run.objects.get(pk=run.pk))
    flora.reset()

    let_interval_pass(run)
    assert refresh.refresh_if_due(Run.objects.get(pk=run.pk)).status == RunStatus.COMPLETED
    assert refresh.refresh_in_background(run.pk) == "not_refreshable"
    assert flora.get_run == 0


def test_a_late_answer_never_moves_a_run_backwards(team_a, bob, flora, clock, monkeypatch):
    run = dashboard_run(team_a, bob)
    # Caller A claims and asks FLORA, which is very slow to answer "running".
    slow_copy = Run.objects.get(pk=run.pk)
    started = timezone.now()
    lease_a = refresh.claim_refresh(slow_copy, timeout=5, now=started)
    assert lease_a is not None

    # Meanwhile A's lease runs out; caller B asks and learns the run completed.
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)
    assert refresh.refresh_if_due(Run.objects.get(pk=run.pk)).status == RunStatus.COMPLETED
    b_hold = Run.objects.get(pk=run.pk).refresh_claimed_until

    # A's late answer arrives: applied to the row re-read under lock, it changes nothing.
    late = RemoteRun.model_validate(
        {"run_id": run.flora_run_id, "status": "running", "progress": 50, "created_at": 1}
    )
    monkeypatch.setattr(refresh, "_ask_flora", lambda run, **kwargs: late)
    fresh, answered = refresh._refresh_claimed(slow_copy, lease_a, started, 5)

    assert answered
    row = Run.objects.get(pk=run.pk)
    assert row.status == fresh.status == RunStatus.COMPLETED
    assert row.progress_percent == 100
    assert RunOutput.objects.filter(run=run).count() == 2
    # A no longer held the claim, so it did not touch B's schedule.
    assert row.refresh_claimed_until == b_hold


def test_the_interval_adapts_to_the_runs_age(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    now = timezone.now()
    assert refresh.interval_for(run, now) == timedelta(seconds=2)
    assert refresh.interval_for(run, now + timedelta(minutes=3)) > timedelta(seconds=2)
    assert refresh.interval_for(run, now + timedelta(hours=1)) == timedelta(seconds=15)
    run.stale = True
    assert refresh.interval_for(run, now) == timedelta(minutes=10)


def test_backoff_doubles_and_is_capped(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    now = timezone.now()
    delays = [refresh.backoff_for(run, n, now) for n in (1, 2, 3, 10)]
    assert delays[:3] == [timedelta(seconds=4), timedelta(seconds=8), timedelta(seconds=16)]
    assert delays[3] == refresh.MAX_BACKOFF
    assert refresh.backoff_for(run, 1, now, retry_after=30) == timedelta(seconds=30)


def _running_run_on_fake_flora(team_a, bob) -> Run:
    connection = team_a.connection
    connection.base_url = FLORA_ROOT
    connection.save()
    return Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        flora_run_id="run_fake",
        status=RunStatus.RUNNING,
        progress=40,
    )


def test_a_flora_error_keeps_the_run_and_backs_off(team_a, bob, fake_flora, caplog):
    run = _running_run_on_fake_flora(team_a, bob)
    fake_flora.get("/techniques/tech_tarot-pull/runs/run_fake").respond(
        503,
        json={"error": {"code": "service_unavailable", "message": "Down"}},
        headers={"request-id": "req_down_1"},
    )
    caplog.set_level(logging.WARNING, logger="runs.refresh")

    assert refresh.refresh_in_background(run.pk) == "failed"

    row = Run.objects.get(pk=run.pk)
    assert row.status == RunStatus.RUNNING
    assert row.progress == 40
    assert row.refresh_failures == 1
    assert row.last_request_id == "req_down_1"
    assert row.next_refresh_at > timezone.now() + timedelta(seconds=3)
    assert row.refresh_claimed_until == row.next_refresh_at
    assert "HTTP 503 service_unavailable" in caplog.text
    assert "req_down_1" in caplog.text
    # One attempt only: the next sweep is the retry.
    assert fake_flora.calls.call_count == 1

    # The second failure in a row waits twice as long.
    let_interval_pass(run)
    refresh.refresh_in_background(run.pk)
    row2 = Run.objects.get(pk=run.pk)
    assert row2.refresh_failures == 2
    assert row2.next_refresh_at - timezone.now() > timedelta(seconds=7)


def test_a_rate_limit_honours_retry_after(team_a, bob, fake_flora):
    run = _running_run_on_fake_flora(team_a, bob)
    fake_flora.get("/techniques/tech_tarot-pull/runs/run_fake").respond(
        429,
        json={"error": {"code": "rate_limited", "message": "Slow down"}},
        headers={"Retry-After": "40"},
    )

    refresh.refresh_in_background(run.pk)

    row = Run.objects.get(pk=run.pk)
    assert row.next_refresh_at - timezone.now() > timedelta(seconds=38)


def test_a_401_marks_the_connection_failing(team_a, bob, fake_flora):
    run = _running_run_on_fake_flora(team_a, bob)
    fake_flora.get("/techniques/tech_tarot-pull/runs/run_fake").respond(
        401, json={"error": {"code": "unauthorized", "message": "Bad key"}}
    )

    assert refresh.refresh_in_background(run.pk) == "failed"

    team_a.connection.refresh_from_db()
    assert team_a.connection.status == ConnectionStatus.FAILING
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_a_success_after_failures_resets_the_count(team_a, bob, fake_flora):
    run = _running_run_on_fake_flora(team_a, bob)
    route = fake_flora.get("/techniques/tech_tarot-pull/runs/run_fake")
    route.respond(500, json={"error": {"code": "unknown_error", "message": "Oops"}})
    refresh.refresh_in_background(run.pk)
    assert Run.objects.get(pk=run.pk).refresh_failures == 1

    route.respond(
        200,
        json={"run_id": "run_fake", "status": "running", "progress": 70, "created_at": 1},
    )
    let_interval_pass(run)
    assert refresh.refresh_in_background(run.pk) == "refreshed"
    row = Run.objects.get(pk=run.pk)
    assert row.refresh_failures == 0
    assert row.progress == 70


def test_a_team_without_connection_backs_off_without_calling_anyone(team_a, bob, fake_flora):
    run = _running_run_on_fake_flora(team_a, bob)
    team_a.connection.delete()

    assert refresh.refresh_in_background(run.pk) == "failed"
    assert Run.objects.get(pk=run.pk).refresh_failures == 1
    assert fake_flora.calls.call_count == 0


def test_a_stale_run_is_asked_about_every_ten_minutes(team_a, bob, fake_flora):
    run = _running_run_on_fake_flora(team_a, bob)
    Run.objects.filter(pk=run.pk).update(stale=True)
    fake_flora.get("/techniques/tech_tarot-pull/runs/run_fake").respond(
        200, json={"run_id": "run_fake", "status": "running", "progress": 41, "created_at": 1}
    )

    assert refresh.refresh_in_background(run.pk) == "refreshed"

    row = Run.objects.get(pk=run.pk)
    assert row.next_refresh_at - timezone.now() > timedelta(minutes=9)
    assert row.refresh_claimed_until - timezone.now() > timedelta(minutes=9)


def test_a_status_flora_added_later_neither_breaks_the_page_nor_ends_the_run(
    team_a, bob, bob_client, fake_flora
):
    # The client parses unknown statuses on purpose ("queued" here); the product must too.
    run = _running_run_on_fake_flora(team_a, bob)
    fake_flora.get("/techniques/tech_tarot-pull/runs/run_fake").respond(
        200, json={"run_id": "run_fake", "status": "queued", "progress": 55, "created_at": 1}
    )

    response = bob_client.get(f"/runs/{run.code}/status", headers={"HX-Request": "true"})

    assert response.status_code == 200  # still in flight: keep polling
    row = Run.objects.get(pk=run.pk)
    assert row.status == RunStatus.RUNNING and not row.is_terminal
    assert row.progress == 55
    assert row.refresh_failures == 0 and row.next_refresh_at is not None
    assert fake_flora.calls.call_count == 1
