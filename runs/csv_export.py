"""The run history as CSV: its columns, its cells, and the fast writer the exports app runs in
the worker (exports.services) to write a team's whole filtered history into a file.

The file is what `runs:export` streamed from the web request before issue 19, cell for cell:
the same header, the same values, times in UTC (ISO 8601), and every cell a spreadsheet
would run as a formula quoted as text (csv_cell). What changed is how the rows are read:
`values_list` of the columns the cells need (no model instances, no join beyond the
starter's username), in keyset chunks on (created_at, id) that the `run_team_recent` index
serves, the run page's URL made from a prefix computed once instead of reverse() per row,
and, on SQLite, the times read as text and parsed by datetime.fromisoformat instead of
Django's converters.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import F, Q, TextField
from django.db.models.functions import Cast
from django.http import QueryDict
from django.urls import reverse

from runs import history
from runs.models import TERMINAL_STATUSES, RunStatus
from teams.models import Team

__all__ = ["CHUNK_ROWS", "CSV_HEADER", "csv_cell", "detail_url_prefix", "write_history_csv"]

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
_FORMULA_FIRST = frozenset(_FORMULA_START)
# The cells write_history_csv checks for a formula start: the others are ours and cannot
# start with one (a time, a status, a percentage, an origin, a duration of at least 0, the
# run page's URL after the site's base URL). The code is checked: run codes may start with -.
_CHECKED = (0, 2, 3, 6, 8, 9, 11, 12, 13, 14)
# Rows read per query: large enough that the queries cost little, small enough to bound memory.
CHUNK_ROWS = 5000
# Run codes as runs.models.new_run_code makes them: their URL needs no quoting.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_-]+\Z").match
_TERMINAL = frozenset(str(s) for s in TERMINAL_STATUSES)
_COMPLETED = str(RunStatus.COMPLETED)
_PROBE = "RUNCODE"


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is quoted as text (CSV injection).
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def detail_url_prefix(base_url: str) -> tuple[str, str]:
    """The run page's absolute URL around a code: (prefix, suffix), from one reverse()."""
    path = reverse("runs:detail", args=[_PROBE])
    before, _, after = path.partition(_PROBE)
    return base_url + before, after


def _progress(status: str, progress: float) -> int:
    # Run.progress_percent, on the row's two columns.
    if status == _COMPLETED:
        return 100
    if not math.isfinite(progress):
        return 0
    value = progress * 100 if 0 < progress < 1 else progress
    return max(0, min(100, round(value)))


_TIMES = ("created_at", "flora_created_at", "submitted_at", "completed_at")


def _sqlite_time(text: str | None) -> datetime | None:
    """A DateTimeField's text as SQLite keeps it, read as Django's converters read it (UTC
    when it names no offset), in a fraction of their time: they were the largest part of
    the export's cost per row (parse_datetime's regular expression and make_aware, per
    column, per row)."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _sqlite_iso(text: str) -> str:
    """`_sqlite_time(text).isoformat()`, by string for the two shapes Django writes (UTC, with
    or without microseconds)."""
    if text[10:11] == " " and (len(text) == 19 or (len(text) == 26 and text[19] == ".")):
        return text[:10] + "T" + text[11:] + "+00:00"
    return _sqlite_time(text).isoformat()  # type: ignore[union-attr]


def _sqlite_seconds(start: str, end: str) -> float:
    """Seconds from one time's text to another's."""
    a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
    if (a.tzinfo is None) != (b.tzinfo is None):  # one names an offset: both as UTC-aware
        a, b = _sqlite_time(start), _sqlite_time(end)  # type: ignore[assignment]
    return (b - a).total_seconds()


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _time_columns(runs: Any) -> tuple[Any, list[str], Callable, Callable, Callable]:
    """The time columns to read and how to read them: (queryset, columns, as a datetime,
    as the cell's ISO text, seconds between two). On SQLite as text, without Django's
    converters; elsewhere as the database driver gives them (psycopg: aware datetimes)."""
    if connections[runs.db].vendor != "sqlite":
        return runs, list(_TIMES), lambda value: value, datetime.isoformat, _seconds
    casts = {f"{name}_text": Cast(F(name), TextField()) for name in _TIMES}
    return runs.annotate(**casts), list(casts), _sqlite_time, _sqlite_iso, _sqlite_seconds


def write_history_csv(
    team: Team,
    query: str,
    base_url: str,
    out: IO[str],
    *,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write the team's runs matching the history filters `query` (a history URL's query
    string) to `out` (text, opened with newline=""), newest first; returns the rows written.

    `on_chunk(rows_so_far)` is called after each chunk (the worker renews its claim there,
    and may raise to stop).
    """
    # Validated as the history validates them, without listing the choices (the same fields
    # and checks: the choices only feed the page's select boxes).
    form = history.summary_form(QueryDict(query), team)
    runs = history.filtered(team, form)
    username = f"created_by__{get_user_model().USERNAME_FIELD}"
    runs, times, read_time, iso, seconds_between = _time_columns(runs)
    created, flora_created, submitted, completed = times
    columns = runs.values_list(
        "pk",
        "code",
        created,
        "technique_id",
        "technique_name",
        "status",
        "progress",
        username,
        "origin",
        "workspace_id",
        "project_id",
        flora_created,
        submitted,
        completed,
        "charged_cost",
        "error_code",
        "error_message",
        "flora_run_id",
    ).order_by("-created_at", "-id")
    prefix, suffix = detail_url_prefix(base_url)
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    formula = _FORMULA_FIRST
    written = 0
    last: tuple[Any, int] | None = None
    while True:
        chunk = columns
        if last is not None:
            # The plain range lets the index seek; the OR breaks created_at ties by id.
            chunk = chunk.filter(created_at__lte=last[0]).filter(
                Q(created_at__lt=last[0]) | Q(pk__lt=last[1])
            )
        rows = list(chunk[:CHUNK_ROWS])
        if not rows:
            break
        lines = []
        for (
            _pk,
            code,
            created_at,
            technique_id,
            technique_name,
            status,
            progress,
            user,
            origin,
            workspace_id,
            project_id,
            flora_created_at,
            submitted_at,
            completed_at,
            cost,
            error_code,
            error_message,
            flora_run_id,
        ) in rows:
            if status in _TERMINAL and completed_at is not None:
                start = flora_created_at or submitted_at or created_at
                duration = f"{max(0.0, seconds_between(start, completed_at)):.1f}"
            else:
                duration = ""
            url = (
                prefix + code + suffix
                if _PLAIN_CODE(code)
                else base_url + reverse("runs:detail", args=[code])
            )
            cells = [
                code,
                iso(created_at),
                technique_id,
                technique_name,
                status,
                str(_progress(status, progress)),
                user or "",
                origin,
                workspace_id,
                project_id,
                duration,
                "" if cost is None else f"{cost:.4f}",
                error_code,
                error_message,
                flora_run_id or "",
                url,
            ]
            for i in _CHECKED:
                if cells[i][:1] in formula:
                    cells[i] = "'" + cells[i]
            lines.append(cells)
        writer.writerows(lines)
        written += len(rows)
        last = (read_time(rows[-1][2]), rows[-1][0])
        if on_chunk is not None:
            on_chunk(written)
        if len(rows) < CHUNK_ROWS:
            break
    return written
