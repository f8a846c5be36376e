"""The live status fragments polled by htmx: the run page's status box and a history row.

They read the database. At most one caller per run per interval (whichever wins the claim in
runs.refresh) asks FLORA first; everyone else reads what the winner wrote. When the run is
terminal they answer 286, which tells htmx to stop polling; for the run page the body then
also carries the outputs section (runs/_outputs.html, whose root is ``#run-outputs``), which
the polling element swaps in out of band (``hx-select-oob="#run-outputs"``), so the page
shows the results without a reload.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import Context, Template
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils.cache import patch_vary_headers
from django.utils.html import conditional_escape
from django.views.decorators.http import require_safe
from django_htmx.http import HTMX_STOP_POLLING

from florasite.lib.prepared import PreparedGet
from florasite.templatetags.florasite import duration
from runs import history
from runs.access import get_run_for_member, run_page_fragment
from runs.models import Run
from runs.refresh import refresh_if_due
from runs.templatetags.run_live import poll_ms, run_box
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


# The box in flight, rendered once per state of the run and kept per process. Between two
# changes of a run, every viewer's poll got the same bytes but for the elapsed time, which
# is put back in each answer in place of a mark. A render is kept by what decides it: the
# template (the engine's own object, one per process; one edited under runserver's reloader
# is a new object, so a new key) and the run's columns that run_box reads (the template
# reads nothing else; tests/runs/test_status_box_cache.py checks the key against it), with
# the poll pace in place of the age it is computed from.
IN_FLIGHT_RENDERS = 1024
_ELAPSED_MARK = f"\x00{secrets.token_hex(8)}\x00"
_kept: dict[tuple[object, ...], str] = {}
_keeping = threading.Lock()


def box_key(template: Template, run: Run) -> tuple[object, ...]:
    """What the box of a run in flight shows but for the elapsed time (see run_box)."""
    return (
        template,
        run.code,
        run.status,
        run.progress,
        run.technique_name,
        run.stale,
        run.refresh_failures,
        poll_ms(run),
        get_script_prefix(),
        get_urlconf(),
    )


def in_flight_html(run: Run) -> str:
    """The polled status box of a run in flight, with the tab title (runs/_status.html)."""
    # The engine's own template (get_template's wrapper is a new object on every call).
    template = get_template("runs/_status.html").template
    key = box_key(template, run)
    html = _kept.get(key)
    if html is None:
        box = run_box(run)
        box["elapsed"] = _ELAPSED_MARK
        # No context processors (user, team, messages...): the box needs none of them.
        context = Context(
            {"box": box, "status_title": True, "status_oob_outputs": False},
            autoescape=template.engine.autoescape,
        )
        html = template.render(context)
        with _keeping:
            if len(_kept) >= IN_FLIGHT_RENDERS:
                del _kept[next(iter(_kept))]  # the oldest
            _kept[key] = html
    return html.replace(_ELAPSED_MARK, conditional_escape(duration(run.elapsed_seconds())))


# never_cache's and vary_on_headers("HX-Request")'s headers, written once: the status polls
# are most of the requests, and patching them on each (parsing and rebuilding Cache-Control,
# formatting the date for Expires) took a sixth of the polled view's own time. An Expires in
# the past says what never_cache's "now" does: already stale.
POLLED_HEADERS = {
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private",
}


def _polled(view: Callable[[HttpRequest, str], HttpResponse]) -> Callable[..., HttpResponse]:
    """never_cache and vary_on_headers("HX-Request") for a polled fragment, cheaper."""

    @wraps(view)
    def wrapper(request: HttpRequest, code: str) -> HttpResponse:
        response = view(request, code)
        for name, value in POLLED_HEADERS.items():
            response.headers[name] = value
        patch_vary_headers(response, ("HX-Request",))
        return response

    return wrapper


def _refreshed(request: HttpRequest, run: Run) -> Run:
    """The run as it is now: asked of FLORA first if this caller wins the refresh claim."""
    # The team and its FLORA connection are already loaded by the middleware.
    run.team = require_membership(request).team
    return refresh_if_due(run)


@require_safe
@_polled
@run_page_fragment
def run_status(request: HttpRequest, code: str) -> HttpResponse:
    """The run page's status box; once the run has ended, its outputs section too."""
    # (A poll has no query string: no need to parse one.)
    if request.META.get("QUERY_STRING") and request.GET.get("page") == "list":
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
    if not run.is_terminal:
        # The tab title rides along, so it changes when the run does (runs/_title.html).
        return HttpResponse(in_flight_html(run))
    ctx = {"run": run, "status_oob_outputs": True, "status_title": True}
    # The page was rendered while the run was in flight: its side column is out of date.
    ctx |= outputs_context(run, membership, aside_stale=True)
    return render(request, "runs/_status.html", ctx, status=HTMX_STOP_POLLING)


@require_safe
@_polled
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
