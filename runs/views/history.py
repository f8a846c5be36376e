"""The team's run history (/runs/), its CSV export, and "Refresh from FLORA".

Filters live in the query string, so a filtered view is a link a teammate can open.
Pagination is by keyset (created_at, id) from a run code, so page 2,000 costs what page 1
costs, and every page runs the same few queries whatever the team's size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from florasite.lib.net import http_url
from runs.models import (
    IN_FLIGHT_STATUSES,
    OutputKeepStatus,
    Run,
    RunOrigin,
    RunOutput,
    RunStatus,
)
from runs.sync import sync_team
from teams.access import require_membership, require_role
from teams.models import FloraConnection, Membership, Role, Team
from teams.permissions import can_refresh_from_flora, can_see_spend

PAGE_SIZE = 50
# Techniques and projects offered in the filters: two DISTINCT scans of the team's runs,
# cached briefly so that paging through 100,000 runs does not repeat them on every page.
FACETS_TTL = 60
# Also keyed by the team's newest run: a technique run for the first time is offered at once.
FACETS_KEY = "runs:history-facets:v2:{team}:{newest}"

IN_PROGRESS = "in_progress"
OUTSIDE = "outside"
STATUS_CHOICES = [
    ("", "Any status"),
    (IN_PROGRESS, "In progress"),
    (RunStatus.COMPLETED, "Completed"),
    (RunStatus.FAILED, "Failed"),
    (RunStatus.FAILED_TO_START, "Failed to start"),
    (RunStatus.RUNNING, "Running"),
    (RunStatus.PENDING, "Pending"),
    (RunStatus.SUBMITTING, "Submitting"),
    (RunStatus.CHECKING, "Checking with FLORA"),
]
# The summary chips above the table, in this order.
SUMMARY = [
    (IN_PROGRESS, "In progress"),
    (RunStatus.COMPLETED, "Completed"),
    (RunStatus.FAILED, "Failed"),
    (RunStatus.FAILED_TO_START, "Failed to start"),
]


# -- filters -------------------------------------------------------------------------------


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    technique = forms.CharField(max_length=200, required=False, widget=forms.Select)
    member = forms.CharField(max_length=150, required=False, widget=forms.Select)
    workspace = forms.ChoiceField(required=False)
    project = forms.CharField(max_length=100, required=False, widget=forms.Select)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        data: QueryDict,
        *,
        techniques: list[tuple[str, str]],
        members: list[tuple[str, str]],
        workspaces: list[str],
        projects: list[str],
    ) -> None:
        super().__init__(data)
        # Select widgets offer what exists; a bookmarked value that no longer appears in the
        # list (a renamed technique, a member who left) still filters, and stays selected.
        self.fields["technique"].widget.choices = _with_current(
            [("", "Any technique"), *techniques], data.get("technique")
        )
        self.fields["member"].widget.choices = _with_current(
            [("", "Anyone"), (OUTSIDE, "Started outside the dashboard"), *members],
            data.get("member"),
        )
        self.fields["workspace"].choices = [("", "Any workspace")] + [(w, w) for w in workspaces]
        self.fields["project"].widget.choices = _with_current(
            [("", "Any project")] + [(p, p) for p in projects], data.get("project")
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
            cleaned.pop("date_to", None)
        return cleaned


def _with_current(choices: list[tuple[str, str]], current: str | None) -> list[tuple[str, str]]:
    if current and current not in {value for value, _ in choices}:
        return [*choices, (current, current)]
    return choices


def _facets(team: Team) -> dict[str, list]:
    # One index seek (run_team_recent); a run started since the last look renews the choices.
    newest = (
        Run.objects.filter(team=team)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    key = FACETS_KEY.format(team=team.pk, newest=newest or 0)
    facets = cache.get(key)
    if facets is None:
        names: dict[str, str] = {}
        rows = (
            Run.objects.filter(team=team)
            .order_by()
            .values_list("technique_id", "technique_name")
            .distinct()
        )
        for technique_id, name in rows:
            names.setdefault(technique_id, name or technique_id)
        projects = (
            Run.objects.filter(team=team)
            .exclude(project_id="")
            .order_by()
            .values_list("project_id", flat=True)
            .distinct()
        )
        facets = {
            "techniques": sorted(names.items(), key=lambda item: item[1].lower()),
            "projects": sorted(projects),
        }
        cache.set(key, facets, FACETS_TTL)
    return facets


def _workspaces(team: Team) -> list[str]:
    try:
        return list(team.connection.workspace_ids)
    except FloraConnection.DoesNotExist:
        return []


def _members(team: Team) -> list[tuple[str, str]]:
    usernames = (
        Membership.objects.filter(team=team)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )
    return [(name, name) for name in usernames]


def _filter_form(request: HttpRequest, team: Team) -> HistoryFilterForm:
    facets = _facets(team)
    form = HistoryFilterForm(
        request.GET,
        techniques=facets["techniques"],
        members=_members(team),
        workspaces=_workspaces(team),
        projects=facets["projects"],
    )
    form.is_valid()
    return form


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filtered(team: Team, form: HistoryFilterForm, *, with_status: bool = True) -> QuerySet[Run]:
    """The team's runs matching the form's valid fields (an invalid field is not applied)."""
    runs = Run.objects.filter(team=team)
    data = form.cleaned_data
    if with_status and data.get("status"):
        if data["status"] == IN_PROGRESS:
            runs = runs.filter(status__in=IN_FLIGHT_STATUSES)
        else:
            runs = runs.filter(status=data["status"])
    if data.get("technique"):
        runs = runs.filter(technique_id=data["technique"])
    if data.get("member") == OUTSIDE:
        runs = runs.filter(origin=RunOrigin.EXTERNAL)
    elif data.get("member"):
        runs = runs.filter(created_by__username=data["member"])
    if data.get("workspace"):
        runs = runs.filter(workspace_id=data["workspace"])
    if data.get("project"):
        runs = runs.filter(project_id=data["project"])
    if data.get("date_from"):
        runs = runs.filter(created_at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        runs = runs.filter(created_at__lt=_day_start(data["date_to"] + timedelta(days=1)))
    return runs


# -- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thumb:
    url: str
    kept: bool


def _first_image(run: Run) -> tuple[int, str] | None:
    for position, output in enumerate(run.outputs_raw or []):
        if isinstance(output, dict) and output.get("type") == "imageUrl" and output.get("url"):
            return position, str(output["url"])
    return None


def attach_thumbs(runs: list[Run]) -> None:
    """Set run.thumb (or None): the first image output, our kept copy when there is one.

    One query for the whole page, whatever its size.
    """
    firsts = {run.pk: _first_image(run) for run in runs}
    wanted = [pk for pk, first in firsts.items() if first is not None]
    kept: set[tuple[int, int]] = set()
    if wanted:
        kept = set(
            RunOutput.objects.filter(
                run_id__in=wanted, keep_status=OutputKeepStatus.KEPT
            ).values_list("run_id", "position")
        )
    for run in runs:
        first = firsts[run.pk]
        # For runs without an image: the kind of their first output, shown as a label.
        run.output_label = next(
            (
                str(o["type"])
                for o in run.outputs_raw or []
                if isinstance(o, dict) and o.get("type")
            ),
            "",
        )
        if first is None:
            run.thumb = None
            continue
        position, source_url = first
        if (run.pk, position) in kept:
            run.thumb = Thumb(reverse("runs:output", args=[run.code, position]), kept=True)
        elif http_url(source_url):
            run.thumb = Thumb(source_url, kept=False)
        else:
            run.thumb = None


# -- pagination ----------------------------------------------------------------------------


def _cursor_run(team: Team, code: str | None) -> Run | None:
    if not code or len(code) > 16:
        return None
    return Run.objects.filter(team=team, code=code).only("pk", "created_at").first()


def _page(
    runs: QuerySet[Run], before: Run | None, after: Run | None
) -> tuple[list[Run], bool, bool]:
    """One page, newest first; returns (rows, has_newer, has_older)."""
    runs = runs.select_related("created_by")
    if after is not None:
        # Newer than the cursor: walk up in ascending order, then show newest first.
        newer = runs.filter(created_at__gte=after.created_at).filter(
            Q(created_at__gt=after.created_at) | Q(pk__gt=after.pk)
        )
        rows = list(newer.order_by("created_at", "id")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        rows.reverse()
        return rows, has_newer, True
    if before is not None:
        # The plain range condition lets the index seek; the OR breaks created_at ties by id.
        runs = runs.filter(created_at__lte=before.created_at).filter(
            Q(created_at__lt=before.created_at) | Q(pk__lt=before.pk)
        )
    rows = list(runs.order_by("-created_at", "-id")[: PAGE_SIZE + 1])
    has_older = len(rows) > PAGE_SIZE
    return rows[:PAGE_SIZE], before is not None, has_older


def _summary(
    team: Team, form: HistoryFilterForm, *, with_spend: bool
) -> tuple[list[dict[str, Any]], int, Decimal]:
    """Counts per status (over every filter but status) and spend, in one GROUP BY query.

    Without spend the counts come from the (team, status, created_at) index alone; the sum
    of costs has to read every row, so only the people who see it pay for it.
    """
    aggregates: dict[str, Any] = {"n": Count("id")}
    if with_spend:
        aggregates["spend"] = Sum("charged_cost")
    grouped = (
        _filtered(team, form, with_status=False).order_by().values("status").annotate(**aggregates)
    )
    counts: dict[str, int] = {}
    spend_by_status: dict[str, Decimal] = {}
    for row in grouped:
        counts[row["status"]] = row["n"]
        spend_by_status[row["status"]] = row.get("spend") or Decimal("0")
    in_progress = sum(counts.get(status, 0) for status in IN_FLIGHT_STATUSES)
    chips = []
    for value, label in SUMMARY:
        n = in_progress if value == IN_PROGRESS else counts.get(value, 0)
        if value == RunStatus.FAILED_TO_START and n == 0:
            continue
        chips.append({"value": value, "label": label, "count": n})
    selected = form.cleaned_data.get("status")
    if selected and selected != IN_PROGRESS:
        spend = spend_by_status.get(selected, Decimal("0"))
    elif selected == IN_PROGRESS:
        spend = sum((spend_by_status.get(s, Decimal("0")) for s in IN_FLIGHT_STATUSES), Decimal())
    else:
        spend = sum(spend_by_status.values(), Decimal())
    return chips, sum(counts.values()), spend


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# -- views ---------------------------------------------------------------------------------


@require_safe
def run_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    team = membership.team
    form = _filter_form(request, team)
    runs = _filtered(team, form)
    before = _cursor_run(team, request.GET.get("before"))
    after = _cursor_run(team, request.GET.get("after"))
    rows, has_newer, has_older = _page(runs, before, after)
    if after is not None and not rows:
        # Nothing newer than the cursor any more: that is the first page.
        rows, has_newer, has_older = _page(runs, None, None)
    attach_thumbs(rows)
    show_spend = can_see_spend(membership)
    chips, total, spend = _summary(team, form, with_spend=show_spend)
    filtered = any(form.cleaned_data.get(name) for name in form.fields)
    ctx = {
        "nav": "runs",
        "team": team,
        "form": form,
        "runs": rows,
        "has_newer": has_newer,
        "has_older": has_older,
        "first_code": rows[0].code if rows else "",
        "last_code": rows[-1].code if rows else "",
        "chips": chips,
        "total": total,
        "selected_status": form.cleaned_data.get("status", ""),
        "filtered": filtered,
        "show_spend": show_spend,
        "spend": spend,
        "can_refresh": can_refresh_from_flora(membership),
        "filter_query": _query_without(request, "before", "after"),
        "is_paged": bool(request.GET.get("before") or request.GET.get("after")),
    }
    return render(request, "runs/list.html", ctx)


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


def _cell(value: Any) -> str:
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
                _cell(value)
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
    form = _filter_form(request, team)
    runs = _filtered(team, form).select_related("created_by").order_by("-created_at", "-id")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        _csv_rows(runs, request.build_absolute_uri("/").rstrip("/")),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="runs-{team.slug}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


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
