"""Batches in a real browser (issue 17): six lines become six runs, priced first; the batch
page follows them with one poll (no reload) until the grid of outputs shows. Photographed at
desktop and phone widths (the screenshots folder and /tmp/batches-*.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_e2e_journey import broken_images, load_lazy_images, mark_document, same_document

pytestmark = pytest.mark.e2e

TAROT = "tech_tarot-pull"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
QUESTIONS = [f"Batch question {n}?" for n in range(1, 7)]


def test_a_batch_of_lines_is_priced_started_and_followed(page: Page, site, console, shoot, log_in):
    console.attach(page)
    page.set_viewport_size(DESKTOP)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/{TAROT}/")
    page.get_by_role("link", name=re.compile("Run as a batch")).click()
    page.get_by_label("Lines (each one is a run)").fill("\n".join(QUESTIONS))
    page.get_by_role("button", name="See the price").first.click()
    expect(page.get_by_role("heading", name="6 runs of Tarot Pull")).to_be_visible()
    expect(page.locator(".batch-total")).to_contain_text("6 × $0.06 = $0.36")
    page.screenshot(path="/tmp/batches-preview.png", full_page=True, caret="initial")
    page.get_by_role("button", name=re.compile(r"Start 6 runs for \$0\.36")).click()
    page.wait_for_url(re.compile(r"/batches/[^/]+/$"))
    mark_document(page)

    # One poll for the whole batch, and the rows fill in without a reload.
    assert page.locator("[hx-trigger]").count() == 1
    expect(page.locator(".batch-rows tbody tr")).to_have_count(6)
    expect(page.get_by_text("6 done")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("All runs of this batch have ended.")).to_be_visible()
    assert same_document(page), "the batch page reloaded instead of swapping its fragment"
    assert page.locator("[hx-trigger]").count() == 0  # 286: polling stopped
    # The thumbnails are made by the copier after the runs end: reload until they show.
    for _ in range(30):
        page.reload()
        if page.locator(".batch-grid img").count() >= 6:
            break
        page.wait_for_timeout(1000)
    load_lazy_images(page)
    assert broken_images(page) == []
    expect(page.locator(".batch-grid li")).to_have_count(12)  # a card and a reading each
    shoot(page, "batches-desktop")
    page.screenshot(path="/tmp/batches-desktop.png", full_page=True, caret="initial")

    page.set_viewport_size(PHONE)
    page.reload()
    load_lazy_images(page)
    shoot(page, "batches-phone")
    page.screenshot(path="/tmp/batches-phone.png", full_page=True, caret="initial")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the batch page scrolls sideways on a phone ({width} px)"
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
        ".right > 391).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert not wide, wide

    page.goto(f"{site.url}/batches/")
    expect(page.get_by_role("link", name="Tarot Pull")).to_be_visible()
    assert console.problems == []
