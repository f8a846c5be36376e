"""Access helpers every product view starts with.

    membership = require_membership(request)         # 404 without a current team
    membership = require_role(request, Role.MEMBER)  # and 403 if the role is too low
    run = get_for_team_or_404(request, Run.objects, code=code)

Another team's objects answer 404 (never 403), so a URL does not even confirm that they
exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest

from teams.models import Membership, role_rank

if TYPE_CHECKING:
    from teams.models import Team

__all__ = ["get_for_team_or_404", "require_membership", "require_role"]

M = TypeVar("M", bound=models.Model)


def require_membership(request: HttpRequest) -> Membership:
    """The membership of the current team (set by CurrentTeamMiddleware), else 404."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404("You are not a member of any team.")
    return membership


def require_role(request: HttpRequest, role: str) -> Membership:
    """As require_membership, and PermissionDenied (403) below `role`."""
    role_rank(role)  # an unknown role name is a programming error, not a 403
    membership = require_membership(request)
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {role} role in {membership.team.name}.")
    return membership


def get_for_team_or_404(
    request: HttpRequest, queryset: models.QuerySet[M] | type[M], **lookup: object
) -> M:
    """One object of the current team (its `team` field), else 404."""
    membership = require_membership(request)
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    team: Team = membership.team
    try:
        return queryset.get(team=team, **lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError) as exc:
        # A malformed id (not a number, not a UUID) is "not found" too.
        raise Http404("Not found.") from exc
