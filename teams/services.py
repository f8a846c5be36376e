"""The one way to talk to FLORA on a team's behalf, and bookkeeping of the connection.

    client = flora_client(request.team)    # NoConnection when the team is not set up
    page = client.techniques.list(...)

Two kinds of client: `interactive_client` for calls a person waits for (one attempt within
FLORA_PAGE_DEADLINE, at most FLORA_PAGE_CALLS_PER_TEAM in flight per team and process) and
`flora_client` for the worker (retries, a longer deadline). Both go through the team's breaker
(teams.upstream), so one team's slow FLORA never holds threads other teams need.

Secrets are decrypted here only, at the moment a client is built; they are never
rendered, logged or put in an exception message.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import httpx
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from flora import APIStatusError, DeadlineTransport, Flora, FloraError, RequestNotSent, Workspace
from florasite.lib.flora_words import describe_error
from teams import access_cache, upstream
from teams.models import (
    ConnectionStatus,
    FloraConnection,
    SecretChange,
    SecretKind,
    SecretUnavailable,
)

if TYPE_CHECKING:
    from teams.models import Team

__all__ = [
    "FLORA_MAX_RETRIES",
    "FLORA_TIMEOUT",
    "NoConnection",
    "check_connection",
    "flora_client",
    "get_connection",
    "get_http_client",
    "interactive_client",
    "mark_failing",
    "record_secret_change",
    "save_connection",
    "try_key",
]

logger = logging.getLogger(__name__)

# Per network operation (connect, each read); the deadlines bound whole calls.
FLORA_TIMEOUT = 30.0
FLORA_MAX_RETRIES = 2
# A whole call, retries included, in the worker (FLORA_PAGE_DEADLINE while a person waits).
WORKER_DEADLINE = 45.0
# Trying a new key before it is saved: an admin or a shell waits on it.
KEY_CHECK_DEADLINE = 10.0

_http_client: httpx.Client | None = None
_http_client_lock = threading.Lock()


class NoConnection(Exception):
    """The team cannot talk to FLORA yet: no connection, no key, or no workspace chosen."""


def new_http_client() -> httpx.Client:
    """An httpx client as FLORA calls use it: pooled, deadlines enforced on the socket."""
    return httpx.Client(
        timeout=FLORA_TIMEOUT,
        transport=DeadlineTransport(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
        ),
        # FLORA does not redirect; following one would resend the key elsewhere.
        follow_redirects=False,
    )


def get_http_client() -> httpx.Client:
    """The process-wide httpx client, so that every FLORA call reuses pooled connections.

    Also the test seam: tests replace this function to route FLORA calls to the
    in-process sandbox (fixture `sandbox_http`).
    """
    global _http_client
    if _http_client is None:
        with _http_client_lock:
            if _http_client is None:
                _http_client = new_http_client()
    return _http_client


def get_connection(team: Team) -> FloraConnection:
    """The team's usable connection: it exists, has a key and at least one workspace."""
    try:
        connection = team.connection
    except FloraConnection.DoesNotExist:
        raise NoConnection(
            f"{team.name} is not connected to FLORA yet: an admin sets up the connection "
            "in the admin console."
        ) from None
    if not connection.has_api_key:
        raise NoConnection(f"{team.name} has no FLORA API key yet: an admin sets it.")
    if not connection.workspace_ids:
        raise NoConnection(
            f"No FLORA workspace is chosen for {team.name} yet: an admin chooses them."
        )
    return connection


@sensitive_variables()
def _client_for(connection: FloraConnection, *, interactive: bool = False) -> Flora:
    if not connection.has_api_key:
        raise NoConnection(f"{connection.team.name} has no FLORA API key yet: an admin sets it.")
    guard = upstream.guard_for(connection.team_id)
    return Flora(
        api_key=connection.decrypt_api_key(),
        base_url=connection.base_url,
        timeout=FLORA_TIMEOUT,
        max_retries=0 if interactive else FLORA_MAX_RETRIES,
        deadline=settings.FLORA_PAGE_DEADLINE if interactive else WORKER_DEADLINE,
        gate=guard.page_call if interactive else guard.background_call,
        http_client=get_http_client(),
    )


@sensitive_variables()
def flora_client(team: Team) -> Flora:
    """A FLORA client for the team's background work. Raises NoConnection, or
    SecretUnavailable when the key cannot be decrypted (an operator problem:
    FLORASITE_ENCRYPTION_KEYS)."""
    return _client_for(get_connection(team))


@sensitive_variables()
def interactive_client(team: Team) -> Flora:
    """A client for calls made while a person waits: one attempt within FLORA_PAGE_DEADLINE,
    and only a few at a time per team (teams.upstream); raises as flora_client does.

    A failed catalog read falls back to the cached copy, and a create whose answer is lost
    is reconciled in the background, so the request thread never sleeps through backoffs.
    """
    return _client_for(get_connection(team), interactive=True)


def _record(connection: FloraConnection, **fields: object) -> None:
    fields["last_checked_at"] = timezone.now()
    # A conditional UPDATE of these columns only: a check running while an admin saves a
    # new key must not write the old key back.
    FloraConnection.objects.filter(pk=connection.pk).update(**fields)
    access_cache.changed()  # an update() sends no signal: kept connections are stale
    for name, value in fields.items():
        setattr(connection, name, value)


def mark_failing(connection: FloraConnection, error: BaseException | str) -> None:
    """Record that FLORA refused the connection (e.g. a 401 met by another app)."""
    request_id = getattr(error, "request_id", None) or ""
    message = error if isinstance(error, str) else describe_error(error)
    _record(
        connection,
        status=ConnectionStatus.FAILING,
        last_error=message[:2000],
        last_request_id=request_id[:100],
    )
    logger.warning(
        "FLORA connection of team %s marked failing: %s (request id %s)",
        connection.team.slug,
        message,
        request_id or "none",
    )


@sensitive_variables()
def check_connection(
    connection: FloraConnection,
    *,
    deadline: float | None = None,
    interactive: bool = False,
) -> list[Workspace]:
    """Try the connection with GET /workspaces; record the outcome on it.

    Returns the workspaces the key can see (also stored as available_workspaces, offered to
    admins as the team's choices). On failure records it and re-raises the FloraError, or
    SecretUnavailable; NoConnection when no key is set. A caller serving a page passes
    `interactive=True` (one attempt, the page's deadline and bulkhead) and may shorten the
    `deadline`, so a FLORA that hangs cannot hold the page.
    """
    try:
        client = _client_for(connection, interactive=interactive)
        if deadline is not None:
            client = client.with_options(deadline=deadline)
        # GET /workspaces: cheap, and the only endpoint that proves the key works.
        workspaces = client.workspaces.list()
    except RequestNotSent:
        # Refused here, before sending (the team's guard): FLORA said nothing about the key.
        raise
    except (FloraError, SecretUnavailable) as exc:
        mark_failing(connection, exc)
        raise
    _record(
        connection,
        status=ConnectionStatus.OK,
        last_error="",
        last_request_id="",
        available_workspaces=[
            {"workspace_id": ws.workspace_id, "name": ws.name, "role": ws.role or ""}
            for ws in workspaces
        ],
    )
    logger.info(
        "FLORA connection of team %s OK: %d workspace(s)", connection.team.slug, len(workspaces)
    )
    return workspaces


@sensitive_variables("api_key")
def try_key(api_key: str, *, base_url: str, team_id: int | None = None) -> list[Workspace]:
    """Ask FLORA whether a key works before it replaces the one a team relies on.

    GET /workspaces, as check_connection does, but with the candidate key and nothing
    recorded: one attempt within KEY_CHECK_DEADLINE, through the team's bulkhead when the
    team exists. Returns the workspaces the key can see. Raises ValidationError, in words for
    the api_key field, when FLORA refuses the key or cannot be asked: an unproven key is not
    saved either, since the current one may still work (offline setups skip the check:
    `set_api_key --no-check`).
    """
    gate = upstream.guard_for(team_id).page_call if team_id is not None else None
    try:
        client = Flora(
            api_key=api_key,
            base_url=base_url,
            timeout=FLORA_TIMEOUT,
            max_retries=0,
            deadline=min(KEY_CHECK_DEADLINE, settings.FLORA_PAGE_DEADLINE),
            gate=gate,
            http_client=get_http_client(),
        )
        return client.workspaces.list()
    except APIStatusError as exc:
        request_id = exc.request_id or "none"
        raise ValidationError(
            f"FLORA refused this key: {describe_error(exc)} (request id {request_id}). "
            "It was not saved; the current key is kept."
        ) from None
    except FloraError as exc:
        raise ValidationError(
            f"FLORA could not be asked whether this key works: {describe_error(exc)} It was "
            "not saved; the current key is kept. Try again in a moment."
        ) from None


def record_secret_change(
    connection: FloraConnection, kind: SecretKind | str, actor: AbstractBaseUser | str
) -> SecretChange:
    """Audit one change of a secret: who, when, which team, the new hint. Never the value."""
    hint = connection.api_key_hint if kind == SecretKind.API_KEY else connection.webhook_secret_hint
    user = actor if isinstance(actor, AbstractBaseUser) else None
    label = user.get_username() if user is not None else str(actor)
    logger.info(
        "%s of team %s set to %s by %s",
        SecretKind(kind).label,
        connection.team.slug,
        hint or "(removed)",
        label,
    )
    return SecretChange.objects.create(
        team=connection.team,
        team_name=connection.team.name,
        secret=kind,
        hint=hint,
        actor=user,
        actor_label=label,
    )


@sensitive_variables("api_key", "webhook_secret")
def save_connection(
    connection: FloraConnection,
    *,
    actor: AbstractBaseUser | str,
    api_key: str | None = None,
    webhook_secret: str | None = None,
    clear_webhook_secret: bool = False,
) -> list[SecretChange]:
    """Validate and save the connection, setting the secrets given; audit each change.

    No network call: checking the connection is check_connection()'s job.
    """
    changed: list[SecretKind] = []
    if api_key is not None:
        connection.set_api_key(api_key)
        changed.append(SecretKind.API_KEY)
    if webhook_secret is not None:
        connection.set_webhook_secret(webhook_secret)
        changed.append(SecretKind.WEBHOOK_SECRET)
    elif clear_webhook_secret and connection.has_webhook_secret:
        connection.clear_webhook_secret()
        changed.append(SecretKind.WEBHOOK_SECRET)
    connection.full_clean()
    with transaction.atomic():
        connection.save()
        return [record_secret_change(connection, kind, actor) for kind in changed]
