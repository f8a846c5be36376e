"""Uploads in the gallery, in a browser: they sit among kept outputs, newest first, with
their thumbnails (made by `backfill_thumbnails`, as the worker's runs.thumbs job would), an
"Upload" badge, who uploaded them and when; a tile opens the uploaded file; an upload is
starred and compared with an output. Photographed at desktop and phone widths, and the
compare page (the screenshots folder and /tmp/gal-uploads-*.png)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_e2e_journey import broken_images, load_lazy_images

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
from uploads.models import Upload
from uploads.services import keep_upload
from uploads.validation import prepare
team = Team.objects.get(slug="demo-studio")
user = get_user_model().objects.get(username="demo")
def png(size, colour, label):
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, size[0] - 40, size[1] - 40), outline=(255, 255, 255), width=12)
    draw.text((70, 70), label, fill=(255, 255, 255))
    buffer = io.BytesIO(); image.save(buffer, "PNG"); return buffer.getvalue()
for i, colour in enumerate([(230, 120, 60), (70, 140, 200), (90, 170, 110)]):
    run = Run.objects.create(team=team, created_by=user, technique_id="tech_cctv-cam",
        technique_name="Seeded Cam", status=RunStatus.COMPLETED, completed_at=timezone.now(),
        inputs=[{"id": "prompt", "type": "text", "value": f"e2e-gal-uploads {i}"}],
        created_at=timezone.now() - timedelta(minutes=30 - 10 * i))
    data = png((1200, 800), colour, f"output {i}")
    name = default_storage.save(f"outputs/e2e/{run.code}-1.png", ContentFile(data))
    RunOutput.objects.create(run=run, output_id="image", type="imageUrl", file=name,
        content_type="image/png", size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        keep_status=OutputKeepStatus.KEPT, kept_at=timezone.now())
for i, (colour, name) in enumerate([((200, 80, 140), "moodboard-sketch.png"),
                                    ((240, 200, 70), "client-logo-final.png")]):
    upload = keep_upload(team, user, prepare(png((800, 1000), colour, name), name=name,
                                             kind="image"))
    Upload.objects.filter(pk=upload.pk).update(
        created_at=timezone.now() - timedelta(minutes=25 - 10 * i))
video = Upload.objects.create(team=team, uploaded_by=user, file=default_storage.save(
    "uploads/e2e/walkthrough.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42")),
    sha256="e2e" + "0" * 61, size=12, content_type="video/mp4", kind="video",
    original_name="walkthrough.mp4", created_at=timezone.now() - timedelta(minutes=1))
print(Upload.objects.filter(team=team).count())
"""


def _also_in_tmp(path: Path, name: str) -> None:
    shutil.copy(path, f"/tmp/gal-uploads-{name}.png")


def test_uploads_sit_among_outputs_with_their_thumbnails(
    page: Page, site, console, shoot, log_in, new_context
) -> None:
    site.shell(SEED)
    assert "Uploads now:" in site.manage("backfill_thumbnails")
    console.attach(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, "demo")
    page.goto(f"{site.url}/gallery/")
    uploads = page.locator(".gtile-upload")
    expect(uploads).to_have_count(3)
    # Other browser tests share this site and keep outputs of their own (newer ones too):
    # only the tiles seeded here are compared.
    seeded = {"walkthrough.mp4", "client-logo-final.png", "moodboard-sketch.png", "Seeded Cam"}
    titles = [t for t in page.locator(".gtile .gtile-title").all_inner_texts() if t in seeded]
    # Newest first across both kinds: the video (1 min ago), then output 2 (10 min), ...
    assert titles == [
        "walkthrough.mp4",
        "Seeded Cam",
        "client-logo-final.png",
        "Seeded Cam",
        "moodboard-sketch.png",
        "Seeded Cam",
    ]
    logo = page.locator(".gtile-upload", has_text="client-logo-final.png")
    expect(logo.locator(".badge", has_text="Upload")).to_be_visible()
    expect(logo.locator("img.gthumb")).to_be_visible()
    expect(page.locator(".gtile-upload", has_text="walkthrough.mp4")).to_contain_text(
        "No poster frame"
    )
    load_lazy_images(page)
    assert broken_images(page) == []
    _also_in_tmp(shoot(page, "gallery-uploads-desktop"), "desktop")
    # Filters: videos only shows the video upload; a technique leaves uploads out.
    page.goto(f"{site.url}/gallery/?type=videoUrl")
    expect(page.locator(".gtile-upload")).to_have_count(1)
    page.goto(f"{site.url}/gallery/?technique=tech_cctv-cam")
    expect(page.locator(".gtile-upload")).to_have_count(0)
    # A tile links to the uploaded file itself. (Fetched, not opened: Chromium's own image
    # viewer styles itself inline, which the strict CSP of the file's response refuses.)
    page.goto(f"{site.url}/gallery/")
    link = page.locator(".gtile-upload", has_text="client-logo-final.png").locator("a.gtile-title")
    got = page.request.get(site.url + link.get_attribute("href"))
    assert got.status == 200 and got.headers["content-type"] == "image/png"
    # A star on an upload (htmx, in place), then the upload compared with an output.
    logo = page.locator(".gtile-upload", has_text="client-logo-final.png")
    logo.get_by_role("button", name="Favourite").click()
    expect(logo.locator("button.fav")).to_have_attribute("aria-pressed", "true")
    page.goto(f"{site.url}/gallery/?favourites=on")
    expect(page.locator(".gtile-upload")).to_have_count(1)
    page.goto(f"{site.url}/gallery/")
    page.locator(".gtile-upload", has_text="client-logo-final.png").locator(
        "input.compare-pick"
    ).check()
    page.locator(".gtile:not(.gtile-upload)", has_text="Seeded Cam").locator(
        "input.compare-pick"
    ).first.check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/gallery/compare?*")
    expect(page.locator(".compare-col")).to_have_count(2)
    # In gallery order: the output (10 minutes ago), then the upload (15 minutes ago).
    expect(page.locator(".compare-col").nth(1)).to_contain_text("client-logo-final.png")
    expect(page.locator(".compare-col").nth(1)).to_contain_text("Uploaded from a computer")
    load_lazy_images(page)
    assert broken_images(page) == []
    _also_in_tmp(shoot(page, "gallery-uploads-compare"), "compare")
    assert console.problems == []

    phone = new_context(viewport={"width": 390, "height": 844}).new_page()
    console.attach(phone)
    log_in(phone, "demo")
    phone.goto(f"{site.url}/gallery/")
    expect(phone.locator(".gtile-upload")).to_have_count(3)
    load_lazy_images(phone)
    _also_in_tmp(shoot(phone, "gallery-uploads-phone"), "phone")
    assert console.problems == []
