"""Dates and times in words: the one format every page uses, in the viewer's time zone.

Pages show "today 14:05", "yesterday 09:12", "tomorrow 08:00" or "2 Dec 2026, 14:05": the
day in words when it is within a day of today (in the viewer's zone), else the date. Every
such text sits in a <time> whose datetime is ISO 8601 UTC and whose title is the full date
and time with the zone ("Wednesday 2 December 2026, 14:05:09 Europe/Paris (UTC+01:00)").
Dates alone ("2 Dec 2026") are for pages that must not tell the hour (the public share page).

The zone is the active one (django.utils.timezone): ViewerTimeZoneMiddleware activates the
viewer's zone from the `tz` cookie that static/js/tz.js sets; without it, settings.TIME_ZONE.
CSV exports do not come here: they keep ISO 8601 UTC.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from urllib.parse import unquote

from django.utils import dateformat, timezone

# The cookie static/js/tz.js sets; its value is an IANA zone name ("America/New_York").
ZONE_COOKIE = "tz"
# The longest IANA name is 32 characters (America/Argentina/ComodRivadavia); leave room.
MAX_ZONE_LENGTH = 64
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")

_RELATIVE_DAYS = {-1: "yesterday", 0: "today", 1: "tomorrow"}


# In some tz databases but no browser's zone: the server's own setting, a placeholder.
_NOT_VIEWER_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _known_zones() -> frozenset[str]:
    # Scanned once: zoneinfo caches every zone it ever opened, so only names from this
    # bounded set are ever opened (a cookie cannot grow that cache). Without a tz database
    # (no system zoneinfo, no tzdata package) the set is empty: every page stays in TIME_ZONE.
    return frozenset(zoneinfo.available_timezones()) - _NOT_VIEWER_ZONES


def zone_named(value: str | None) -> zoneinfo.ZoneInfo | None:
    """The IANA zone a cookie names, or None for anything else (unknown, too long, a path)."""
    if not value or len(value) > MAX_ZONE_LENGTH * 3:
        return None
    name = unquote(value)
    if len(name) > MAX_ZONE_LENGTH or not _ZONE_NAME.fullmatch(name):
        return None
    if name not in _known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


def zone_name(zone: tzinfo | None = None) -> str:
    """The name of a zone (the active one by default): "Europe/Paris", "UTC"."""
    zone = zone or timezone.get_current_timezone()
    return getattr(zone, "key", None) or str(zone)


def _local(value: datetime, zone: tzinfo | None) -> datetime:
    if timezone.is_naive(value):
        # Stored datetimes are aware (USE_TZ); a naive one is read as the default zone.
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return timezone.localtime(value, zone)


def _offset(local: datetime) -> str:
    minutes = int((local.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def iso_utc(value: datetime) -> str:
    """2026-12-02T13:05:09Z: for datetime attributes (machines, not people)."""
    return _local(value, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def when_text(
    value: datetime | None, *, zone: tzinfo | None = None, now: datetime | None = None
) -> str:
    """ "today 14:05", "yesterday 09:12", "tomorrow 08:00", "2 Dec 2026, 14:05"; "" for None."""
    if not isinstance(value, datetime):
        return ""
    local = _local(value, zone)
    today = _local(now or timezone.now(), zone).date()
    words = _RELATIVE_DAYS.get((local.date() - today).days)
    if words:
        return f"{words} {dateformat.format(local, 'H:i')}"
    return dateformat.format(local, "j M Y, H:i")


def full_text(value: datetime | None, *, zone: tzinfo | None = None) -> str:
    """ "Wednesday 2 December 2026, 14:05:09 Europe/Paris (UTC+01:00)"; in UTC, "... UTC"."""
    if not isinstance(value, datetime):
        return ""
    local = _local(value, zone)
    name = zone_name(local.tzinfo)
    text = f"{dateformat.format(local, 'l j F Y, H:i:s')} {name}"
    return text if name == "UTC" else f"{text} ({_offset(local)})"


def day_of(value: datetime | date | None, *, zone: tzinfo | None = None) -> date | None:
    """The calendar day of a moment in the viewer's zone."""
    if isinstance(value, datetime):
        return _local(value, zone).date()
    return value if isinstance(value, date) else None


def day_text(value: datetime | date | None, *, zone: tzinfo | None = None) -> str:
    """ "2 Dec 2026": the day alone, never in words (it may be read days later)."""
    day = day_of(value, zone=zone)
    return dateformat.format(day, "j M Y") if day else ""
