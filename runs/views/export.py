"""The CSV export of the team's run history, with the list's filters (runs:export)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from runs import history
from runs.models import Run
from teams.access import require_membership

CSV_HEADER = [
    "run",
    "started_at",
    "technique_id",
    "technique",
    "status",
    "progress_percent",
    "started_by",
    "origin",
    "workspace",
    "project",
    "duration_seconds",
    "cost_usd",
    "error_code",
    "error_message",
    "flora_run_id",
    "url",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_rows(runs: QuerySet[Run], base_url: str) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for run in runs.iterator(chunk_size=2000):
        duration = run.duration_seconds
        yield writer.writerow(
            [
                csv_cell(value)
                for value in (
                    run.code,
                    run.created_at.isoformat(),
                    run.technique_id,
                    run.technique_name,
                    run.status,
                    run.progress_percent,
                    run.created_by.get_username() if run.created_by else "",
                    run.origin,
                    run.workspace_id,
                    run.project_id,
                    "" if duration is None else f"{duration:.1f}",
                    "" if run.charged_cost is None else f"{run.charged_cost:.4f}",
                    run.error_code,
                    run.error_message,
                    run.flora_run_id or "",
                    base_url + reverse("runs:detail", args=[run.code]),
                )
            ]
        )


@require_safe
def export_csv(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    team = membership.team
    form = history.filter_form(request.GET, team)
    runs = history.filtered(team, form).select_related("created_by").order_by("-created_at", "-id")
    # In UTC, as the file's times are, whatever zone the viewer's pages use.
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        _csv_rows(runs, request.build_absolute_uri("/").rstrip("/")),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="runs-{team.slug}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
