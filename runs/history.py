"""The team's run history as the list and the CSV export read it: filters, pages, counts.

Filters live in the query string, so a filtered view is a link a teammate can open.
Pagination is by keyset (created_at, id) from a run code, so page 2,000 costs what page 1
costs, and every page runs the same few queries whatever the team's size. The counts, the
managers' spend and the technique and project options come from runs.tallies (kept by the
database as runs are written), so they cost the same at 10,000 runs and at 1,000,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from florasite.lib.net import http_url
from runs import tallies
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

# The summary chips above the table, in this order.
SUMMARY = [
    (IN_PROGRESS, "In progress"),
    (RunStatus.COMPLETED, "Completed"),
    (RunStatus.FAILED, "Failed"),
    (RunStatus.FAILED_TO_START, "Failed to start"),
]


# -- filters ----------------------------------------------------------------------------------


def _facets(team: Team) -> dict[str, list]:
    """Techniques and projects offered in the filters: what the team has runs of now.

    Read from the tallies (runs.tallies: a few rows per technique and project, kept by the
    database as runs are written), so a technique run for the first time is offered at once
    and nothing scans the runs.
    """
    present = tallies.values_present(team.pk, ["t", "p"])
    return {
        "techniques": _named(team, present["t"]),
        "projects": sorted(value for value in present["p"] if value),
    }


def _named(team: Team, technique_ids: set[str]) -> list[tuple[str, str]]:
    names = tallies.technique_names(team.pk)
    choices = {tid: names.get(tid) or tid for tid in technique_ids}
    return sorted(choices.items(), key=lambda item: item[1].lower())


def technique_choices(team: Team) -> list[tuple[str, str]]:
    """Every technique the team has runs of, as (id, name) sorted by name: the name first
    seen for it (uncached: the gallery's filters cache it their own way)."""
    return _named(team, tallies.values_present(team.pk, ["t"])["t"])


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


def _member_id(team: Team, form: HistoryFilterForm, username: str) -> int | None:
    """The user the member filter names: a member of the team (one indexed lookup), else a
    former member whose runs remain; None for nobody. Resolved once per form."""
    known: dict[str, int | None] = form.__dict__.setdefault("_member_ids", {})
    if username not in known:
        found = (
            Membership.objects.filter(team=team, user__username=username)
            .values_list("user_id", flat=True)
            .first()
        )
        if found is None:
            found = (
                get_user_model()
                .objects.filter(username=username)
                .values_list("pk", flat=True)
                .first()
            )
        known[username] = found
    return known[username]


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
    # The viewer's day (ViewerTimeZoneMiddleware activates their zone; florasite.lib.when).
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
        # By id, on the (team, created_by, created_at) index: no join with the users.
        member = _member_id(team, form, data["member"])
        runs = runs.filter(created_by_id=member) if member is not None else runs.none()
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


def _tally_where(team: Team, form: HistoryFilterForm) -> dict[str, str] | None:
    """The filters (but status) as tally dimensions; None when the tallies cannot answer:
    a date range, or more than two dimensions."""
    data = form.cleaned_data
    if data.get("date_from") or data.get("date_to"):
        return None
    where: dict[str, str] = {}
    if data.get("technique"):
        where["t"] = data["technique"]
    if data.get("member") == OUTSIDE:
        where["o"] = RunOrigin.EXTERNAL
    elif data.get("member"):
        member = _member_id(team, form, data["member"])
        # "-": a value no run has ("" is the tally of runs nobody in the team started)
        where["m"] = str(member) if member is not None else "-"
    if data.get("workspace"):
        where["w"] = data["workspace"]
    if data.get("project"):
        where["p"] = data["project"]
    return where if tallies.key_of(where) is not None else None


def _by_status(
    team: Team, form: HistoryFilterForm, *, with_spend: bool
) -> dict[str, tuple[int, Decimal]]:
    where = _tally_where(team, form)
    if where is not None:
        found = tallies.by_status(team.pk, where) or {}
        return {s: (n, tallies.to_dollars(units)) for s, (n, units) in found.items()}
    # A date range, or three filters or more: counted over the matching runs. The status
    # list makes the count a few range scans of run_team_status_cost (team, status,
    # created_at, charged_cost), index only, rather than a walk of every team run.
    aggregates: dict[str, Any] = {"n": Count("id")}
    if with_spend:
        aggregates["spend"] = Sum("charged_cost")
    grouped = (
        filtered(team, form, with_status=False)
        .filter(status__in=RunStatus.values)
        .order_by()
        .values("status")
        .annotate(**aggregates)
    )
    return {
        row["status"]: (row["n"], Decimal(row.get("spend") or 0).quantize(Decimal("0.0001")))
        for row in grouped
    }


def summary(
    team: Team, form: HistoryFilterForm, *, with_spend: bool
) -> tuple[list[dict[str, Any]], int, Decimal]:
    """Counts per status (over every filter but status) and spend.

    From the tallies (runs.tallies) for any filter on at most two of technique, member (or
    outside), workspace and project: one small query whatever the team's size. A date range
    or more filters count the matching runs through an index.
    """
    grouped = _by_status(team, form, with_spend=with_spend)
    counts = {status: n for status, (n, _) in grouped.items()}
    spend_by_status = {status: spend for status, (_, spend) in grouped.items()}
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
    if not with_spend:
        spend = Decimal("0")
    return chips, sum(counts.values()), spend
