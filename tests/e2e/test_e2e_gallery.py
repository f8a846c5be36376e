"""The gallery in a browser: star an output, filter favourites, tick two, compare them.

Kept outputs are written straight into the live site's database and storage (as if runs
had completed and their files been kept), then `backfill_thumbnails` makes their
thumbnails as the worker's runs.thumbs job would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SEED = r"""
import io, hashlib
from datetime import timedelta
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image, ImageDraw
from runs.models import Run, RunOutput, RunStatus, OutputKeepStatus
from teams.models import Team
team = Team.objects.get(slug="demo-studio")
user = get_user_model().objects.get(username="demo")
colours = [(230, 120, 60), (70, 140, 200), (90, 170, 110),
           (200, 80, 140), (240, 200, 70), (120, 100, 200)]
prompts = ["lemon grove at dusk", "a blue whale in a bathtub", "green tea poster",
           "pink neon diner", "yellow raincoat, studio light", "violet mountains at dawn"]
for i, (colour, prompt) in enumerate(zip(colours, prompts)):
    run = Run.objects.create(team=team, created_by=user, technique_id="tech_cctv-cam",
        technique_name="Poster Studio" if i % 2 else "CCTV Cam", status=RunStatus.COMPLETED,
        inputs=[{"id": "prompt", "name": "Prompt", "type": "text",
                 "value": f"{prompt} (e2e-gallery)"}],
        created_at=timezone.now() - timedelta(minutes=10 - i), completed_at=timezone.now())
    image = Image.new("RGB", (1200, 800) if i % 3 else (800, 1200), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((200, 200, 600, 600), fill=(255, 255, 255))
    draw.text((60, 60), prompt, fill=(0, 0, 0))
    buffer = io.BytesIO(); image.save(buffer, "PNG"); data = buffer.getvalue()
    name = default_storage.save(f"outputs/e2e/{run.code}-1.png", ContentFile(data))
    RunOutput.objects.create(run=run, output_id="image", type="imageUrl", file=name,
        content_type="image/png", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        keep_status=OutputKeepStatus.KEPT, kept_at=timezone.now())
text_run = Run.objects.create(team=team, created_by=user, technique_id="tech_tarot-pull",
    technique_name="Tarot Pull", status=RunStatus.COMPLETED, completed_at=timezone.now(),
    inputs=[{"id": "question", "type": "text", "value": "What now? (e2e-gallery)"}])
RunOutput.objects.create(run=text_run, output_id="reading", type="text",
    text="The Star: patience, then a bright idea.", content_type="text/plain",
    keep_status=OutputKeepStatus.KEPT, thumb_status="none")
print(RunOutput.objects.filter(team=team).count())
"""


def _also_in_tmp(path: Path, name: str) -> None:
    shutil.copy(path, f"/tmp/gallery-{name}.png")


def test_star_filter_favourites_select_two_and_compare(
    page: Page, site, console, shoot, log_in, new_context
):
    assert int(site.shell(SEED)) >= 7
    assert "with thumbnails" in site.manage("backfill_thumbnails")
    console.attach(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, "demo")
    page.get_by_role("link", name="Gallery").click()
    expect(page.get_by_role("heading", name="Gallery")).to_be_visible()
    # Other browser tests keep outputs on this site too: search for this test's own.
    page.get_by_label("Search inputs").fill("E2E-gallery")
    page.get_by_role("button", name="Apply").click()
    tiles = page.locator(".gtile")
    expect(tiles).to_have_count(7)
    # Every image tile shows its thumbnail (a decoded picture), not the full file.
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.gthumb')].every("
        "i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("img.gthumb").count() == 6
    assert all("/thumb/small?v=" in src for src in page.locator("img.gthumb").evaluate_all(
        "imgs => imgs.map(i => i.getAttribute('src'))"))  # fmt: skip
    _also_in_tmp(shoot(page, "gallery-desktop"), "desktop")

    # Star the second tile; the button says so (aria-pressed) without a reload.
    second = tiles.nth(1)
    star = second.get_by_role("button", name="Favourite")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(second.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")
    starred_title = second.locator(".gtile-title").inner_text()

    # Favourites only.
    page.get_by_label("Favourites only").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".gtile")).to_have_count(1)
    expect(page.locator(".gtile-title")).to_have_text(starred_title)

    # Back to all of them; tick two tiles: the sticky bar counts them.
    page.get_by_label("Favourites only").uncheck()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".gtile")).to_have_count(7)
    bar = page.locator("#compare-form")
    compare = bar.get_by_role("button", name="Compare selected")
    expect(compare).to_be_disabled()
    picks = page.locator("input.compare-pick:not([disabled])")  # the text tile has none
    picks.nth(0).check()
    picks.nth(2).check()
    expect(compare).to_contain_text("(2)")
    expect(compare).to_be_enabled()
    compare.click()

    page.wait_for_url("**/gallery/compare?o=*&o=*")
    expect(page.get_by_role("heading", name="Compare")).to_be_visible()
    expect(page.locator(".compare-col")).to_have_count(2)
    expect(page.locator(".compare-inputs").first).to_contain_text("Prompt")
    slider = page.get_by_label("Slide between the two images")
    slider.fill("25")
    clip = page.locator("[data-ba-over]").evaluate("el => el.style.clipPath")
    assert clip == "inset(0px 75% 0px 0px)" or clip == "inset(0 75% 0 0)"
    # Synced zoom: one scale on both images.
    page.get_by_label("Zoom, the same on every image", exact=False).fill("2")
    scales = page.locator(".compare-media img").evaluate_all(
        "imgs => imgs.map(i => i.style.transform)"
    )
    assert scales == ["scale(2)", "scale(2)"]
    page.get_by_label("Zoom, the same on every image", exact=False).fill("1")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.compare-media img')].every(i => i.complete)"
    )
    _also_in_tmp(shoot(page, "gallery-compare"), "compare")
    assert console.problems == []

    # A phone: two columns of tiles, the bar still there.
    phone = new_context(viewport={"width": 390, "height": 844}).new_page()
    console.attach(phone)
    log_in(phone, "demo")
    phone.goto(f"{site.url}/gallery/?q=e2e-gallery")
    expect(phone.locator(".gtile")).to_have_count(7)
    phone.wait_for_function(
        "() => [...document.querySelectorAll('img.gthumb')].every("
        "i => i.complete && i.naturalWidth > 0)"
    )
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
    _also_in_tmp(shoot(phone, "gallery-phone"), "phone")
    assert console.problems == []
