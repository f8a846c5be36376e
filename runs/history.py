"""The team's run history as the list and the CSV export read it: filters, pages, counts.

Filters live in the query string, so a filtered view is a link a teammate can open.
Pagination is by keyset (created_at, id) from a run code, so page 2,000 costs what page 1
costs, and every page runs the same few queries whatever the team's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from florasite.lib.net import http_url
from runs.forms import IN_PROGRESS, OUTSIDE, HistoryFilterForm
from runs.models import (
    IN_FLIGHT_STATUSES,
    OutputKeepStatus,
    Run,
    RunOrigin,
    RunOutput,
    RunStatus,
    ThumbStatus,
)
from teams.models import FloraConnection, Membership, Team

__all__ = [
    "PAGE_SIZE",
    "attach_thumbs",
    "counts",
    "cursor_run",
    "filter_form",
    "filter_query",
    "filtered",
    "page",
    "summary",
    "summary_form",
]

PAGE_SIZE = 50
# Techniques and projects offered in the filters: two DISTINCT scans of the team's runs,
# cached briefly so that paging through 100,000 runs does not repeat them on every page.
FACETS_TTL = 60
# Also keyed by the team's newest run: a technique run for the first time is offered at once.
FACETS_KEY = "runs:history-facets:v2:{team}:{newest}"

# The summary chips above the table, in this order.
SUMMARY = [
    (IN_PROGRESS, "In progress"),
    (RunStatus.COMPLETED, "Completed"),
    (RunStatus.FAILED, "Failed"),
    (RunStatus.FAILED_TO_START, "Failed to start"),
]


# -- filters ----------------------------------------------------------------------------------


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
        projects = (
            Run.objects.filter(team=team)
            .exclude(project_id="")
            .order_by()
            .values_list("project_id", flat=True)
            .distinct()
        )
        facets = {
            "techniques": technique_choices(team),
            "projects": sorted(projects),
        }
        cache.set(key, facets, FACETS_TTL)
    return facets


def technique_choices(team: Team) -> list[tuple[str, str]]:
    """Every technique the team has runs of, as (id, name) sorted by name (uncached: the
    history's and the gallery's filters cache it their own way)."""
    names: dict[str, str] = {}
    rows = (
        Run.objects.filter(team=team)
        .order_by()
        .values_list("technique_id", "technique_name")
        .distinct()
    )
    for technique_id, name in rows:
        names.setdefault(technique_id, name or technique_id)
    return sorted(names.items(), key=lambda item: item[1].lower())


def _workspaces(team: Team) -> list[tuple[str, str]]:
    """The team's workspaces as (id, name), named as FLORA named them at the last
    connection check (as the catalog shows them); the id when it never said."""
    try:
        connection = team.connection
    except FloraConnection.DoesNotExist:
        return []
    names = {
        ws.get("workspace_id"): ws.get("name")
        for ws in connection.available_workspaces or []
        if isinstance(ws, dict)
    }
    return [(ws, str(names.get(ws) or ws)) for ws in connection.workspace_ids]


def _members(team: Team) -> list[tuple[str, str]]:
    usernames = (
        Membership.objects.filter(team=team)
        .order_by("user__username")
        .values_list("user__username", flat=True)
    )
    return [(name, name) for name in usernames]


def filter_form(query: QueryDict, team: Team) -> HistoryFilterForm:
    facets = _facets(team)
    form = HistoryFilterForm(
        query,
        techniques=facets["techniques"],
        members=_members(team),
        workspaces=_workspaces(team),
        projects=facets["projects"],
    )
    form.is_valid()
    return form


def summary_form(query: QueryDict, team: Team) -> HistoryFilterForm:
    """The filters as the counts need them, without the queries that list the choices.

    For a history row's poll: only the workspace is a closed choice, and the team's
    connection is already loaded by the middleware.
    """
    form = HistoryFilterForm(
        query, techniques=[], members=[], workspaces=_workspaces(team), projects=[]
    )
    form.is_valid()
    return form


def filter_query(query: QueryDict) -> str:
    """The filters of a history URL, for links that keep them (not its page, nor a cursor)."""
    query = query.copy()
    for name in ("before", "after", "page"):
        query.pop(name, None)
    return query.urlencode()


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered(team: Team, form: HistoryFilterForm, *, with_status: bool = True) -> QuerySet[Run]:
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
    kept: dict[tuple[int, int], str] = {}
    if wanted:
        rows = RunOutput.objects.filter(
            run_id__in=wanted, keep_status=OutputKeepStatus.KEPT
        ).values_list("run_id", "position", "thumb_status", "sha256")
        # The small thumbnail once it is made (runs.thumbnails), else the kept file itself.
        kept = {
            (run_id, pos): sha if status == ThumbStatus.MADE else ""
            for run_id, pos, status, sha in rows
        }
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
            if sha := kept[(run.pk, position)]:
                url = reverse("runs:output_thumb", args=[run.code, position, "small"])
                run.thumb = Thumb(f"{url}?v={sha[:12]}", kept=True)
            else:
                run.thumb = Thumb(reverse("runs:output", args=[run.code, position]), kept=True)
        elif http_url(source_url):
            run.thumb = Thumb(source_url, kept=False)
        else:
            run.thumb = None


# -- pagination ----------------------------------------------------------------------------


def cursor_run(team: Team, code: str | None) -> Run | None:
    if not code or len(code) > 16:
        return None
    return Run.objects.filter(team=team, code=code).only("pk", "created_at").first()


def page(
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


def counts(team: Team, form: HistoryFilterForm, *, with_spend: bool) -> dict[str, Any]:
    """The context of the counts box above the table (runs/list.html#counts)."""
    chips, total, spend = summary(team, form, with_spend=with_spend)
    return {
        "chips": chips,
        "total": total,
        "spend": spend,
        "show_spend": with_spend,
        "selected_status": form.cleaned_data.get("status", ""),
        "filtered": any(form.cleaned_data.get(name) for name in form.fields),
    }


def summary(
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
        filtered(team, form, with_status=False).order_by().values("status").annotate(**aggregates)
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
