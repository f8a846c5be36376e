"""Signed webhook deliveries (`callback_url`), as flora-api-notes.md describes them.

A run with a callback_url gets a delivery task scheduled for when it should end. The task
(`deliver`, callable directly from tests) re-checks the time-derived state: not terminal
yet -> it schedules itself again; terminal -> it POSTs the event, retried up to 3 times
(1 s, 4 s, 16 s, divided by the run's speedup) on a non-2xx answer or a connection error.
The event id is created once per run and reused by every retry (receivers deduplicate on it).

Where an event may go is checked twice: the callback_url when the run is created
(validation.callback_problem), and again when the event is sent, because a host name can
resolve to an internal address. The connection goes to exactly the address that was
checked, so a name that changes its answer in between (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from florasite.lib.net import host_address, is_public_ip
from sandbox import auth, clock, lifecycle
from sandbox.api import new_id
from sandbox.models import SandboxRun, SandboxWebhookDelivery
from sandbox.validation import callback_problem, is_local_callback

logger = logging.getLogger("sandbox")

API_VERSION = "2026-06-11"
RETRY_BACKOFF_SECONDS = (1.0, 4.0, 16.0)
MAX_ATTEMPTS = 1 + len(RETRY_BACKOFF_SECONDS)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "FLORA-Sandbox-Webhooks/1.0"


def sign(raw_body: bytes, secret: str, timestamp: int) -> str:
    """`Flora-Signature`: HMAC-SHA256 keyed by the whole secret string over "{t}.{body}"."""
    signed = f"{timestamp}.".encode() + raw_body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class RefusedCallback(Exception):
    """The callback's host is an internal address: the event is not sent, now or later."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam: tests replace it instead of using DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _public_addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to; RefusedCallback if any of them is internal."""
    literal = host_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve_host(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise httpcore.ConnectError(f"Callback host {host} could not be found") from exc
    if not addresses or not all(is_public_ip(address) for address in addresses):
        raise RefusedCallback(f"Callback host {host} resolves to a private or internal address")
    return [str(address) for address in addresses]


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to public addresses, and to exactly the address it checked.

    `addresses` checks and resolves a host (default: a callback's; asset sources pass their
    own, with their own words); `allow_local` lets through this machine, which a callback
    may be (checked when the run was created) and an asset source never is."""

    def __init__(
        self,
        addresses: Callable[[str, int], list[str]] | None = None,
        *,
        allow_local: bool = True,
    ) -> None:
        self._addresses = addresses or _public_addresses
        self._allow_local = allow_local

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self._allow_local and is_local_callback(host):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        last_error: Exception | None = None
        for address in self._addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


class _CheckedTransport(httpx.HTTPTransport):
    """httpx's transport on the checking backend. TLS still verifies the certificate against
    the URL's host name (httpcore sends it as the server name)."""

    def __init__(self, backend: _CheckedBackend | None = None) -> None:
        super().__init__(retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend or _CheckedBackend(),
        )


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    # No environment proxies: a proxy would connect wherever the name points.
    with httpx.Client(
        transport=_CheckedTransport(), timeout=TIMEOUT_SECONDS, trust_env=False
    ) as client:
        return client.post(url, content=body, headers=headers)


def event_body(run: SandboxRun, delivery: SandboxWebhookDelivery) -> bytes:
    """The event, identical on every attempt (only the signature's timestamp changes)."""
    state = lifecycle.state_at(run, clock.now())
    assert state.completed_at is not None
    data: dict = {
        "run_id": run.run_id,
        "run_type": "technique",
        "workspace_id": run.workspace_id,
        "status": state.status,
    }
    if state.status == "failed":
        data["error_code"] = "provider_error"
        data["error_message"] = lifecycle.FAILURE_MESSAGE
    event = {
        "id": delivery.delivery_id,
        "type": delivery.event_type,
        "api_version": API_VERSION,
        "created_at": int(state.completed_at * 1000),
        "data": data,
    }
    return json.dumps(event, separators=(",", ":")).encode()


def _enqueue(run_id: str, at: float) -> None:
    when = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
    deliver_task.using(run_after=when).enqueue(run_id)


def schedule_delivery(run: SandboxRun) -> None:
    """Schedule the delivery for when the run should reach its terminal state."""
    _enqueue(run.run_id, lifecycle.timeline(run).ends_at)


def deliver(run_id: str) -> str:
    """Deliver (or schedule) the run's webhook; returns what happened, for tests and logs.

    "no_callback", "not_terminal" (rescheduled), "delivered", "retry_scheduled", "gave_up",
    "refused" (an internal host: never sent), "already_delivered", or "claimed_elsewhere"
    (another worker is sending this attempt).
    """
    run = SandboxRun.objects.filter(run_id=run_id).first()
    if run is None or not run.callback_url:
        return "no_callback"
    now = clock.now()
    state = lifecycle.state_at(run, now)
    if not state.is_terminal:
        _enqueue(run_id, lifecycle.timeline(run).ends_at)
        return "not_terminal"

    delivery, _ = SandboxWebhookDelivery.objects.get_or_create(
        run=run,
        defaults={"delivery_id": new_id("whd_"), "event_type": f"run.{state.status}"},
    )
    if delivery.delivered_at is not None:
        return "already_delivered"
    if delivery.attempts >= MAX_ATTEMPTS:
        return "gave_up"
    # Checked again: the rules may have tightened since the run was created.
    problem = callback_problem(run.callback_url)
    if problem:
        return _refuse(delivery, problem)
    # Claim this attempt atomically, so two workers never send the same attempt.
    claimed = SandboxWebhookDelivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, delivered_at__isnull=True
    ).update(attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    if claimed != 1:
        return "claimed_elsewhere"
    attempt = delivery.attempts + 1

    body = event_body(run, delivery)
    secret = auth.WORKSPACES[run.workspace_id].webhook_secret
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Flora-Signature": sign(body, secret, int(now)),
        "Flora-Webhook-Id": delivery.delivery_id,
        "Flora-Event": delivery.event_type,
    }
    status_code: int | None = None
    try:
        response = _post(run.callback_url, body, headers)
        status_code = response.status_code
        error = "" if response.is_success else f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    except RefusedCallback as exc:
        return _refuse(delivery, str(exc))

    delivered = status_code is not None and 200 <= status_code < 300
    SandboxWebhookDelivery.objects.filter(pk=delivery.pk).update(
        last_status_code=status_code,
        last_error=error,
        delivered_at=timezone.now() if delivered else None,
    )
    if delivered:
        return "delivered"
    if attempt < MAX_ATTEMPTS:
        delay = RETRY_BACKOFF_SECONDS[attempt - 1] / (run.speedup or 1.0)
        logger.info("sandbox webhook %s failed (%s); retry in %.1f s", run_id, error, delay)
        _enqueue(run_id, now + delay)
        return "retry_scheduled"
    logger.warning("sandbox webhook %s failed (%s); giving up", run_id, error)
    return "gave_up"


def _refuse(delivery: SandboxWebhookDelivery, reason: str) -> str:
    """Record why the event was not sent, and send it no more (the answer would not change)."""
    logger.warning("sandbox webhook %s refused: %s", delivery.run_id, reason)
    SandboxWebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=MAX_ATTEMPTS, last_status_code=None, last_error=reason[:500]
    )
    return "refused"


@task()
def deliver_task(run_id: str) -> str:
    """The background-worker entry point (django-tasks); tests call deliver() directly."""
    return deliver(run_id)
