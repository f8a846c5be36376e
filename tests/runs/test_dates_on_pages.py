"""Every page that shows a date shows it one way, in the viewer's zone (the `tz` cookie):
history, its live row, the run page and its side column, share links, the public share page,
the catalog's stale notice. Fragments read as the pages they are swapped into."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runs.models import Run, ShareLink
from runs.shares import revoke
from tests.runs.live_helpers import HX, plain_run
from tests.runs.results_helpers import share_link

pytestmark = pytest.mark.django_db

NEW_YORK = {"tz": "America/New_York"}
TIME = re.compile(
    r'<time datetime="(?P<at>[^"]+)" title="(?P<title>[^"]+)">(?P<words>[^<]+)</time>'
)
MOMENT_WORDS = re.compile(
    r"((today|yesterday|tomorrow) \d\d:\d\d|\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d)"
)
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def dated(run, bob, alice):
    """bob's completed run with known times, an active share link and a revoked one."""
    Run.objects.filter(pk=run.pk).update(
        created_at=_utc(2020, 6, 1, 22, 30, 5), completed_at=_utc(2020, 6, 1, 22, 32, 5)
    )
    active, token = share_link(run, bob)
    ShareLink.objects.filter(pk=active.pk).update(
        created_at=_utc(2020, 6, 2, 8, 0),
        expires_at=_utc(2030, 1, 1, 12, 0),
        last_viewed_at=_utc(2020, 6, 3, 9, 0),
        views=3,
    )
    revoked, _ = share_link(run, bob)
    revoke(revoked, alice, now=_utc(2020, 6, 4, 10, 0))
    run.refresh_from_db()
    return run, token


def _times(html: str) -> list[tuple[str, str, str]]:
    found = [(m["at"], m["title"], m["words"]) for m in TIME.finditer(html)]
    # Every <time> on the page is one the filters wrote: none in another shape.
    assert len(found) == html.count("<time"), html
    return found


def _moments(html: str, zone_suffix: str) -> list[tuple[str, str, str]]:
    """The page's <time> elements of moments, each checked for the one format."""
    found = _times(html)
    assert found
    for at, title, words in found:
        assert ISO_UTC.fullmatch(at), at
        assert MOMENT_WORDS.fullmatch(words), words
        assert title.endswith(zone_suffix), title
    return found


def _get(client, url: str, cookies: dict[str, str], **kwargs) -> str:
    client.cookies.pop("tz", None)  # and keep the session's
    for name, value in cookies.items():
        client.cookies[name] = value
    response = client.get(url, **kwargs)
    assert response.status_code in (200, 286), (url, response.status_code)
    return response.content.decode()


def _section(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin) + len(end)]


CREATED_NY = ("2020-06-01T22:30:05Z", "1 Jun 2020, 18:30")


def test_history_and_its_live_row_use_the_viewers_zone(bob_client, dated):
    run, _ = dated
    page = _get(bob_client, "/runs/", NEW_YORK)
    row = _section(page, f'<tr id="run-{run.code}"', "</tr>")
    times = _moments(row, "America/New_York (UTC-04:00)")
    assert {(at, words) for at, _, words in times} == {CREATED_NY}
    assert "Times in America/New_York" in page

    fragment = _get(bob_client, f"/runs/{run.code}/status/row", NEW_YORK, headers=HX)
    fragment_row = _section(fragment, f'<tr id="run-{run.code}"', "</tr>")
    assert _times(fragment_row) == _times(row)


def test_the_run_page_and_its_fragments_use_the_viewers_zone(bob_client, dated):
    run, _ = dated
    page = _get(bob_client, f"/runs/{run.code}/", NEW_YORK)
    # -04:00 in June, -05:00 for the link that expires in January.
    times = _moments(page, ")")
    assert all("America/New_York (UTC-0" in title for _, title, _ in times)
    words = {(at, w) for at, _, w in times}
    assert CREATED_NY in words  # the head and the side column, the same words
    assert [t for t in times if (t[0], t[2]) == CREATED_NY][0][1] == (
        "Monday 1 June 2020, 18:30:05 America/New_York (UTC-04:00)"
    )
    # The share links: created, expires (winter there), last viewed, revoked.
    assert ("2020-06-02T08:00:00Z", "2 Jun 2020, 04:00") in words
    assert ("2030-01-01T12:00:00Z", "1 Jan 2030, 07:00") in words
    assert ("2020-06-03T09:00:00Z", "3 Jun 2020, 05:00") in words
    assert ("2020-06-04T10:00:00Z", "4 Jun 2020, 06:00") in words
    assert " ago<" not in page

    aside = _get(bob_client, f"/runs/{run.code}/aside", NEW_YORK, headers=HX)
    page_aside = _section(page, '<aside id="run-aside"', "</aside>")
    assert _times(aside) == _times(page_aside)


def test_without_a_zone_the_pages_are_in_utc_and_say_so(bob_client, dated):
    run, _ = dated
    for url in ("/runs/", f"/runs/{run.code}/"):
        page = _get(bob_client, url, {})
        assert "Times in UTC" in page
        for at, title, words in _times(page):
            assert title.endswith(" UTC"), title
            if at == CREATED_NY[0]:
                assert words == "1 Jun 2020, 22:30"


def test_the_public_share_page_tells_the_day_in_the_viewers_zone(client, dated):
    _, token = dated
    # Made at 22:32 UTC on 1 June: still 1 June in New York, already 2 June in Tokyo.
    page = _get(client, f"/s/{token}", NEW_YORK)
    assert _times(page) == [("2020-06-01", "Monday 1 June 2020 (America/New_York)", "1 Jun 2020")]
    assert 'content="A result made with Art Director' in page
    assert 'on 1 Jun 2020."' in page.replace("&#x27;", "'")
    assert "Dates in America/New_York" in page

    tokyo = _get(client, f"/s/{token}", {"tz": "Asia/Tokyo"})
    assert _times(tokyo) == [("2020-06-02", "Tuesday 2 June 2020 (Asia/Tokyo)", "2 Jun 2020")]
    # A date, never the hour it was made.
    assert "22:32" not in tokyo and "07:32" not in tokyo


def test_the_catalogs_stale_notice_uses_the_viewers_zone(bob_client, upstream, settings):
    settings.FLORA_CATALOG_TTL = 0
    bob_client.get("/techniques/")
    upstream.drop()
    page = _get(bob_client, "/techniques/", NEW_YORK)
    notice = _section(page, "showing the catalog as of", "</time>")
    [(at, title, words)] = _moments(notice, "America/New_York (UTC-05:00)")  # December
    assert words.startswith(("today ", "yesterday "))
    fragment = _get(bob_client, "/techniques/", NEW_YORK, headers=HX)
    assert _section(fragment, "showing the catalog as of", "</time>") == notice


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Django's own date filters and the old relative one: pages use |when, |when_day and their
# plain forms instead (the admin keeps Django's, from its own templates).
OTHER_DATE_FORMATTING = re.compile(
    r"\|\s*(date|time|naturaltime|naturalday|timesince|timeuntil|isoformat|ago)\b|\{%\s*now\b"
)


def test_no_template_formats_a_date_another_way():
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in OTHER_DATE_FORMATTING.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_historys_days_are_the_viewers_days(bob_client, team_a, bob):
    # 02:00 UTC on 1 June is still 31 May in New York: the day filters follow the words.
    run = plain_run(team_a, bob)
    Run.objects.filter(pk=run.pk).update(created_at=_utc(2026, 6, 1, 2, 0))
    june = "/runs/?date_from=2026-06-01&date_to=2026-06-01"
    may = "/runs/?date_from=2026-05-31&date_to=2026-05-31"

    def codes(url: str, cookies: dict[str, str]) -> list[str]:
        return re.findall(r'<tr id="run-([\w-]+)"', _get(bob_client, url, cookies))

    assert codes(june, {}) == [run.code]
    assert codes(may, {}) == []
    assert codes(june, NEW_YORK) == []
    assert codes(may, NEW_YORK) == [run.code]
