"""A batch's worker killed mid-create, FLORA's 429s, and retried failures: never a run twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from batches import services, worker
from batches.models import RowState
from runs import reconcile
from runs.models import Run, RunStatus
from sandbox.models import SandboxRun
from teams.services import save_connection
from tests.batches.conftest import lines_batch, run_to_the_end
from tests.runs.submit_helpers import CREATE_PATH

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The worker process dying: nothing after it runs, no except clause catches it."""


def test_a_worker_killed_between_create_and_record_starts_nothing_twice(
    team_a, bob, tarot, upstream, monkeypatch
):
    batch = lines_batch(team_a, bob, tarot, 3)

    def die(run, remote):  # FLORA made the run; the worker dies before writing it down
        raise Killed

    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr("runs.submit.apply_remote", die)
        worker.start_due()
    assert upstream.creates == 1
    row = batch.rows.get(position=1)
    assert row.state == RowState.STARTING and row.run is None
    orphan = Run.objects.get(intent_key=row.intent_key)
    assert orphan.status == RunStatus.SUBMITTING and orphan.flora_run_id is None

    # Restarted: while the dead worker's claim holds, its row is left alone...
    worker.start_due()
    assert batch.rows.get(position=1).state == RowState.STARTING
    # ...and once it ran out, the row is linked to the run already written: no create.
    later = timezone.now() + worker.CLAIM_FOR + timedelta(seconds=1)
    worker.start_due(now=later)
    row.refresh_from_db()
    assert row.state == RowState.STARTED and row.run_id == orphan.pk
    assert upstream.creates == 3  # rows 2 and 3, once each; row 1 not again
    # The reconciler finds the FLORA run behind the orphan (runs.reconcile, same key).
    Run.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    assert reconcile.reconcile(orphan.pk) in ("linked", "started")
    orphan.refresh_from_db()
    assert orphan.flora_run_id
    assert SandboxRun.objects.count() == 3
    assert Run.objects.filter(flora_run_id__isnull=False).count() == 3


def test_sk_sandbox_limited_429s_still_end_with_one_flora_run_per_row(
    team_a, bob, tarot, upstream, clock, settings, caplog, monkeypatch
):
    save_connection(team_a.connection, actor="test", api_key="sk_sandbox_limited")
    monkeypatch.setattr("flora._base.time.sleep", lambda seconds: None)
    settings.FLORASITE_BATCH_CONCURRENCY = 12
    batch = lines_batch(team_a, bob, tarot, 12)
    with caplog.at_level("WARNING", logger="django.request"):
        run_to_the_end(batch, clock, after_pass=lambda: batch.rows.update(not_before=None))
    assert any("Too Many Requests" in r.getMessage() for r in caplog.records)
    assert upstream.creates > 12  # some creates were answered 429...
    # ...but every row is one FLORA run, and no FLORA run has two rows.
    assert SandboxRun.objects.count() == 12
    assert Run.objects.filter(flora_run_id__isnull=False).count() == 12
    assert services.totals(batch).done == 12
    refused = Run.objects.filter(status=RunStatus.FAILED_TO_START)
    assert set(refused.values_list("error_code", flat=True)) <= {"rate_limited"}


def test_a_429_the_client_gives_up_on_makes_the_team_wait_out_retry_after(
    team_a, bob, tarot, upstream, monkeypatch
):
    slept: list[float] = []
    monkeypatch.setattr("flora._base.time.sleep", slept.append)
    upstream.fail(
        429,
        "rate_limited",
        "Slow down.",
        method="POST",
        path=CREATE_PATH,
        headers={"Retry-After": "30"},
        times=3,
    )
    batch = lines_batch(team_a, bob, tarot, 4)
    first_key = batch.rows.get(position=1).intent_key

    assert worker.start_due() == 0
    assert slept == [30, 30]  # the client honoured Retry-After twice, then gave up
    assert upstream.creates == 3
    row = batch.rows.get(position=1)
    assert row.state == RowState.QUEUED and row.attempt == 2 and row.intent_key != first_key
    refused = Run.objects.get(intent_key=first_key)
    assert refused.status == RunStatus.FAILED_TO_START and refused.error_code == "rate_limited"
    waits = set(batch.rows.values_list("not_before", flat=True))
    assert len(waits) == 1
    wait = waits.pop()
    assert timedelta(seconds=28) < wait - timezone.now() <= timedelta(seconds=30)

    assert worker.start_due() == 0 and upstream.creates == 3  # within Retry-After: nothing sent
    assert worker.start_due(now=wait + timedelta(seconds=1)) == 4
    assert upstream.creates == 7
    assert Run.objects.filter(flora_run_id__isnull=False).count() == 4 == SandboxRun.objects.count()


def test_retry_failed_starts_only_the_failed_rows(team_a, bob, tarot, upstream, clock):
    batch = lines_batch(team_a, bob, tarot, 5)
    run_to_the_end(batch, clock)
    failed = list(batch.rows.filter(position__in=(2, 4)))
    Run.objects.filter(batch_rows__in=failed).update(status=RunStatus.FAILED)
    assert services.totals(batch).failed == 2
    creates = upstream.creates

    assert services.retry_failed(batch) == 2
    for row in batch.rows.filter(position__in=(2, 4)):
        assert row.state == RowState.QUEUED and row.attempt == 2 and row.intent_key.endswith(":2")
    run_to_the_end(batch, clock)
    assert upstream.creates == creates + 2
    assert services.totals(batch).done == 5
    assert services.retry_failed(batch) == 0
