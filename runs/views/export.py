"""runs:export, the CSV export's old address (/runs/export.csv?<filters>).

Since issue 19 the history's CSV is written by the worker (the exports app; the file's
format is runs.csv_export): a link to this address (a bookmark, a link in a wiki) is sent to
the page that starts an export of the same filters. A GET starts nothing by itself: one
button press does.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from runs import history
from teams.access import require_membership


@require_safe
def export_csv(request: HttpRequest) -> HttpResponse:
    require_membership(request)
    query = history.filter_query(request.GET)
    target = reverse("exports:new")
    return redirect(f"{target}?{query}" if query else target)
