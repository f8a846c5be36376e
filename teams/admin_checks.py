"""What the admin console says after checking a team's FLORA connection."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from flora import FloraError
from florasite.lib.flora_words import describe_error
from teams import services
from teams.models import FloraConnection, SecretUnavailable, Team


def check_and_report(admin_: admin.ModelAdmin, request: HttpRequest, team: Team) -> None:
    """Run the connection check (GET /workspaces) and tell the admin what FLORA said."""
    try:
        connection = team.connection
    except FloraConnection.DoesNotExist:
        admin_.message_user(request, f"{team.name} has no FLORA connection yet.", messages.WARNING)
        return
    try:
        # An admin waits on this page: a short call, no retries (the page says what failed).
        workspaces = services.check_connection(connection, deadline=10.0, interactive=True)
    except services.NoConnection as exc:
        admin_.message_user(request, str(exc), messages.WARNING)
        return
    except SecretUnavailable as exc:
        admin_.message_user(request, str(exc), messages.ERROR)
        return
    except FloraError as exc:
        request_id = getattr(exc, "request_id", None) or "none"
        admin_.message_user(
            request,
            f"FLORA refused the connection of {team.name}: {describe_error(exc)} "
            f"(request id {request_id}).",
            messages.ERROR,
        )
        return
    listed = ", ".join(f"{ws.name} ({ws.workspace_id})" for ws in workspaces) or "none"
    admin_.message_user(
        request, f"Connection of {team.name} OK. Workspaces this key can see: {listed}."
    )
    if not connection.workspace_ids:
        admin_.message_user(
            request, "Now choose the workspaces the team may use, and save.", messages.WARNING
        )
        return
    seen = {ws.workspace_id for ws in workspaces}
    missing = [ws for ws in connection.workspace_ids if ws not in seen]
    if missing:
        admin_.message_user(
            request,
            f"This key cannot see the team's workspace(s) {', '.join(missing)}.",
            messages.WARNING,
        )


def needs_workspaces(team: Team) -> bool:
    try:
        return not team.connection.workspace_ids
    except FloraConnection.DoesNotExist:
        return False
