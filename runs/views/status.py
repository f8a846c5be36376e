"""The live status fragment polled by htmx on the run page and on history rows.

It reads the database. At most one caller per run per interval (whichever wins the claim in
runs.refresh) asks FLORA first; everyone else reads what the winner wrote. When the run is
terminal it answers 286, which tells htmx to stop polling; for the run page
(``?page=detail``) the body also carries the outputs section (runs/_outputs.html, whose root
is ``#run-outputs``), which the polling element swaps in out of band
(``hx-select-oob="#run-outputs"``), so the page shows the results without a reload.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from runs.access import get_run_for_member
from runs.refresh import refresh_if_due
from runs.views.history import attach_thumbs

# Which page polls: the run page's status box (the default), or a row of the history.
PAGE_DETAIL = "detail"
PAGE_LIST = "list"


@require_safe
@never_cache
@vary_on_headers("HX-Request")
def run_status(request: HttpRequest, code: str) -> HttpResponse:
    for_row = request.GET.get("page") == PAGE_LIST
    run = get_run_for_member(request, code, with_creator=for_row)
    if not request.htmx:
        # Opened in a browser tab (no htmx): the run page shows the same, and more.
        return redirect("runs:detail", code=run.code)
    # The team and its FLORA connection are already loaded by the middleware.
    run.team = request.membership.team
    run = refresh_if_due(run)
    status = HTMX_STOP_POLLING if run.is_terminal else 200
    if for_row:
        attach_thumbs([run])
        return render(request, "runs/_history_rows.html#row", {"run": run}, status=status)
    ctx = {
        "run": run,
        # Only the run page has an outputs section to fill in.
        "status_oob_outputs": run.is_terminal and request.GET.get("page") == PAGE_DETAIL,
    }
    return render(request, "runs/_status.html", ctx, status=status)
