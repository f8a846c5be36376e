"""The one date and time format (florasite.lib.when and the |when filters), zone by zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from florasite.lib import when


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


MOMENT = _utc(2026, 12, 2, 13, 5, 9)
LATER = _utc(2026, 12, 20, 12, 0)  # "now", far enough for the date to be written out


@pytest.mark.parametrize(
    ("zone", "words", "full"),
    [
        ("UTC", "2 Dec 2026, 13:05", "Wednesday 2 December 2026, 13:05:09 UTC"),
        (
            "Europe/Paris",
            "2 Dec 2026, 14:05",
            "Wednesday 2 December 2026, 14:05:09 Europe/Paris (UTC+01:00)",
        ),
        (
            "America/New_York",
            "2 Dec 2026, 08:05",
            "Wednesday 2 December 2026, 08:05:09 America/New_York (UTC-05:00)",
        ),
        (
            "Asia/Kathmandu",
            "2 Dec 2026, 18:50",
            "Wednesday 2 December 2026, 18:50:09 Asia/Kathmandu (UTC+05:45)",
        ),
        (
            "America/St_Johns",
            "2 Dec 2026, 09:35",
            "Wednesday 2 December 2026, 09:35:09 America/St_Johns (UTC-03:30)",
        ),
        # Past midnight there: another day than in UTC.
        (
            "Pacific/Kiritimati",
            "3 Dec 2026, 03:05",
            "Thursday 3 December 2026, 03:05:09 Pacific/Kiritimati (UTC+14:00)",
        ),
    ],
)
def test_a_moment_in_several_zones(zone, words, full):
    tz = ZoneInfo(zone)
    assert when.when_text(MOMENT, zone=tz, now=LATER) == words
    assert when.full_text(MOMENT, zone=tz) == full
    assert when.iso_utc(MOMENT) == "2026-12-02T13:05:09Z"


@pytest.mark.parametrize(
    ("moment", "words", "offset"),
    [
        # New York springs forward at 02:00 EST on 8 March 2026: 01:59 is followed by 03:00.
        (_utc(2026, 3, 8, 6, 59, 59), "8 Mar 2026, 01:59", "UTC-05:00"),
        (_utc(2026, 3, 8, 7, 0, 0), "8 Mar 2026, 03:00", "UTC-04:00"),
        # It falls back on 1 November: 01:30 happens twice; only the title tells them apart.
        (_utc(2026, 11, 1, 5, 30), "1 Nov 2026, 01:30", "UTC-04:00"),
        (_utc(2026, 11, 1, 6, 30), "1 Nov 2026, 01:30", "UTC-05:00"),
    ],
)
def test_new_york_across_its_dst_changes(moment, words, offset):
    tz = ZoneInfo("America/New_York")
    assert when.when_text(moment, zone=tz, now=LATER) == words
    assert when.full_text(moment, zone=tz).endswith(f"America/New_York ({offset})")


def test_the_twice_seen_hour_has_two_titles_and_two_datetimes():
    tz = ZoneInfo("America/New_York")
    first, second = _utc(2026, 11, 1, 5, 30), _utc(2026, 11, 1, 6, 30)
    assert when.when_text(first, zone=tz, now=LATER) == when.when_text(second, zone=tz, now=LATER)
    assert when.full_text(first, zone=tz) != when.full_text(second, zone=tz)
    assert when.iso_utc(first) != when.iso_utc(second)


@pytest.mark.parametrize(
    ("zone", "moment", "words", "offset"),
    [
        ("Europe/London", _utc(2026, 3, 29, 0, 59), "29 Mar 2026, 00:59", "UTC+00:00"),
        ("Europe/London", _utc(2026, 3, 29, 1, 0), "29 Mar 2026, 02:00", "UTC+01:00"),
        # Lord Howe Island moves by half an hour.
        ("Australia/Lord_Howe", _utc(2026, 1, 15, 0, 0), "15 Jan 2026, 11:00", "UTC+11:00"),
        ("Australia/Lord_Howe", _utc(2026, 7, 15, 0, 0), "15 Jul 2026, 10:30", "UTC+10:30"),
    ],
)
def test_other_dst_edges(zone, moment, words, offset):
    tz = ZoneInfo(zone)
    assert when.when_text(moment, zone=tz, now=LATER) == words
    assert when.full_text(moment, zone=tz).endswith(f"{zone} ({offset})")


NOW = _utc(2026, 12, 2, 12, 0)


@pytest.mark.parametrize(
    ("zone", "moment", "words"),
    [
        ("UTC", _utc(2026, 12, 2, 1, 30), "today 01:30"),
        # 17:30 on 1 December in Los Angeles, where it is now 04:00 on the 2nd.
        ("America/Los_Angeles", _utc(2026, 12, 2, 1, 30), "yesterday 17:30"),
        ("Asia/Tokyo", _utc(2026, 12, 2, 1, 30), "today 10:30"),
        ("UTC", _utc(2026, 12, 1, 0, 0), "yesterday 00:00"),
        ("UTC", _utc(2026, 11, 30, 23, 59), "30 Nov 2026, 23:59"),
        ("UTC", _utc(2026, 12, 3, 23, 59), "tomorrow 23:59"),
        ("UTC", _utc(2026, 12, 4, 0, 0), "4 Dec 2026, 00:00"),
        # A year ago on the same day: the year says it is not today.
        ("UTC", _utc(2025, 12, 2, 1, 30), "2 Dec 2025, 01:30"),
    ],
)
def test_today_yesterday_and_tomorrow_are_days_in_the_viewers_zone(zone, moment, words):
    assert when.when_text(moment, zone=ZoneInfo(zone), now=NOW) == words


def test_yesterday_across_a_dst_change_is_the_calendar_day_before():
    # Midday on 8 March in New York (after springing forward); 01:00 EST on the 7th.
    now, moment = _utc(2026, 3, 8, 16, 0), _utc(2026, 3, 7, 6, 0)
    assert when.when_text(moment, zone=ZoneInfo("America/New_York"), now=now) == "yesterday 01:00"


def test_nothing_reads_as_nothing():
    for value in (None, "", "2026-12-02", 0):
        assert when.when_text(value) == ""
        assert when.full_text(value) == ""
        assert when.day_text(value) == ""


def test_a_naive_datetime_is_read_in_the_default_zone(settings):
    settings.TIME_ZONE = "UTC"
    naive = datetime(2020, 5, 1, 9, 15)
    with timezone.override(ZoneInfo("Europe/Paris")):
        assert when.when_text(naive) == "1 May 2020, 11:15"
    assert when.iso_utc(naive) == "2020-05-01T09:15:00Z"


def test_a_day_is_the_viewers_day():
    # 20:00 UTC on 1 December is already 2 December in Tokyo.
    moment = _utc(2026, 12, 1, 20, 0)
    assert when.day_text(moment, zone=ZoneInfo("Asia/Tokyo")) == "2 Dec 2026"
    assert when.day_text(moment, zone=ZoneInfo("UTC")) == "1 Dec 2026"
    assert when.day_text(date(2026, 1, 9)) == "9 Jan 2026"


def _render(source: str, **context: object) -> str:
    return Template("{% load florasite %}" + source).render(Context(context))


def test_the_when_filter_is_a_time_element_in_the_active_zone():
    moment = _utc(2020, 6, 1, 22, 30, 5)
    with timezone.override(ZoneInfo("America/New_York")):
        html = _render("{{ value|when }}", value=moment)
    assert html == (
        '<time datetime="2020-06-01T22:30:05Z" '
        'title="Monday 1 June 2020, 18:30:05 America/New_York (UTC-04:00)">1 Jun 2020, 18:30</time>'
    )
    assert _render("{{ value|when }}", value=None) == ""


def test_the_when_filter_says_today_by_the_clock():
    with timezone.override(ZoneInfo("UTC")):
        html = _render("{{ value|when }}", value=timezone.now() - timedelta(seconds=1))
    # Unless the test straddles midnight, which a second cannot quite.
    assert ">today " in html or ">yesterday " in html


def test_the_day_filters_tell_no_hour():
    moment = _utc(2026, 12, 1, 20, 0, 7)
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        html = _render("{{ value|when_day }}|{{ value|day_plain }}", value=moment)
    assert html == (
        '<time datetime="2026-12-02" title="Wednesday 2 December 2026 (Asia/Tokyo)">'
        "2 Dec 2026</time>|2 Dec 2026"
    )
    assert "20:00" not in html and "05:00" not in html


def test_the_plain_filter_has_no_markup():
    moment = _utc(2020, 6, 1, 22, 30)
    with timezone.override(ZoneInfo("Europe/Paris")):
        assert _render('<meta content="{{ value|when_plain }}">', value=moment) == (
            '<meta content="2 Jun 2020, 00:30">'
        )


@pytest.mark.parametrize(
    "value",
    ["Europe/Paris", "UTC", "America/Argentina/ComodRivadavia", "America%2FNew_York", "Etc/GMT+5"],
)
def test_real_zone_names_are_accepted(value):
    assert when.zone_named(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "Mars/Olympus_Mons",
        "europe/paris",  # zone names are case-sensitive files; a browser never sends this
        "../../../../etc/passwd",
        "/etc/localtime",
        "localtime",
        "Factory",
        "Europe//Paris",
        "Europe/Paris\x00",
        "Europe/Paris; path=/",
        "Europe/%2e%2e/%2e%2e/etc/passwd",
        "Europe/Paris" + "/x" * 40,
        "A" * 10_000,
        "%41" * 5_000,
        "Ευρώπη/Αθήνα",
    ],
)
def test_anything_else_is_refused(value):
    assert when.zone_named(value) is None


def test_zone_names():
    assert when.zone_name(ZoneInfo("Asia/Tokyo")) == "Asia/Tokyo"
    assert when.zone_name(UTC) == "UTC"
    with timezone.override(ZoneInfo("Europe/Kyiv")):
        assert when.zone_name() == "Europe/Kyiv"
