"""Times in the viewer's zone, end to end: a browser in New York (or Tokyo) gets the `tz`
cookie from static/js/tz.js at its first page, and every page and live row after that is
written in its zone; a browser without JavaScript reads UTC, and the footer says so."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

# 16:00 UTC on 4 July 2026: noon in New York (EDT), 01:00 on the 5th in Tokyo.
CREATED = "2026-07-04T16:00:00Z"
TECHNIQUE = "tech_tz_e2e"


def _run(site, *, status: str = "completed", backdate: bool = True) -> str:
    # A run in flight stays recent: an old one would poll only every few minutes (stale).
    backdating = (
        "Run.objects.filter(pk=run.pk).update(created_at=datetime(2026, 7, 4, 16, 0, tzinfo=UTC)); "
        if backdate
        else ""
    )
    return site.shell(
        "from datetime import datetime, timedelta, UTC; from django.utils import timezone; "
        "from runs.models import Run; from teams.models import Team; "
        "run = Run.objects.create(team=Team.objects.get(slug='demo-studio'), "
        f"technique_id='{TECHNIQUE}', technique_name='Zones', status='{status}', "
        "flora_run_id='run_tz_' + timezone.now().strftime('%H%M%S%f'), "
        "refresh_claimed_until=timezone.now() + timedelta(hours=1)); "
        f"{backdating}print(run.code)"
    )


def _words_agree_with_the_browser(page: Page) -> None:
    """Each <time>'s words end with the hour the browser itself reads from its datetime."""
    pairs = page.eval_on_selector_all(
        "time[datetime*='T']",
        """els => els.map(el => [
            el.textContent,
            new Date(el.getAttribute("datetime")).toLocaleTimeString(
                "en-GB", {hour: "2-digit", minute: "2-digit", hourCycle: "h23"}),
        ])""",
    )
    assert pairs
    for words, browser_hour in pairs:
        assert words.endswith(browser_hour), (words, browser_hour)


def test_a_browser_in_new_york_reads_new_york_times(site, log_in, new_context, console) -> None:
    code = _run(site)
    context = new_context(timezone_id="America/New_York")
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")
    assert {c["name"]: c["value"] for c in context.cookies()}.get("tz") == "America/New_York"

    page.goto(f"{site.url}/runs/?technique={TECHNIQUE}")
    when = page.locator(f"#run-{code} .col-when time")
    expect(when).to_have_text("4 Jul 2026, 12:00")
    assert when.get_attribute("datetime") == CREATED
    assert when.get_attribute("title") == (
        "Saturday 4 July 2026, 12:00:00 America/New_York (UTC-04:00)"
    )
    expect(page.locator(".time-zone-note")).to_have_text("Times in America/New_York")
    _words_agree_with_the_browser(page)
    page.screenshot(path="/tmp/ux-dates-history-new-york.png", full_page=True, caret="initial")

    page.goto(f"{site.url}/runs/{code}/")
    expect(page.locator(".run-head time")).to_have_text("4 Jul 2026, 12:00")
    expect(page.locator("#run-aside time")).to_have_text("4 Jul 2026, 12:00")
    _words_agree_with_the_browser(page)
    page.screenshot(path="/tmp/ux-dates-run-new-york.png", full_page=True, caret="initial")
    assert console.problems == []


def test_a_live_row_keeps_the_zone_when_htmx_swaps_it(site, log_in, new_context, console) -> None:
    code = _run(site, status="running", backdate=False)
    context = new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/?technique={TECHNIQUE}")
    row = page.locator(f"#run-{code}")
    when = row.locator(".col-when time")
    expect(when).to_have_text(re.compile(r"^today \d\d:\d\d$"))
    before = when.text_content()
    _words_agree_with_the_browser(page)

    site.shell(
        "from django.utils import timezone; from runs.models import Run; "
        f"Run.objects.filter(code='{code}').update(status='completed', completed_at=timezone.now())"
    )
    expect(row.locator(".pill")).to_have_text("Completed", timeout=15_000)  # swapped by htmx
    expect(when).to_have_text(before or "")
    assert (when.get_attribute("title") or "").endswith("Asia/Tokyo (UTC+09:00)")
    _words_agree_with_the_browser(page)
    assert console.problems == []


def test_without_javascript_times_are_utc_and_labelled(site, log_in, new_context) -> None:
    code = _run(site)
    context = new_context(java_script_enabled=False, timezone_id="America/New_York")
    page = context.new_page()
    log_in(page, "demo")
    assert "tz" not in {c["name"] for c in context.cookies()}
    page.goto(f"{site.url}/runs/?technique={TECHNIQUE}")
    when = page.locator(f"#run-{code} .col-when time")
    expect(when).to_have_text("4 Jul 2026, 16:00")
    assert when.get_attribute("title") == "Saturday 4 July 2026, 16:00:00 UTC"
    expect(page.locator(".time-zone-note")).to_have_text("Times in UTC")
    page.screenshot(path="/tmp/ux-dates-history-nojs.png", full_page=True, caret="initial")
