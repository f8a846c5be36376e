"""A team's calendar months: "YYYY-MM" in the team's time zone (teams.models.Team.zone)."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from teams.models import Team


def local_day(team: Team, when: datetime | None = None) -> date:
    return timezone.localtime(when or timezone.now(), team.zone).date()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_key(team: Team, when: datetime | None = None) -> str:
    return month_of(local_day(team, when))


def first_day(month: str) -> date:
    year, number = month.split("-")
    return date(int(year), int(number), 1)


def shift(month: str, months: int) -> str:
    start = first_day(month)
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_months(month: str, count: int) -> list[str]:
    """The `count` months ending with `month`, oldest first."""
    return [shift(month, offset) for offset in range(-count + 1, 1)]


def days_in(month: str) -> list[date]:
    start = first_day(month)
    following = first_day(shift(month, 1))
    return [date.fromordinal(n) for n in range(start.toordinal(), following.toordinal())]


def valid_month(value: str) -> bool:
    try:
        first_day(value)
    except (ValueError, AttributeError):
        return False
    return len(value) == 7
