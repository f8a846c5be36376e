"""The team's run history (/runs/) and "Refresh from FLORA".

What the list shows is read by runs/history.py; the CSV export is runs/views/export.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from runs import history
from runs.money import attach_reservations
from runs.sync import sync_team
from teams.access import require_membership, require_role
from teams.models import Role
from teams.permissions import can_refresh_from_flora, can_see_spend


@require_safe
def run_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    team = membership.team
    form = history.filter_form(request.GET, team)
    runs = history.filtered(team, form)
    before = history.cursor_run(team, request.GET.get("before"))
    after = history.cursor_run(team, request.GET.get("after"))
    rows, has_newer, has_older = history.page(runs, before, after)
    if after is not None and not rows:
        # Nothing newer than the cursor any more: that is the first page.
        rows, has_newer, has_older = history.page(runs, None, None)
    history.attach_thumbs(rows)
    attach_reservations(rows)
    counts = history.counts(team, form, with_spend=can_see_spend(membership))
    ctx = {
        "nav": "runs",
        "team": team,
        "form": form,
        "runs": rows,
        "has_newer": has_newer,
        "has_older": has_older,
        "first_code": rows[0].code if rows else "",
        "last_code": rows[-1].code if rows else "",
        **counts,
        "can_refresh": can_refresh_from_flora(membership),
        "filter_query": history.filter_query(request.GET),
        "is_paged": bool(request.GET.get("before") or request.GET.get("after")),
    }
    return render(request, "runs/list.html", ctx)


@require_POST
def sync_from_flora(request: HttpRequest) -> HttpResponse:
    """The "Refresh from FLORA" button: import outside runs now, then back to the list."""
    # It calls FLORA with the team's key: as for starting runs, viewers may not.
    membership = require_role(request, Role.MEMBER)
    team = membership.team
    # A short top-of-history pass: the person is waiting; older history is the worker's.
    report = sync_team(team.pk, max_pages=2, backfill_pages=0, interactive=True)
    if report.busy:
        messages.info(request, "A refresh from FLORA is already running; reload in a moment.")
    elif report.error:
        suffix = f" (request id {report.request_id})" if report.request_id else ""
        messages.error(request, f"Could not refresh from FLORA: {report.error}{suffix}")
    elif report.imported:
        n = len(report.imported)
        messages.success(
            request,
            f"Imported {n} run{'s' if n != 1 else ''} started outside the dashboard.",
        )
    else:
        messages.success(request, "Up to date: no new runs in FLORA.")
    # Back to the same filtered view (re-encoded, so only a query string can come through).
    query = QueryDict(request.POST.get("query", "")[:2000]).copy()
    for name in ("before", "after"):
        query.pop(name, None)
    target = reverse("runs:list")
    return redirect(f"{target}?{query.urlencode()}" if query else target)
