"""Fixtures of the batches tests: the sandbox's Tarot Pull technique, batches made of lines,
and a loop that moves sandbox runs on until a batch is finished."""

from __future__ import annotations

import pytest

from batches import services, worker
from batches.models import Batch, BatchSource
from runs import refresh
from runs.models import IN_FLIGHT_STATUSES, Run
from teams.models import Membership
from techniques.services import get_technique
from tests.runs.submit_helpers import CALLBACK

TAROT = "tech_tarot-pull"


@pytest.fixture(autouse=True)
def _reachable_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test settings' http://testserver callback is refused by the sandbox, which would
    # add a second create per run (runs.outcomes retries without it).
    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: CALLBACK)
    monkeypatch.setattr("runs.reconcile.callback_url_for", lambda team: CALLBACK)


@pytest.fixture
def tarot(sandbox_http, team_a):
    return get_technique(team_a, TAROT).technique


def lines_batch(team, user, technique, count: int, *, key: str = "intent-1") -> Batch:
    membership = Membership.objects.get(team=team, user=user)
    plan = [[{"id": "question", "type": "text", "value": f"Question {n}?"}] for n in range(count)]
    batch, made = services.create_batch(
        membership=membership,
        user=user,
        technique=technique,
        workspace_id="ws_demo",
        intent_key=key,
        plan=plan,
        source=BatchSource.LINES,
    )
    assert made
    return batch


def run_to_the_end(batch: Batch, clock, *, passes: int = 200, after_pass=None) -> int:
    """Start rows, move the sandbox on, refresh runs, until no row waits and no run is in
    flight; returns how many passes it took."""
    for number in range(1, passes + 1):
        worker.start_due()
        clock.advance(60)
        live = Run.objects.filter(batch_rows__batch=batch, status__in=IN_FLIGHT_STATUSES)
        for pk in live.values_list("pk", flat=True):
            Run.objects.filter(pk=pk).update(refresh_claimed_until=None)
            refresh.refresh_in_background(pk)
        if services.totals(batch).finished:
            return number
        if after_pass is not None:
            after_pass()
    raise AssertionError(f"batch not finished after {passes} passes: {services.totals(batch)}")
