"""Access helpers for run views: the current team's run, or 404 for anyone else's."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from runs.models import Run
from teams.access import require_membership
from teams.models import Membership

FragmentView = Callable[[HttpRequest, str], HttpResponse]


def get_run_for_member(request: HttpRequest, code: str, *, with_creator: bool = True) -> Run:
    """The current team's run with this code; 404 for anyone else's (never 403: no oracle).

    ``with_creator=False`` skips the join on the user table, for the polled status fragment,
    which never shows who started the run.
    """
    membership = require_membership(request)
    runs = Run.objects.select_related("created_by") if with_creator else Run.objects.all()
    return get_object_or_404(runs, code=code, team=membership.team)


def other_team_membership(request: HttpRequest, code: str) -> Membership | None:
    """The user's membership of the team that owns this run, when it is not the current one.

    Only for a user who is a member there too, so the answer tells nobody else anything.
    """
    owner = Run.objects.filter(code=code).values_list("team_id", flat=True).first()
    memberships: list[Membership] = getattr(request, "user_memberships", [])
    return next((m for m in memberships if m.team_id == owner), None)


def run_page_fragment(view: FragmentView) -> FragmentView:
    """For a view that answers htmx with a part of the run page (``view(request, code)``).

    A browser tab that opens its URL (no htmx) is sent to the run page, which shows the
    same and more; someone else's run is 404 first, as everywhere.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, code: str) -> HttpResponse:
        if not request.htmx:  # type: ignore[attr-defined]
            run = get_run_for_member(request, code, with_creator=False)
            return redirect("runs:detail", code=run.code)
        return view(request, code)

    return wrapper
