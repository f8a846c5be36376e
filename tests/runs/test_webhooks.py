"""FLORA's signed webhooks (/hooks/flora/<token>) and where runs ask FLORA to send them."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import httpx
import pytest
import respx
from django.test import Client
from django.utils import timezone
from django_tasks import default_task_backend

from flora.webhooks import sign
from runs import refresh
from runs.callbacks import callback_url_for
from runs.models import Run, RunStatus, WebhookDelivery
from sandbox import webhooks as sandbox_webhooks
from sandbox.testing import FrozenClock
from teams.services import flora_client
from tests.runs.live_helpers import SECRET, dashboard_run, start_flora_run
from tests.runs.live_helpers import deliver_webhook as _deliver
from tests.runs.live_helpers import webhook_event as _event

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks_enqueued():
    default_task_backend.clear()
    yield default_task_backend.results
    default_task_backend.clear()


def _names(results) -> list[tuple[str, list]]:
    return [(r.task.name, list(r.args)) for r in results]


def test_a_valid_delivery_makes_the_run_due_and_queues_a_refresh(
    team_a, bob, flora, clock, tasks_enqueued, django_capture_on_commit_callbacks
):
    run = dashboard_run(team_a, bob)
    # A viewer refreshed it a moment ago: the next refresh would normally wait.
    Run.objects.filter(pk=run.pk).update(
        refresh_claimed_until=timezone.now() + timedelta(seconds=10),
        next_refresh_at=timezone.now() + timedelta(seconds=10),
    )
    clock.advance_past(run.flora_run_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = _deliver(team_a, _event(run.flora_run_id), delivery_id="whd_1")

    assert response.status_code == 200
    assert response.json()["result"] == "refresh_queued"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.team, delivery.delivery_id, delivery.flora_run_id) == (
        team_a,
        "whd_1",
        run.flora_run_id,
    )
    assert _names(tasks_enqueued) == [("refresh_run", [run.pk])]
    row = Run.objects.get(pk=run.pk)
    assert row.refresh_claimed_until is None
    assert row.next_refresh_at <= timezone.now()
    # The delivery carries no outputs: nothing about the run changed yet...
    assert row.status in (RunStatus.PENDING, RunStatus.RUNNING)

    # ...until the worker runs the queued refresh, which fetches the whole run at once.
    assert refresh.refresh_in_background(run.pk) == "refreshed"
    row = Run.objects.get(pk=run.pk)
    assert row.status == RunStatus.COMPLETED
    assert row.outputs.count() == 2


def test_a_delivery_signed_with_the_wrong_secret_is_rejected(
    team_a, bob, flora, tasks_enqueued, caplog
):
    run = dashboard_run(team_a, bob)
    caplog.set_level(logging.INFO)

    response = _deliver(team_a, _event(run.flora_run_id), secret="whsec_not_ours")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "signature_mismatch"
    assert WebhookDelivery.objects.count() == 0
    assert tasks_enqueued == []
    assert "rejected (400): signature_mismatch" in caplog.text
    # Neither the receiver's token nor any secret reaches the logs.
    assert team_a.webhook_token not in caplog.text
    assert team_a.webhook_token[:12] not in caplog.text
    assert SECRET not in caplog.text
    assert "whsec_not_ours" not in caplog.text


def test_a_stale_delivery_is_rejected(team_a, bob, flora, caplog):
    run = dashboard_run(team_a, bob)
    response = _deliver(team_a, _event(run.flora_run_id), timestamp=int(time.time()) - 3600)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "timestamp_too_old"
    assert WebhookDelivery.objects.count() == 0
    assert "timestamp_too_old" in caplog.text


def test_a_tampered_body_is_rejected(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    body = _event(run.flora_run_id)
    headers = {"Flora-Signature": sign(body, SECRET, int(time.time()))}
    tampered = body.replace(b"completed", b"failed")
    response = Client().post(
        f"/hooks/flora/{team_a.webhook_token}",
        tampered,
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 400


def test_an_unsigned_delivery_is_rejected(team_a):
    response = Client().post(
        f"/hooks/flora/{team_a.webhook_token}", b"{}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_header"


def test_a_repeated_delivery_is_acknowledged_once(
    team_a, bob, flora, tasks_enqueued, django_capture_on_commit_callbacks
):
    run = dashboard_run(team_a, bob)
    body = _event(run.flora_run_id, delivery_id="whd_same")

    with django_capture_on_commit_callbacks(execute=True):
        first = _deliver(team_a, body)
        second = _deliver(team_a, body)

    assert first.status_code == second.status_code == 200
    assert second.json()["result"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1
    assert _names(tasks_enqueued) == [("refresh_run", [run.pk])]


def test_delivery_ids_are_per_team(team_a, team_b, bob, flora):
    WebhookDelivery.objects.create(
        team=team_b, delivery_id="whd_shared", event_type="run.completed", flora_run_id="x"
    )
    run = dashboard_run(team_a, bob)
    response = _deliver(team_a, _event(run.flora_run_id, delivery_id="whd_shared"))
    assert response.json()["result"] == "refresh_queued"


def test_an_unknown_token_is_404(team_a, caplog):
    response = _deliver(team_a, _event("run_x"), token="not-a-real-token-at-all")
    assert response.status_code == 404
    assert "unknown receiver token" in caplog.text
    assert "not-a-real-token" not in caplog.text


def test_it_rejects_get(team_a):
    assert Client().get(f"/hooks/flora/{team_a.webhook_token}").status_code == 405


def test_it_needs_no_login_nor_csrf_token(team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    client = Client(enforce_csrf_checks=True)
    body = _event(run.flora_run_id)
    response = client.post(
        f"/hooks/flora/{team_a.webhook_token}",
        body,
        content_type="application/json",
        headers={"Flora-Signature": sign(body, SECRET, int(time.time()))},
    )
    assert response.status_code == 200


def test_a_run_not_known_yet_is_recorded_and_a_sync_queued_once(team_a, tasks_enqueued):
    first = _deliver(team_a, _event("run_elsewhere_1", delivery_id="whd_a"))
    second = _deliver(team_a, _event("run_elsewhere_2", delivery_id="whd_b"))

    assert first.status_code == second.status_code == 200
    assert first.json()["result"] == "unknown_run"
    assert WebhookDelivery.objects.count() == 2
    # A burst of deliveries for unknown runs triggers one history sync, not one each.
    assert _names(tasks_enqueued) == [("sync_team_history", [team_a.pk])]


def test_a_delivery_for_a_run_that_already_ended_changes_nothing(
    team_a, bob, flora, clock, tasks_enqueued
):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    refresh.refresh_in_background(run.pk)  # the sweep got there first
    Run.objects.filter(pk=run.pk).update(refresh_claimed_until=None)

    response = _deliver(team_a, _event(run.flora_run_id))

    assert response.json()["result"] == "already_final"
    assert tasks_enqueued == []


def test_a_team_without_a_signing_secret_cannot_be_delivered_to(team_b, caplog):
    response = _deliver(team_b, _event("run_x"), secret="whsec_sandbox_other")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_secret"
    assert "no_secret" in caplog.text


def test_a_sandbox_delivery_end_to_end(team_a, bob, flora, tasks_enqueued, monkeypatch):
    """FLORA (the sandbox) signs and POSTs; the receiver verifies it with the team's secret."""
    # FLORA's clock must agree with ours here: the signature's timestamp is checked.
    clock = FrozenClock.install(monkeypatch, start=time.time())
    # The sandbox takes plain-http callbacks on loopback only; respx carries the POST here.
    callback = f"http://127.0.0.1/hooks/flora/{team_a.webhook_token}"
    remote = flora_client(team_a).techniques.runs.create(
        "tech_tarot-pull",
        inputs=[{"id": "question", "type": "text", "value": "Webhook?"}],
        callback_url=callback,
        idempotency_key="hook-e2e",
    )
    run = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        flora_run_id=remote.run_id,
        status=RunStatus.PENDING,
    )
    clock.advance_past(remote.run_id)
    web = Client()

    def forward(request: httpx.Request) -> httpx.Response:
        response = web.post(
            request.url.raw_path.decode(),
            request.content,
            content_type="application/json",
            headers={k: v for k, v in request.headers.items() if k.lower().startswith("flora-")},
        )
        return httpx.Response(response.status_code, content=response.content)

    with respx.mock(assert_all_called=True) as mock:
        mock.post(callback).mock(side_effect=forward)
        assert sandbox_webhooks.deliver(remote.run_id) == "delivered"

    assert WebhookDelivery.objects.get().flora_run_id == remote.run_id
    refresh.refresh_in_background(run.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


# -- callback_url_for ----------------------------------------------------------------------


def test_callback_for_an_https_deployment(team_a, settings):
    settings.PUBLIC_BASE_URL = "https://dash.example.com"
    assert (
        callback_url_for(team_a) == f"https://dash.example.com/hooks/flora/{team_a.webhook_token}"
    )


def test_callback_for_a_flora_served_by_this_deployment(team_a, settings):
    # The team's FLORA (the built-in sandbox here) lives on this very origin.
    settings.PUBLIC_BASE_URL = "http://testserver"
    assert callback_url_for(team_a) == f"http://testserver/hooks/flora/{team_a.webhook_token}"
    settings.PUBLIC_BASE_URL = "http://TESTSERVER:80"
    assert callback_url_for(team_a).startswith("http://TESTSERVER:80/hooks/flora/")


def test_no_callback_when_flora_cannot_reach_us(team_a, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert callback_url_for(team_a) is None
    settings.PUBLIC_BASE_URL = "http://testserver:8080"
    assert callback_url_for(team_a) is None


def test_no_callback_without_a_signing_secret(team_b, settings):
    settings.PUBLIC_BASE_URL = "https://dash.example.com"
    assert callback_url_for(team_b) is None


def test_no_callback_without_a_connection(team_a, settings):
    settings.PUBLIC_BASE_URL = "https://dash.example.com"
    team_a.connection.delete()
    team_a.refresh_from_db()
    assert callback_url_for(team_a) is None


def test_outside_runs_can_be_delivered_for_too(team_a, flora, tasks_enqueued):
    remote = start_flora_run(team_a)
    response = _deliver(team_a, _event(remote.run_id))
    assert response.json()["result"] == "unknown_run"
