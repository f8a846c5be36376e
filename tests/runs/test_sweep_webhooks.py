"""The sweep and webhooks: a run with a webhook on the way costs FLORA about one status call.

Runs live their whole life here: our clock (django.utils.timezone.now) and FLORA's (the
sandbox's FrozenClock) move together, the sweep runs every 5 s as the periodic job does, and
FLORA's status calls are counted where FLORA receives them (GET .../runs/{run_id}).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from runs import refresh, sweep
from runs.models import Run, RunStatus
from runs.state import WEBHOOK_EXPECTED_WITHIN, background_interval, refresh_interval
from tests.runs.live_helpers import dashboard_run, deliver_webhook, webhook_event
from tests.runs.submit_helpers import CALLBACK, start

pytestmark = pytest.mark.django_db

SWEEP_EVERY = 5  # seconds: the periodic job "runs.sweep"
RUNS = 4


class BothClocks:
    """Ours and FLORA's, moved together."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sandbox) -> None:
        self.sandbox = sandbox
        self.at = timezone.now()
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.at)

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        self.sandbox.advance(seconds)


@pytest.fixture
def clocks(monkeypatch, clock) -> BothClocks:
    return BothClocks(monkeypatch, clock)


def _status_calls(flora, run: Run) -> int:
    return flora.calls("GET", re.compile(rf"/runs/{re.escape(run.flora_run_id)}$"))


def _runs(team, user, clocks: BothClocks, *, webhook_expected: bool) -> list[Run]:
    rows = []
    for n in range(RUNS):
        rows.append(
            dashboard_run(team, user, question=f"Question {n}?", webhook_expected=webhook_expected)
        )
        clocks.advance(1)  # submitted a second apart, as a batch's runs are
    return rows


def _live(
    team, flora, clocks: BothClocks, rows: list[Run], *, webhooks: bool
) -> list[tuple[int, dict]]:
    """Sweep every 5 s until every run has ended (at most 3 minutes); FLORA delivers each
    run's webhook at the first tick after it ended when `webhooks`. Returns the sweeps'
    runs in flight before each sweep and its outcomes, tick by tick."""
    delivered: set[int] = set()
    ticks = []
    for _ in range(180 // SWEEP_EVERY):
        clocks.advance(SWEEP_EVERY)
        for row in rows:
            ended = clocks.sandbox.time >= clocks.sandbox.finishes_at(row.flora_run_id)
            if webhooks and ended and row.pk not in delivered:
                body = webhook_event(row.flora_run_id, delivery_id=f"whd_{row.pk}")
                assert deliver_webhook(team, body).json()["result"] == "refresh_queued"
                delivered.add(row.pk)
                # The receiver's queued task, run by the worker:
                assert refresh.refresh_in_background(row.pk) == "refreshed"
        in_flight = Run.objects.filter(pk__in=[r.pk for r in rows]).in_flight().count()
        if not in_flight:
            return ticks
        ticks.append((in_flight, sweep.sweep().outcomes))
    pytest.fail("the runs never ended")


def test_with_webhooks_delivered_a_run_costs_at_most_one_and_a_half_status_calls(
    team_a, bob, flora, clocks
):
    rows = _runs(team_a, bob, clocks, webhook_expected=True)
    ticks = _live(team_a, flora, clocks, rows, webhooks=True)

    calls = [_status_calls(flora, row) for row in rows]
    assert sum(calls) / len(rows) <= 1.5, calls
    assert calls == [1] * RUNS  # the webhook's refresh, nothing else
    assert all(outcomes == {} for _, outcomes in ticks)  # the sweep never had to ask
    for row in Run.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.status == RunStatus.COMPLETED and row.outputs.count() == 2


def test_without_webhooks_the_sweep_keeps_its_pace(team_a, bob, flora, clocks):
    rows = _runs(team_a, bob, clocks, webhook_expected=False)
    ticks = _live(team_a, flora, clocks, rows, webhooks=False)

    # Every sweep asks about every run still in flight (their interval, 2 s in their first
    # minute, is shorter than the sweep's), as before webhooks counted.
    assert ticks and all(outcomes == {"refreshed": n} for n, outcomes in ticks)
    calls = [_status_calls(flora, row) for row in rows]
    assert sum(calls) == sum(n for n, _ in ticks)
    for row in Run.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.status == RunStatus.COMPLETED


def test_a_late_webhook_is_caught_up_by_the_sweep(team_a, bob, flora, clocks):
    rows = _runs(team_a, bob, clocks, webhook_expected=True)
    start_at = clocks.at
    ticks = _live(team_a, flora, clocks, rows, webhooks=False)  # FLORA's webhooks never come

    # The sweep waited for the webhooks until the first run's expected time (60 s after its
    # submission, the runs 1 s apart), then asked once each and found the runs ended.
    *waiting, (in_flight, caught_up) = ticks
    assert len(waiting) == 11 and all(outcomes == {} for _, outcomes in waiting)
    assert (in_flight, caught_up) == (RUNS, {"refreshed": RUNS})
    assert clocks.at - start_at == timedelta(seconds=SWEEP_EVERY * 13)
    assert [_status_calls(flora, row) for row in rows] == [1] * RUNS
    for row in Run.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.status == RunStatus.COMPLETED and row.outputs.count() == 2


def test_past_the_expected_time_a_run_is_asked_about_at_the_normal_pace(team_a, bob, flora):
    run = dashboard_run(team_a, bob, webhook_expected=True)
    submitted = run.submitted_at
    assert background_interval(run, submitted) == WEBHOOK_EXPECTED_WITHIN
    assert background_interval(run, submitted + timedelta(seconds=45)) == timedelta(seconds=15)
    for age in (61, 90, 300, 3600):
        at = submitted + timedelta(seconds=age)
        assert background_interval(run, at) == refresh_interval(run, at)
    run.webhook_expected = False
    for age in (0, 30, 61, 300):
        at = submitted + timedelta(seconds=age)
        assert background_interval(run, at) == refresh_interval(run, at)


def test_a_watched_run_keeps_the_normal_pace(team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob, webhook_expected=True)
    assert run.next_refresh_at >= run.submitted_at + WEBHOOK_EXPECTED_WITHIN
    # The claim's hold is the normal interval: a viewer's poll after it asks FLORA.
    assert run.refresh_claimed_until is None or run.refresh_claimed_until <= (
        timezone.now() + refresh_interval(run)
    )
    Run.objects.filter(pk=run.pk).update(refresh_claimed_until=timezone.now())
    before = _status_calls(flora, run)
    clock.advance_past(run.flora_run_id)

    row = refresh.refresh_if_due(Run.objects.select_related("team").get(pk=run.pk))

    assert _status_calls(flora, run) == before + 1
    assert row.status == RunStatus.COMPLETED


@pytest.mark.usefixtures("_reachable_callback")
def test_a_run_submitted_with_a_callback_expects_its_webhook(bob_client, upstream):
    response, _ = start(bob_client, values={"question": "Hooks?"})
    assert response.status_code == 302
    [body] = upstream.create_bodies()
    assert body["callback_url"] == CALLBACK
    run = Run.objects.get()
    assert run.webhook_expected is True
    assert run.next_refresh_at >= run.submitted_at + WEBHOOK_EXPECTED_WITHIN - timedelta(seconds=1)


def test_a_run_whose_callback_flora_refused_is_swept_at_the_normal_pace(
    bob_client, upstream, monkeypatch
):
    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: "http://testserver/hooks/x")
    response, _ = start(bob_client, values={"question": "Hooks?"})
    assert response.status_code == 302
    assert len(upstream.create_bodies()) == 2  # refused with the callback, taken without
    run = Run.objects.get()
    assert run.webhook_expected is False
    assert run.next_refresh_at <= run.submitted_at + refresh_interval(run) + timedelta(seconds=1)


def test_a_run_submitted_without_a_callback_expects_no_webhook(bob_client, upstream, monkeypatch):
    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: None)
    start(bob_client, values={"question": "No hooks?"})
    assert "callback_url" not in upstream.create_bodies()[0]
    assert Run.objects.get().webhook_expected is False
