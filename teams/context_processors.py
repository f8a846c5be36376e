from __future__ import annotations

from django.http import HttpRequest

from teams.models import FloraConnection, Team


def _connection(team: Team | None) -> FloraConnection | None:
    if team is None:
        return None
    try:
        return team.connection
    except FloraConnection.DoesNotExist:
        return None


def current_team(request: HttpRequest) -> dict[str, object]:
    team: Team | None = getattr(request, "team", None)
    connection = _connection(team)
    return {
        "current_team": team,
        "current_membership": getattr(request, "membership", None),
        "user_memberships": getattr(request, "user_memberships", []),
        "current_team_on_sandbox": connection is not None and connection.is_sandbox,
    }
