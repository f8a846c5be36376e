"""The live status fragments polled by htmx: the run page's status box and a history row.

They read the database. At most one caller per run per interval (whichever wins the claim in
runs.refresh) asks FLORA first; everyone else reads what the winner wrote. When the run is
terminal they answer 286, which tells htmx to stop polling; for the run page the body then
also carries the outputs section (runs/_outputs.html, whose root is ``#run-outputs``), which
the polling element swaps in out of band (``hx-select-oob="#run-outputs"``), so the page
shows the results without a reload.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from florasite.lib.prepared import PreparedGet
from runs import history
from runs.access import get_run_for_member, run_page_fragment
from runs.models import Run
from runs.refresh import refresh_if_due
from runs.views.run_page import outputs_context
from teams.access import require_membership
from teams.permissions import can_see_spend

# What the polled status box (runs/_status.html, _title.html) and runs.refresh read of a run
# in flight: no JSON column (inputs, outputs_raw), no text it does not show. A refresh that
# asks FLORA re-reads the whole row under its lock (runs.refresh), and the final answer
# reads it whole for the outputs section; a deferred field read anywhere else would be one
# more query per poll (tests/runs/test_status_fragment_queries.py counts them).
STATUS_FIELDS = (
    "id",
    "code",
    "team_id",
    "technique_id",
    "technique_name",
    "flora_run_id",
    "status",
    "progress",
    "created_at",
    "submitted_at",
    "flora_created_at",
    "completed_at",
    "refresh_claimed_until",
    "refresh_failures",
    "stale",
)
# The run by code within the team, compiled once per connection (florasite.lib.prepared):
# each poll only executes it.
_STATUS_RUN = PreparedGet(Run, ("code", "team_id"), STATUS_FIELDS)


def _refreshed(request: HttpRequest, run: Run) -> Run:
    """The run as it is now: asked of FLORA first if this caller wins the refresh claim."""
    # The team and its FLORA connection are already loaded by the middleware.
    run.team = require_membership(request).team
    return refresh_if_due(run)


@require_safe
@never_cache
@vary_on_headers("HX-Request")
@run_page_fragment
def run_status(request: HttpRequest, code: str) -> HttpResponse:
    """The run page's status box; once the run has ended, its outputs section too."""
    if request.GET.get("page") == "list":
        # What history rows polled before they had runs:status_row (tabs open across a deploy).
        return run_status_row(request, code)
    membership = require_membership(request)
    run = _STATUS_RUN.get(code, membership.team.pk)
    if run is None:
        raise Http404("No such run.")
    run = _refreshed(request, run)
    if run.is_terminal and run.get_deferred_fields():
        # The last answer shows the outputs, from the whole row (once per viewer).
        run = Run.objects.get(pk=run.pk)
        run.team = membership.team
    # The tab title rides along, so it changes when the run does (templates/runs/_title.html).
    ctx = {"run": run, "status_oob_outputs": run.is_terminal, "status_title": True}
    if run.is_terminal:
        # The page was rendered while the run was in flight: its side column is out of date.
        ctx |= outputs_context(run, require_membership(request), aside_stale=True)
    if run.is_terminal:
        return render(request, "runs/_status.html", ctx, status=HTMX_STOP_POLLING)
    # The box in flight needs nothing of the context processors (user, team, messages...):
    # every viewer's poll renders it with its own context only.
    return HttpResponse(get_template("runs/_status.html").render(ctx))


@require_safe
@never_cache
@vary_on_headers("HX-Request")
@run_page_fragment
def run_status_row(request: HttpRequest, code: str) -> HttpResponse:
    """One row of the history, while its run is in flight.

    The row's URL carries the history's filters. When its run has ended, the answer also
    carries the status counts, out of band: they change only then (a row in flight polls
    until it ends, so this is once per row), and the polls in between cost no count query.
    """
    run = get_run_for_member(request, code)
    run = _refreshed(request, run)
    history.attach_thumbs([run])
    ctx: dict[str, object] = {"run": run, "filter_query": history.filter_query(request.GET)}
    if run.is_terminal:
        membership = require_membership(request)
        form = history.summary_form(request.GET, membership.team)
        ctx |= history.counts(membership.team, form, with_spend=can_see_spend(membership))
        ctx["counts_oob"] = True
    status = HTMX_STOP_POLLING if run.is_terminal else 200
    return render(request, "runs/_history_rows.html#row_update", ctx, status=status)
