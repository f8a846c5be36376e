"""Access helpers for run views: the run, or 404 for other teams, or 403 for low roles."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from runs.models import Run
from teams.access import require_membership, require_role


def get_run_for_member(request: HttpRequest, code: str) -> Run:
    """The current team's run with this code; 404 for anyone else's (never 403: no oracle)."""
    membership = require_membership(request)
    return get_object_or_404(
        Run.objects.select_related("created_by"), code=code, team=membership.team
    )


def get_run_for_role(request: HttpRequest, code: str, role: str) -> Run:
    """As get_run_for_member, then PermissionDenied when the member's role is below ``role``."""
    run = get_run_for_member(request, code)
    require_role(request, role)
    return run


def not_found(message: str = "This run does not exist, or belongs to another team.") -> Http404:
    return Http404(message)
