"""Without JavaScript the dashboard still works: plain links and forms, no htmx.

A browser with JavaScript turned off logs in, pages through and searches the catalog, starts
a run from the plain form, reloads until it completes, and filters the run history.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TECHNIQUE = "Palette Pull"
# Palette Pull runs 2 simulated seconds: well under a second at the harness's speedup.
COMPLETION_TIMEOUT_S = 30


def reload_until_completed(page: Page) -> list[str]:
    """Follow the page's own "Reload the page" link (shown to browsers without JavaScript)
    until the run has completed; the statuses seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + COMPLETION_TIMEOUT_S
    while time.monotonic() < deadline:
        status = page.locator("#run-status").get_attribute("data-status") or ""
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("completed", "failed", "failed_to_start"):
            return seen
        page.wait_for_timeout(300)
        page.get_by_role("link", name="Reload the page").click()
    raise AssertionError(f"the run did not finish within {COMPLETION_TIMEOUT_S} s; seen {seen}")


def test_catalog_run_form_and_history_work_without_javascript(
    site, console, shoot, log_in, new_context, fake_images
) -> None:
    context = new_context(java_script_enabled=False)
    image_host = fake_images(context)
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")

    # -- the catalog, page by page through "Load more" links --------------------------------
    cards = page.locator("#catalog-cards article")
    expect(page.get_by_role("heading", name="Techniques", exact=True)).to_be_visible()
    expect(cards).to_have_count(12)
    expect(page.get_by_text("12 of 35 techniques loaded.")).to_be_visible()
    first_page = cards.locator("h3").all_inner_texts()

    page.get_by_role("link", name="Load more").click()
    expect(page).to_have_url(re.compile(r"[?&]start=12"))
    expect(page.get_by_text(re.compile(r"Techniques 13–24 of 35\."))).to_be_visible()
    expect(cards).to_have_count(12)
    assert not set(cards.locator("h3").all_inner_texts()) & set(first_page)
    page.get_by_role("link", name="Load more").click()
    expect(page.get_by_text(re.compile(r"Techniques 25–35 of 35\."))).to_be_visible()
    expect(cards).to_have_count(11)
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    page.get_by_role("link", name="Back to the first page").click()
    expect(cards).to_have_count(12)

    # -- searched through the plain form (?q=) ----------------------------------------------
    page.get_by_label("Search").fill("color")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q=color"))
    # Sorted by name (case-insensitive), the catalog's default order.
    expect(cards.locator("h3")).to_have_text(["Color Transfer", TECHNIQUE, "Segment Mapper"])
    expect(page.get_by_label("Search")).to_have_value("color")
    shoot(page, "13-nojs-catalog-search")

    # -- a run started from the plain form, followed by reloading ---------------------------
    page.get_by_role("link", name=f"Open {TECHNIQUE}").click()
    expect(page.get_by_role("heading", name=TECHNIQUE, level=1)).to_be_visible()
    page.get_by_label("Image", exact=True).fill(f"{image_host}/swatch.png")
    page.get_by_role("button", name="Run for $0.02").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    run_code = page.url.rstrip("/").rsplit("/", 1)[-1]
    seen = reload_until_completed(page)
    assert seen[-1] == "completed", seen
    outputs = page.locator("#run-outputs")
    expect(outputs.get_by_role("heading", name="Palette", exact=True)).to_be_visible()
    expect(outputs.get_by_role("heading", name="Hex codes")).to_be_visible()

    # -- the history, filtered through its form ---------------------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs", level=1)).to_be_visible()
    row = page.locator(f"#run-{run_code}")
    expect(row.get_by_role("link", name=TECHNIQUE)).to_be_visible()

    page.get_by_label("Status", exact=True).select_option(label="Completed")
    page.get_by_label("Technique").select_option(label=TECHNIQUE)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"status=completed"))
    expect(page).to_have_url(re.compile(r"technique=tech_palette-pull"))
    expect(row.locator(".pill")).to_have_text("Completed")
    # Other tests may have run the technique too: every row left matches both filters.
    rows = page.locator("table.history tbody tr")
    assert set(rows.locator(".pill").all_inner_texts()) == {"Completed"}
    assert set(rows.locator(".run-technique > a").all_inner_texts()) == {TECHNIQUE}
    expect(page.get_by_label("Status", exact=True)).to_have_value("completed")
    shoot(page, "14-nojs-history-filtered")

    page.get_by_label("Status", exact=True).select_option(label="Failed")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="No runs match these filters")).to_be_visible()
    expect(row).to_have_count(0)
    page.get_by_role("link", name="Clear filters").click()
    expect(row).to_be_visible()

    assert console.problems == []
