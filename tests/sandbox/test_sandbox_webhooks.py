"""Signed webhook deliveries (sandbox.webhooks.deliver), checked with flora.webhooks.verify."""

from __future__ import annotations

import datetime
import json

import httpx
import pytest
import respx

import flora
from sandbox import webhooks
from sandbox.models import SandboxRun, SandboxWebhookDelivery

HOOK = "https://hooks.example.com/flora"


@pytest.fixture
def receiver():
    with respx.mock(assert_all_called=False) as router:
        yield router


def _run(api, clock, question="Will it ship?", key="sk_sandbox_demo", **body) -> SandboxRun:
    response = api.start_run(
        "tech_tarot-pull",
        [{"id": "question", "type": "text", "value": question}],
        key=key,
        callback_url=HOOK,
        **body,
    )
    assert response.status_code == 201, response.json()
    return SandboxRun.objects.get(run_id=response.json()["run_id"])


def test_it_posts_a_signed_event_when_the_run_completes(api, clock, receiver, task_results):
    route = receiver.post(HOOK).respond(204)
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    assert webhooks.deliver(run.run_id) == "delivered"

    request = route.calls.last.request
    event = flora.webhooks.verify(
        request.content, request.headers, ["whsec_sandbox_demo"], now=clock.now()
    )
    assert event.type == "run.completed"
    assert event.api_version == "2026-06-11"
    assert event.id.startswith("whd_")
    assert event.created_at == int(webhooks.lifecycle.timeline(run).ends_at * 1000)
    assert event.data.model_dump(exclude_none=True) == {
        "run_id": run.run_id,
        "run_type": "technique",
        "workspace_id": "ws_demo",
        "status": "completed",
    }
    assert request.headers["Flora-Webhook-Id"] == event.id
    assert request.headers["Flora-Event"] == "run.completed"
    assert request.headers["Content-Type"] == "application/json"
    signature = request.headers["Flora-Signature"]
    assert signature.startswith(f"t={int(clock.now())},v1=")
    delivery = SandboxWebhookDelivery.objects.get(run=run)
    assert (delivery.attempts, delivery.last_status_code) == (1, 204)
    assert delivery.delivered_at is not None
    assert task_results == []


def test_a_failed_run_sends_run_failed_with_the_error(api, clock, receiver):
    route = receiver.post(HOOK).respond(200)
    run = _run(api, clock, "Will it ship? [fail]")
    clock.advance_past(run.run_id)

    webhooks.deliver(run.run_id)

    body = json.loads(route.calls.last.request.content)
    assert body["type"] == "run.failed"
    assert body["data"]["status"] == "failed"
    assert body["data"]["error_code"] == "provider_error"
    assert body["data"]["error_message"]


def test_the_other_workspace_signs_with_its_own_secret(api, clock, receiver):
    route = receiver.post(HOOK).respond(200)
    run = _run(api, clock, key="sk_sandbox_other")
    clock.advance_past(run.run_id)

    webhooks.deliver(run.run_id)

    request = route.calls.last.request
    flora.webhooks.verify(request.content, request.headers, "whsec_sandbox_other", now=clock.now())
    with pytest.raises(flora.WebhookVerificationError):
        flora.webhooks.verify(
            request.content, request.headers, "whsec_sandbox_demo", now=clock.now()
        )


def test_creating_a_run_schedules_delivery_for_its_end(
    api, clock, task_results, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _run(api, clock)

    [result] = task_results
    assert result.task.func is webhooks.deliver_task.func
    assert result.args == [run.run_id]
    ends_at = webhooks.lifecycle.timeline(run).ends_at
    assert result.task.run_after == datetime.datetime.fromtimestamp(ends_at, tz=datetime.UTC)


def test_runs_without_a_callback_schedule_nothing(
    api, clock, task_results, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.start_run().json()

    assert task_results == []
    assert webhooks.deliver(created["run_id"]) == "no_callback"


def test_an_early_delivery_reschedules_itself(api, clock, receiver, task_results):
    route = receiver.post(HOOK).respond(200)
    run = _run(api, clock)

    assert webhooks.deliver(run.run_id) == "not_terminal"

    assert not route.called
    assert [result.args for result in task_results] == [[run.run_id]]


def test_failures_are_retried_with_backoff_and_the_same_id(api, clock, receiver, task_results):
    route = receiver.post(HOOK).mock(
        side_effect=[httpx.Response(500), httpx.ConnectError("refused"), httpx.Response(200)]
    )
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    assert webhooks.deliver(run.run_id) == "retry_scheduled"
    first_retry = task_results[-1].task.run_after.timestamp()
    assert first_retry == pytest.approx(clock.now() + 1)
    clock.advance(1)
    assert webhooks.deliver(run.run_id) == "retry_scheduled"
    assert task_results[-1].task.run_after.timestamp() == pytest.approx(clock.now() + 4)
    clock.advance(4)
    assert webhooks.deliver(run.run_id) == "delivered"

    ids = {call.request.headers["Flora-Webhook-Id"] for call in route.calls}
    assert len(route.calls) == 3
    assert len(ids) == 1
    delivery = SandboxWebhookDelivery.objects.get(run=run)
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)


def test_it_gives_up_after_three_retries(api, clock, receiver, task_results):
    route = receiver.post(HOOK).respond(503)
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    outcomes = []
    for _ in range(5):
        outcomes.append(webhooks.deliver(run.run_id))
        clock.advance(20)

    assert outcomes == ["retry_scheduled"] * 3 + ["gave_up", "gave_up"]
    assert len(route.calls) == 4
    delivery = SandboxWebhookDelivery.objects.get(run=run)
    assert (delivery.attempts, delivery.last_error, delivery.delivered_at) == (4, "HTTP 503", None)


def test_a_delivered_event_is_not_sent_again(api, clock, receiver):
    route = receiver.post(HOOK).respond(200)
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    webhooks.deliver(run.run_id)

    assert webhooks.deliver(run.run_id) == "already_delivered"
    assert len(route.calls) == 1


def test_retry_backoff_follows_the_speedup(api, clock, receiver, task_results, settings):
    settings.FLORA_SANDBOX_SPEEDUP = 4
    receiver.post(HOOK).respond(500)
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    webhooks.deliver(run.run_id)

    assert task_results[-1].task.run_after.timestamp() == pytest.approx(clock.now() + 0.25)


def test_the_task_wraps_deliver(api, clock, receiver):
    receiver.post(HOOK).respond(200)
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    assert webhooks.deliver_task.call(run.run_id) == "delivered"


# --- Where deliveries may go ------------------------------------------------------------------

PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the delivery attempts (none is made: there is no network)."""
    import httpcore

    attempts: list[tuple[str, int]] = []

    def fake_connect(self, host, port, *args, **kwargs):
        attempts.append((host, port))
        raise httpcore.ConnectError("no network in tests")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", fake_connect)
    return attempts


def _with_callback(run: SandboxRun, url: str) -> SandboxRun:
    """As if the run had been created before the callback rules were tightened."""
    SandboxRun.objects.filter(pk=run.pk).update(callback_url=url)
    run.refresh_from_db()
    return run


@pytest.mark.parametrize(
    "url",
    [
        "https://127.1/flora",
        "https://0x7f.0.0.1/flora",
        "https://2130706433/flora",
        "https://127.0.0.1./flora",
        "https://10.0.0.1./flora",
        "https://localhost./flora",
        "https://[::ffff:127.0.0.1]/flora",
    ],
)
def test_a_stored_internal_callback_is_never_delivered(
    api, clock, receiver, connections, task_results, url
):
    route = receiver.route()
    run = _with_callback(_run(api, clock), url)
    clock.advance_past(run.run_id)

    assert webhooks.deliver(run.run_id) == "refused"

    assert not route.called and connections == []
    delivery = SandboxWebhookDelivery.objects.get(run=run)
    assert "private or internal" in delivery.last_error
    assert task_results == []  # not retried: the answer would be the same


def test_a_name_that_resolves_to_a_private_address_is_not_delivered(
    api, clock, connections, monkeypatch
):
    monkeypatch.setattr(webhooks, "resolve_host", lambda host, port: [PUBLIC_IP, "10.0.0.7"])
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    assert webhooks.deliver(run.run_id) == "refused"

    assert connections == []
    delivery = SandboxWebhookDelivery.objects.get(run=run)
    assert delivery.last_error == (
        "Callback host hooks.example.com resolves to a private or internal address"
    )


def test_a_delivery_connects_to_the_address_it_checked(api, clock, connections, monkeypatch):
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])
    monkeypatch.setattr(webhooks, "resolve_host", lambda host, port: next(answers))
    run = _run(api, clock)
    clock.advance_past(run.run_id)

    assert webhooks.deliver(run.run_id) == "retry_scheduled"
    assert connections == [(PUBLIC_IP, 443)]
    # The name now points at loopback (DNS rebinding): refused before any connection.
    clock.advance(20)
    assert webhooks.deliver(run.run_id) == "refused"
    assert connections == [(PUBLIC_IP, 443)]


def test_local_http_callbacks_are_delivered_only_with_the_setting(
    api, clock, connections, settings
):
    run = _with_callback(_run(api, clock), "http://localhost:8031/hooks/flora/x")
    clock.advance_past(run.run_id)

    assert webhooks.deliver(run.run_id) == "retry_scheduled"
    assert connections == [("localhost", 8031)]

    settings.FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS = False
    clock.advance(20)
    assert webhooks.deliver(run.run_id) == "refused"
    assert connections == [("localhost", 8031)]
