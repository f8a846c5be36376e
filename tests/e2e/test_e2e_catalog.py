"""The catalog's filters and sort cover the whole catalog in a real browser (htmx): a type
filter shows every match at once, a sort choice reorders it, and "Load more" continues the
filtered list, all without a page load."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _sandbox_names(site, *, makes: str) -> list[str]:  # noqa: ANN001 - Site
    """Demo Studio's techniques that make `makes`, by name as the catalog sorts them."""
    out = site.shell(
        "import json; from sandbox import catalog; from sandbox.auth import WS_DEMO; "
        "ts = [t for t in catalog.visible([WS_DEMO]) "
        f"if {makes!r} in {{o.type for o in t.outputs}}]; "
        "ts.sort(key=lambda t: (t.name.casefold(), t.technique_id)); "
        "print(json.dumps([t.name for t in ts]))"
    )
    return json.loads(out)


def test_filters_and_sort_apply_to_the_whole_catalog(site, log_in, page, console, shoot) -> None:
    videos = _sandbox_names(site, makes="videoUrl")
    images = _sandbox_names(site, makes="imageUrl")
    assert 1 < len(videos) < 12 and 24 < len(images) <= 36
    console.attach(page)
    log_in(page, "demo")
    expect(page.get_by_role("heading", name="Techniques", exact=True)).to_be_visible()
    page.evaluate("window.__e2eDocument = 'same'")
    cards = page.locator("#catalog-cards article h3")
    count = page.locator("#catalog-count")

    # Every video maker at once, wherever FLORA listed it; the count is announced.
    page.get_by_label("Makes").select_option("video")
    expect(page).to_have_url(re.compile(r"[?&]makes=video"))
    expect(cards).to_have_text(videos)
    expect(count).to_have_text(
        f"{len(videos)} of {len(videos)} matching techniques loaded, out of 35 in this workspace."
    )
    assert count.get_attribute("aria-live") == "polite"
    shoot(page, "catalog-filter-video")

    # Reordered by price, highest first: prices never go up along the cards.
    page.get_by_label("Sort by").select_option("price-high")
    expect(page).to_have_url(re.compile(r"[?&]sort=price-high"))
    expect(cards.first).not_to_have_text(videos[0])
    prices = [
        float(text.removeprefix("$").split()[0])
        for text in page.locator("#catalog-cards .price").all_inner_texts()
    ]
    assert sorted(prices, reverse=True) == prices and len(prices) == len(videos)

    # "Load more" continues the filtered list, twelve at a time: no repeats, no gaps.
    page.get_by_label("Sort by").select_option("name")
    page.get_by_label("Makes").select_option("image")
    expect(cards).to_have_text(images[:12])
    page.get_by_role("link", name="Load more").click()
    expect(cards).to_have_text(images[:24])
    expect(count).to_have_text(
        f"24 of {len(images)} matching techniques loaded, out of 35 in this workspace."
    )
    page.get_by_role("link", name="Load more").click()
    expect(cards).to_have_text(images)
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    assert page.evaluate("window.__e2eDocument === 'same'"), "the page reloaded"
    shoot(page, "catalog-filter-image-more")
    # On a phone the toolbar's fields stack; the filters stay labelled and usable.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_label("Sort by")).to_be_visible()
    shoot(page, "catalog-mobile")
    assert console.problems == []
