"""Access helper for run views: the current team's run, or 404 for anyone else's."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from runs.models import Run
from teams.access import require_membership


def get_run_for_member(request: HttpRequest, code: str, *, with_creator: bool = True) -> Run:
    """The current team's run with this code; 404 for anyone else's (never 403: no oracle).

    ``with_creator=False`` skips the join on the user table, for the polled status fragment,
    which never shows who started the run.
    """
    membership = require_membership(request)
    runs = Run.objects.select_related("created_by") if with_creator else Run.objects.all()
    return get_object_or_404(runs, code=code, team=membership.team)
