"""Today's export, before issue 19, kept verbatim as the reference: runs:export streamed
these rows from the web request (model instances, reverse() per row). The worker's file
(runs.csv_export) must equal them cell for cell (tests/exports/test_content.py), and
bench/export.py times them side by side with the new path.

Only the imports and the view's own lines were changed: old_csv_rows is `_csv_rows`, and
old_queryset what the view handed it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse

from runs import history
from runs.models import Run

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


def old_csv_rows(runs: QuerySet[Run], base_url: str) -> Iterator[str]:
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


def old_queryset(team, query: str) -> QuerySet[Run]:
    form = history.filter_form(QueryDict(query), team)
    return history.filtered(team, form).select_related("created_by").order_by("-created_at", "-id")
