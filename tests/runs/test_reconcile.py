"""Reconciling creates whose answer was lost: find the run, or start it once, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Run, RunStatus
from runs.reconcile import (
    CONFIRMED_DEADLINE,
    RECONCILE_DEADLINE,
    RETRY_CREATE_AFTER,
    SUBMITTING_GRACE,
    reconcile,
    reconcile_all,
)
from runs.state import refresh_interval
from sandbox import stats
from sandbox.models import SandboxRun
from teams.services import save_connection
from tests.runs.submit_helpers import CREATE_PATH, read_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]

DEMO = "sk_sandbox_demo"
TAROT = "tech_tarot-pull"


def submit_lost(client, question: str = "Lost?") -> Run:
    """Press "Run" on the tarot page; the create's outcome is unknown to the dashboard."""
    data = read_form(client.get(f"/techniques/{TAROT}/").content.decode())
    data["in_question"] = question
    response = client.post(f"/techniques/{TAROT}/run", data)
    assert response.status_code == 302
    run = Run.objects.get(code=response["Location"].split("/")[2])
    assert run.status == RunStatus.CHECKING
    return run


def after(run: Run, delta: timedelta):
    return run.submitted_at + delta


def test_a_create_that_landed_but_timed_out_is_linked_without_a_second_create(bob_client, upstream):
    upstream.lose_answer()
    run = submit_lost(bob_client)
    assert stats.create_calls(DEMO) == 1 and SandboxRun.objects.count() == 1

    assert reconcile(run.pk) == "linked"

    run.refresh_from_db()
    assert run.flora_run_id == SandboxRun.objects.get().run_id
    assert run.status in (RunStatus.PENDING, RunStatus.RUNNING)
    assert run.error_code == "" and run.next_refresh_at is not None
    assert upstream.creates == 1 and stats.create_calls(DEMO) == 1
    assert stats.runs_created(DEMO) == 1
    # Once linked, nothing more to do.
    assert reconcile(run.pk) == "skipped"
    assert reconcile_all() == 0


def test_a_linked_run_expects_no_webhook_and_is_swept_at_the_normal_pace(bob_client, upstream):
    """FLORA's history does not say whether a run carries a callback, and its webhook may have
    come already (recorded as an unknown run, before the link): the sweep does not wait for
    one (the topology test relies on this for a create the kill interrupted)."""
    upstream.lose_answer()
    run = submit_lost(bob_client)
    assert reconcile(run.pk) == "linked"
    run.refresh_from_db()
    assert not run.webhook_expected
    assert run.next_refresh_at - run.last_refreshed_at == refresh_interval(
        run, run.last_refreshed_at
    )


def test_a_create_that_never_arrived_is_sent_again_with_the_same_key(bob_client, upstream):
    upstream.drop(method="POST", path=CREATE_PATH.pattern, times=1)
    run = submit_lost(bob_client)
    assert stats.create_calls(DEMO) == 0

    # Early on, only the history is read: the first request might still be in flight.
    assert reconcile(run.pk) == "waiting"
    assert upstream.creates == 1

    assert reconcile(run.pk, now=after(run, RETRY_CREATE_AFTER)) == "started"
    run.refresh_from_db()
    assert run.flora_run_id == SandboxRun.objects.get().run_id
    assert stats.create_calls(DEMO, idempotency_key=run.intent_key) == 1
    assert stats.runs_created(DEMO) == 1
    assert [b["idempotency_key"] for b in upstream.create_bodies()] == [run.intent_key] * 2


def test_a_key_flora_confirms_but_never_shows_is_waited_for_then_flagged(bob_client, upstream):
    # Every create answers "already have it", yet the run never appears in the history.
    upstream.fail(409, "idempotency_duplicate", method="POST", path=CREATE_PATH)
    run = submit_lost(bob_client)

    assert reconcile(run.pk, now=after(run, RETRY_CREATE_AFTER)) == "waiting"
    assert reconcile(run.pk, now=after(run, RECONCILE_DEADLINE * 2)) == "waiting"
    run.refresh_from_db()
    assert run.status == RunStatus.CHECKING  # never "failed" while FLORA says it has it

    assert reconcile(run.pk, now=after(run, CONFIRMED_DEADLINE + timedelta(seconds=1))) == "gave_up"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED_TO_START
    assert run.error_code == "not_found_in_history"
    assert "Check the run in FLORA before trying again" in run.error_message


def test_when_flora_never_answers_the_run_fails_to_start_after_the_deadline(
    bob_client, upstream, monkeypatch
):
    # The worker's client retries with backoff; the test does not wait for it.
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    upstream.lose_answer()
    run = submit_lost(bob_client)
    SandboxRun.objects.all().delete()  # as if it never landed
    upstream.drop(method="GET")
    upstream.drop(method="POST")

    assert reconcile(run.pk, now=after(run, RETRY_CREATE_AFTER)) == "waiting"
    assert reconcile(run.pk, now=after(run, RECONCILE_DEADLINE + timedelta(seconds=1))) == "gave_up"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED_TO_START and run.error_code == "unconfirmed"
    assert "You can try again." in run.error_message
    assert run.charged_cost == 0


def test_a_definitive_refusal_on_the_retry_is_recorded(bob_client, team_a, upstream):
    upstream.drop(method="POST", path=CREATE_PATH.pattern, times=1)
    run = submit_lost(bob_client)
    save_connection(team_a.connection, actor="test", api_key="sk_sandbox_broke")

    assert reconcile(run.pk, now=after(run, RETRY_CREATE_AFTER)) == "refused"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED_TO_START
    assert run.error_code == "insufficient_credits"
    assert run.last_request_id.startswith("req_")


def test_two_lost_runs_of_one_technique_each_get_their_own(bob_client, upstream):
    upstream.lose_answer(times=2)
    first = submit_lost(bob_client, "One?")
    second = submit_lost(bob_client, "Two?")
    assert SandboxRun.objects.count() == 2

    assert reconcile_all() == 2

    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.flora_run_id, second.flora_run_id} == set(
        SandboxRun.objects.values_list("run_id", flat=True)
    )
    assert upstream.creates == 2


def test_a_run_already_linked_to_another_row_is_never_taken(bob_client, bob, team_a, upstream):
    upstream.lose_answer()
    run = submit_lost(bob_client)
    landed = SandboxRun.objects.get()
    # Another row (say, imported from FLORA's history) already holds that FLORA run.
    Run.objects.create(
        team=team_a,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        flora_run_id=landed.run_id,
        origin="external",
        status=RunStatus.PENDING,
    )
    assert reconcile(run.pk) == "waiting"
    run.refresh_from_db()
    assert run.flora_run_id is None and run.status == RunStatus.CHECKING


def test_a_row_left_submitting_by_a_dead_request_is_picked_up(team_a, bob, upstream):
    now = timezone.now()
    stuck = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        inputs=[{"id": "question", "type": "text", "value": "Stuck?", "name": "Question"}],
        intent_key="intent-stuck",
        status=RunStatus.SUBMITTING,
        created_at=now - SUBMITTING_GRACE - timedelta(seconds=1),
        submitted_at=now - SUBMITTING_GRACE - timedelta(seconds=1),
    )
    young = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        inputs=[{"id": "question", "type": "text", "value": "Young?", "name": "Question"}],
        intent_key="intent-young",
        status=RunStatus.SUBMITTING,
        submitted_at=now,
    )

    assert reconcile_all(now=now) == 1
    assert reconcile(young.pk, now=now) == "skipped"

    stuck.refresh_from_db()
    young.refresh_from_db()
    assert stuck.status == RunStatus.PENDING and stuck.flora_run_id
    assert stats.create_calls(DEMO, idempotency_key="intent-stuck") == 1
    assert young.status == RunStatus.SUBMITTING and young.flora_run_id is None


def test_a_run_claimed_by_another_worker_is_left_alone(bob_client, upstream):
    upstream.lose_answer()
    run = submit_lost(bob_client)
    Run.objects.filter(pk=run.pk).update(
        refresh_claimed_until=timezone.now() + timedelta(seconds=30)
    )
    upstream.reset()
    assert reconcile(run.pk) == "skipped"
    assert upstream.calls() == 0


def test_one_broken_row_does_not_stop_the_others(bob_client, upstream, monkeypatch):
    upstream.lose_answer(times=2)
    first = submit_lost(bob_client, "One?")
    second = submit_lost(bob_client, "Two?")
    import runs.reconcile

    real = runs.reconcile._reconcile

    def flaky(run, now):
        if run.pk == first.pk:
            raise RuntimeError("boom")
        return real(run, now)

    monkeypatch.setattr(runs.reconcile, "_reconcile", flaky)
    assert reconcile_all() == 2
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.flora_run_id and first.flora_run_id is None
    assert first.refresh_claimed_until is None  # the claim is released for the next pass


def test_a_lost_run_found_completed_in_a_history_without_outputs_keeps_its_outputs(
    bob_client, upstream, monkeypatch
):
    # GET /technique-runs may leave `outputs` out (the spec marks them optional: "use
    # poll_url to fetch ... outputs"). A row completed from such an item would never be
    # asked about again, and its outputs would be lost for good.
    import time

    import runs.reconcile
    from sandbox.testing import FrozenClock

    clock = FrozenClock.install(monkeypatch, start=time.time())
    upstream.lose_answer()
    run = submit_lost(bob_client)
    clock.advance_past(SandboxRun.objects.get().run_id)
    real = runs.reconcile._find_in_history

    def history_without_outputs(client, row, submitted):
        found = real(client, row, submitted)
        assert found is not None and found.status == "completed"
        return found.model_copy(update={"outputs": None})

    monkeypatch.setattr(runs.reconcile, "_find_in_history", history_without_outputs)

    assert reconcile(run.pk) == "linked"

    run.refresh_from_db()
    assert run.flora_run_id == SandboxRun.objects.get().run_id
    assert run.status == RunStatus.COMPLETED
    assert run.outputs_raw and run.outputs.count() == len(run.outputs_raw)
    assert upstream.creates == 1


def test_when_the_full_run_cannot_be_read_the_link_waits_for_the_refresh(
    bob_client, upstream, monkeypatch
):
    import time

    import runs.reconcile
    from runs.refresh import refresh_in_background
    from sandbox.testing import FrozenClock

    clock = FrozenClock.install(monkeypatch, start=time.time())
    upstream.lose_answer()
    run = submit_lost(bob_client)
    clock.advance_past(SandboxRun.objects.get().run_id)
    real = runs.reconcile._find_in_history
    monkeypatch.setattr(
        runs.reconcile,
        "_find_in_history",
        lambda client, row, submitted: real(client, row, submitted).model_copy(
            update={"outputs": None}
        ),
    )
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the worker client's backoff
    upstream.fail(503, "service_unavailable", path=r"/techniques/[^/]+/runs/[^/]+$")

    assert reconcile(run.pk) == "linked"
    run.refresh_from_db()
    assert run.flora_run_id and run.status == RunStatus.RUNNING  # not completed blind

    upstream.faults.clear()  # FLORA answers again
    Run.objects.filter(pk=run.pk).update(refresh_claimed_until=None)
    assert refresh_in_background(run.pk) == "refreshed"
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.outputs.count() == len(run.outputs_raw) > 0


def test_a_409_on_the_retry_is_a_landed_run_whatever_its_code(bob_client, upstream):
    upstream.drop(method="POST", path=CREATE_PATH.pattern, times=1)
    run = submit_lost(bob_client)
    upstream.fail(409, "conflict", method="POST", path=CREATE_PATH)

    assert reconcile(run.pk, now=after(run, RETRY_CREATE_AFTER)) == "waiting"
    run.refresh_from_db()
    assert run.status == RunStatus.CHECKING
    assert run.error_code == "idempotency_duplicate"  # confirmed: waited for, not retried
