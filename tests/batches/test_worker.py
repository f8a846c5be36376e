"""The worker starts a batch's rows: exactly one FLORA run per row, a few at a time."""

from __future__ import annotations

import pytest

from batches import services, worker
from batches.models import BatchRow, RowState
from runs.models import Run, RunStatus
from tests.batches.conftest import lines_batch, run_to_the_end

pytestmark = pytest.mark.django_db


def test_the_request_writes_rows_and_calls_no_flora(team_a, bob, tarot, upstream):
    before = len(upstream.requests)
    batch = lines_batch(team_a, bob, tarot, 12)
    assert len(upstream.requests) == before
    rows = list(batch.rows.all())
    assert [r.position for r in rows] == list(range(1, 13))
    assert len({r.intent_key for r in rows}) == 12
    assert all(r.state == RowState.QUEUED and r.run is None for r in rows)
    assert not Run.objects.exists()


def test_a_40_run_batch_ends_with_exactly_40_flora_runs(team_a, bob, tarot, upstream, clock):
    batch = lines_batch(team_a, bob, tarot, 40)
    run_to_the_end(batch, clock)
    assert upstream.creates == 40
    runs = Run.objects.filter(batch_rows__batch=batch)
    assert runs.count() == 40
    assert len(set(runs.values_list("flora_run_id", flat=True))) == 40
    assert set(runs.values_list("status", flat=True)) == {RunStatus.COMPLETED}
    totals = services.totals(batch)
    assert (totals.done, totals.failed, totals.running, totals.waiting) == (40, 0, 0, 0)
    assert worker.start_due() == 0 and upstream.creates == 40


def test_at_most_the_concurrency_is_in_flight(team_a, bob, tarot, upstream, clock, settings):
    settings.FLORASITE_BATCH_CONCURRENCY = 3
    batch = lines_batch(team_a, bob, tarot, 10)
    assert worker.start_due() == 3
    assert worker.start_due() == 0  # the three are still pending in FLORA
    assert upstream.creates == 3
    assert batch.rows.filter(state=RowState.QUEUED).count() == 7


def test_the_same_form_twice_is_one_batch(team_a, bob, tarot):
    first = lines_batch(team_a, bob, tarot, 3)
    again, made = services.create_batch(
        membership=team_a.memberships.get(user=bob),
        user=bob,
        technique=tarot,
        workspace_id="ws_demo",
        intent_key="intent-1",
        plan=[[{"id": "question", "type": "text", "value": "x"}]],
    )
    assert again == first and not made
    assert BatchRow.objects.count() == 3


def test_one_pass_per_team_at_a_time(team_a, bob, tarot, upstream):
    from datetime import timedelta

    from django.utils import timezone

    from batches.models import TeamPass

    batch = lines_batch(team_a, bob, tarot, 3)
    # Another worker is in the middle of a pass for this team: this one starts nothing.
    TeamPass.objects.create(team=team_a, busy_until=timezone.now() + timedelta(seconds=30))
    assert worker.start_due() == 0 and upstream.creates == 0
    # A pass left by a dead worker runs out.
    later = timezone.now() + timedelta(seconds=31)
    assert worker.start_due(now=later) == 3
    assert TeamPass.objects.get(team=team_a).busy_until is None
    assert batch.rows.filter(state=RowState.STARTED).count() == 3


def test_a_completed_batch_run_starts_the_next_row_at_once(
    team_a, bob, tarot, upstream, monkeypatch
):
    from types import SimpleNamespace

    from batches import tasks
    from runs.state import outputs_waiting

    queued: list[bool] = []
    fake = SimpleNamespace(enqueue=lambda: queued.append(True))
    monkeypatch.setattr(tasks, "start_batch_rows", fake)
    batch = lines_batch(team_a, bob, tarot, 2)
    worker.start_due()
    run = batch.rows.get(position=1).run
    outputs_waiting.send(sender=Run, run_pk=run.pk)
    assert queued == [True]
    outputs_waiting.send(sender=Run, run_pk=0)  # not a batch's run
    assert queued == [True]


def test_a_pass_that_found_the_team_busy_is_made_up_by_the_one_under_way(
    team_a, bob, tarot, upstream, monkeypatch
):
    from batches.models import TeamPass

    batch = lines_batch(team_a, bob, tarot, 3)
    rounds: list[int] = []
    start_slots = worker._start_slots

    def one_round(team, now):  # a pass elsewhere finds the team busy during the first round
        rounds.append(len(rounds))
        if len(rounds) == 1:
            assert worker._start_for_team(team, now) == 0
            assert TeamPass.objects.get(team=team).wanted
        return start_slots(team, now)

    monkeypatch.setattr(worker, "_start_slots", one_round)
    assert worker.start_due() == 3
    assert rounds == [0, 1]  # went round once more, then stopped
    assert not TeamPass.objects.get(team=team_a).wanted
    assert batch.rows.filter(state=RowState.STARTED).count() == 3
