"""The spend page's figures, from the ledger: the month against budget, per day, per member,
per technique, the last 12 months; and the CSV of the month's entries.

Charts are drawn by the template as SVG from the geometry computed here (no script, no style
attribute: the CSP allows neither; colours come from static/css/budgets.css classes, which
follow the site's light and dark themes).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Sum

from budgets.models import LedgerEntry, to_dollars
from budgets.months import days_in, last_months
from budgets.services import Scope, scope_figures
from teams.models import Team

CHART_WIDTH = 720
CHART_HEIGHT = 160
ROW_BAR_WIDTH = 200


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal  # dollars
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    spent: Decimal
    reserved: Decimal
    bar: float  # width in px of ROW_BAR_WIDTH
    limit: Decimal | None = None


@dataclass
class SpendPage:
    month: str
    team: Scope
    days: list[Bar] = field(default_factory=list)
    months: list[Bar] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    techniques: list[Row] = field(default_factory=list)
    day_max: Decimal = Decimal("0")
    month_max: Decimal = Decimal("0")

    @property
    def progress_width(self) -> float:
        """The progress bar's filled width (of CHART_WIDTH), capped at the whole bar."""
        if not self.team.limit:
            return 0.0
        return round(min(1.0, self.team.committed / self.team.limit) * CHART_WIDTH, 1)

    @property
    def spent_width(self) -> float:
        if not self.team.limit:
            return 0.0
        return round(min(1.0, self.team.spent / self.team.limit) * CHART_WIDTH, 1)

    @property
    def level(self) -> str:
        percent = self.team.percent or 0
        return "over" if percent >= 100 else "near" if percent >= 80 else "ok"


def _bars(values: list[tuple[str, int, str]], gap: float = 2.0) -> tuple[list[Bar], Decimal]:
    """Vertical bars filling CHART_WIDTH x CHART_HEIGHT; values in UNITS."""
    top = max((v for _, v, _ in values), default=0)
    count = max(1, len(values))
    width = CHART_WIDTH / count
    bars = []
    for position, (label, units, title) in enumerate(values):
        height = round(CHART_HEIGHT * units / top, 1) if top else 0.0
        if units and height < 1:
            height = 1.0  # a spend too small to see is still a visible line
        bars.append(
            Bar(
                label=label,
                value=to_dollars(units),
                x=round(position * width + gap / 2, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(max(1.0, width - gap), 1),
                height=height,
                title=title,
            )
        )
    return bars, to_dollars(top)


def _rows(groups: dict[str, tuple[int, int]], limits: dict[str, int] | None = None) -> list[Row]:
    top = max((spent + reserved for spent, reserved in groups.values()), default=0)
    rows = []
    for label, (spent, reserved) in sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0])):
        limit = (limits or {}).get(label)
        rows.append(
            Row(
                label=label,
                spent=to_dollars(spent),
                reserved=to_dollars(reserved),
                bar=round(ROW_BAR_WIDTH * (spent + reserved) / top, 1) if top else 0.0,
                limit=to_dollars(limit) if limit is not None else None,
            )
        )
    return rows


def spend_page(team: Team, month: str) -> SpendPage:
    page = SpendPage(month=month, team=scope_figures(team, None, month))
    entries = LedgerEntry.objects.filter(team=team, month=month)

    per_day = dict(
        entries.values_list("day").annotate(s=Sum("spent_delta")).values_list("day", "s")
    )
    page.days, page.day_max = _bars(
        [
            (
                str(day.day),
                per_day.get(day, 0) or 0,
                f"{day:%b} {day.day}: ${to_dollars(per_day.get(day, 0) or 0):.2f}",
            )
            for day in days_in(month)
        ]
    )

    months = last_months(month, 12)
    per_month = dict(
        LedgerEntry.objects.filter(team=team, month__in=months)
        .values_list("month")
        .annotate(s=Sum("spent_delta"))
        .values_list("month", "s")
    )
    page.months, page.month_max = _bars(
        [
            (m, per_month.get(m, 0) or 0, f"{m}: ${to_dollars(per_month.get(m, 0) or 0):.2f}")
            for m in months
        ],
        gap=8.0,
    )

    by_member = (
        entries.values_list("member_id")
        .annotate(s=Sum("spent_delta"), r=Sum("reserved_delta"))
        .values_list("member_id", "s", "r")
    )
    users = get_user_model().objects.in_bulk([m for m, _, _ in by_member if m])
    names = {pk: (u.get_full_name() or u.get_username()) for pk, u in users.items()}
    from budgets.models import Budget, to_units

    member_limits = {
        names.get(b.member_id, ""): to_units(b.monthly_amount)
        for b in Budget.objects.filter(team=team, member__isnull=False)
    }
    page.members = _rows(
        {
            (names.get(m, "a former member") if m else "outside the dashboard"): (s or 0, r or 0)
            for m, s, r in by_member
        },
        member_limits,
    )

    by_technique = (
        entries.values_list("technique_name")
        .annotate(s=Sum("spent_delta"), r=Sum("reserved_delta"))
        .values_list("technique_name", "s", "r")
    )
    page.techniques = _rows({(t or "unknown"): (s or 0, r or 0) for t, s, r in by_technique})
    return page


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = str(value)
    # A spreadsheet would read a leading = + - @ as a formula.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(team: Team, month: str) -> Iterator[str]:
    """Every ledger entry of the month: each figure of the page is a sum of these."""
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [
            "created_at",
            "day",
            "kind",
            "run",
            "technique",
            "member",
            "amount_usd",
            "reserved_change_usd",
            "spent_change_usd",
            "note",
        ]
    )
    entries = LedgerEntry.objects.filter(team=team, month=month).select_related("member")
    for entry in entries.order_by("created_at", "id").iterator():
        member = entry.member.get_username() if entry.member else ""
        yield writer.writerow(
            [
                entry.created_at.isoformat(),
                entry.day.isoformat(),
                entry.kind,
                _cell(entry.run_code),
                _cell(entry.technique_name),
                _cell(member),
                to_dollars(entry.amount),
                to_dollars(entry.reserved_delta),
                to_dollars(entry.spent_delta),
                _cell(entry.note),
            ]
        )
