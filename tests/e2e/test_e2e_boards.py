"""Boards in a real browser (issue 16): add outputs to a new board from a run page, review
them on the board (htmx, no reload), share the board, open the link logged out, revoke it,
and the link is dead. The board is photographed at desktop and phone widths, and the
public page too (into the screenshots folder and /tmp/boards-*.png).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_e2e_journey import broken_images, load_lazy_images, mark_document, same_document

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
COLOURS = [(200, 80, 60), (60, 140, 200), (90, 170, 90)]


def make_images_run(site) -> str:  # noqa: ANN001 - Site
    """A completed run of the demo member with three kept PNGs and their thumbnails."""
    return site.shell(
        "import io; from PIL import Image, ImageDraw; from django.core.files.base import "
        "ContentFile; from django.utils import timezone; from django.contrib.auth import "
        "get_user_model; from runs.models import Run, RunOutput; from runs.thumbnails import "
        "make_thumbnail; from teams.models import Team; import hashlib; now = timezone.now(); "
        "run = Run.objects.create(team=Team.objects.get(slug='demo-studio'), "
        "created_by=get_user_model().objects.get(username='demo'), "
        "technique_id='tech_poster-maker', technique_name='Poster Maker', status='completed', "
        "inputs=[{'id': 'prompt', 'type': 'text', 'value': 'Lemonade stand at dawn'}], "
        "submitted_at=now, started_at=now, completed_at=now)\n"
        f"for n, colour in enumerate({COLOURS!r}):\n"
        "    image = Image.new('RGB', (960, 720), colour); draw = ImageDraw.Draw(image)\n"
        "    draw.ellipse((300, 180, 660, 540), fill=(250, 230, 90))\n"
        "    buffer = io.BytesIO(); image.save(buffer, 'PNG'); data = buffer.getvalue()\n"
        "    output = RunOutput(run=run, position=n, output_id=f'poster_{n + 1}', "
        "type='imageUrl', content_type='image/png', keep_status='kept', size=len(data), "
        "sha256=hashlib.sha256(data).hexdigest(), kept_at=now, "
        "source_url='https://cdn.flora.example/secret/out.png')\n"
        "    output.file.save(f'e2e-board-{n}.png', ContentFile(data)); make_thumbnail(output.pk)\n"
        "print(run.code)"
    )


def test_a_board_is_made_reviewed_shared_and_revoked(
    page: Page, site, console, shoot, log_in, new_context
) -> None:
    run_code = make_images_run(site)
    console.attach(page)
    page.set_viewport_size(DESKTOP)
    log_in(page, "demo")

    # -- from the run page: the first output onto a new board, the others onto it ----------
    page.goto(f"{site.url}/runs/{run_code}/")
    mark_document(page)
    for n in range(3):
        output = page.locator(f"#output-{n + 1}")
        output.get_by_role("link", name="Add to board").click()
        menu = output.locator(".add-menu")
        expect(menu.get_by_role("button", name="Add")).to_be_visible()
        if n == 0:
            menu.get_by_placeholder("New board's name").fill("Launch picks")
        else:
            expect(menu.get_by_label("Launch picks")).to_be_checked()
        if n == 0:
            output.screenshot(path="/tmp/boards-add-menu.png", caret="initial")
        menu.get_by_role("button", name="Add").click()
        expect(menu.get_by_text("Added to")).to_be_visible()
    assert same_document(page), "adding to a board reloaded the run page"
    page.locator("#output-1 .add-menu").get_by_role("link", name="Launch picks").click()
    page.wait_for_url(re.compile(r"/boards/[^/]+/$"))
    board_url = page.url

    # -- review on the board: approve, reject, comment, without a reload -------------------
    expect(page.get_by_role("heading", name="Launch picks", level=1)).to_be_visible()
    tiles = page.locator(".board-tile")
    expect(tiles).to_have_count(3)
    mark_document(page)
    first, second = tiles.nth(0), tiles.nth(1)
    first.get_by_role("button", name="Approve").click()
    expect(page.locator(".board-tile").nth(0).locator(".tile-review .pill")).to_have_text(
        "Approved"
    )
    expect(page.locator("#count-approved")).to_have_text("1")
    second.get_by_role("button", name="Reject").click()
    expect(page.locator("#count-rejected")).to_have_text("1")
    expect(page.locator("#count-unreviewed")).to_have_text("1")
    first = page.locator(".board-tile").nth(0)
    first.get_by_label("Note").fill("Hero banner: use this one")
    first.get_by_role("button", name="Save note").click()
    expect(page.locator(".board-tile").nth(0).get_by_text("Note saved.")).to_be_visible()
    first = page.locator(".board-tile").nth(0)
    first.locator("summary", has_text="Comments").click()
    first.get_by_placeholder("Team-only comment").fill("The sun could be bigger.")
    first.get_by_role("button", name="Post comment").click()
    expect(page.locator(".board-tile").nth(0).get_by_text("Comments (1)")).to_be_visible()
    # Arrows reorder it (htmx swaps the grid): the third item moves up to second.
    third_code = page.locator(".board-tile").nth(2).get_attribute("data-item")
    page.locator(".board-tile").nth(2).get_by_role("button", name=re.compile("earlier")).click()
    expect(page.locator(".board-tile").nth(1)).to_have_attribute("data-item", third_code)
    # Dragged (static/js/boards.js posts the order with htmx): the first goes last.
    codes = [t.get_attribute("data-item") for t in page.locator(".board-tile").all()]
    page.locator(".board-tile").nth(0).locator(".tile-media").drag_to(
        page.locator(".board-tile").nth(2).locator(".tile-media")
    )
    expect(page.locator(".board-tile").nth(2)).to_have_attribute("data-item", codes[0])
    page.wait_for_load_state("networkidle")
    assert same_document(page), "reviewing or ordering reloaded the board page"
    page.reload()
    assert [t.get_attribute("data-item") for t in page.locator(".board-tile").all()] == [
        codes[1],
        codes[2],
        codes[0],
    ], "the dragged order was not saved"
    load_lazy_images(page)
    assert broken_images(page) == []
    assert page.locator(".board-tile img").first.evaluate("(img) => img.naturalWidth") > 0
    shoot(page, "boards-desktop")
    page.screenshot(path="/tmp/boards-desktop.png", full_page=True, caret="initial")
    page.set_viewport_size(PHONE)
    page.screenshot(path="/tmp/boards-390.png", full_page=True, caret="initial")
    shoot(page, "boards-390")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the board page scrolls sideways at 390 px"
    page.set_viewport_size(DESKTOP)

    # -- share it, open the link logged out ------------------------------------------------
    # -- select two -> compare (the gallery's page, by URL) ---------------------------------
    compare = page.get_by_role("button", name="Compare selected")
    expect(compare).to_be_disabled()
    page.locator(".board-tile").nth(0).get_by_label("Compare").check()
    page.locator(".board-tile").nth(1).get_by_label("Compare").check()
    expect(compare).to_be_enabled()
    compare.click()
    page.wait_for_url(re.compile(r"/gallery/compare\?o=\d+&o=\d+$"))
    assert page.locator(".board-tile").count() == 0
    page.goto(board_url)

    shares = page.locator("#board-shares")
    shares.get_by_role("button", name="Create share link").click()
    share_url = shares.locator("#share-url").input_value()
    assert share_url.startswith(f"{site.url}/b/"), share_url
    visitor = new_context(viewport=DESKTOP)
    public = visitor.new_page()
    console.attach(public)
    response = public.goto(share_url)
    assert response is not None and response.status == 200
    expect(public.get_by_role("heading", name="Launch picks", level=1)).to_be_visible()
    expect(public.locator(".board-tile")).to_have_count(3)
    load_lazy_images(public)
    assert broken_images(public) == []
    text = public.locator("body").inner_text()
    for internal in ["Demo Studio", "The sun could be bigger.", "Approved", "Hero banner"]:
        assert internal not in text, internal
    assert run_code not in public.content()
    thumb_url = public.locator(".board-tile img").first.get_attribute("src")
    assert thumb_url and thumb_url.startswith("/b/")
    public.screenshot(path="/tmp/boards-public.png", full_page=True, caret="initial")
    shoot(public, "boards-public")

    # -- revoked on the board page: the link is dead ---------------------------------------
    page.once("dialog", lambda dialog: dialog.accept())
    shares.get_by_role("button", name="Revoke").click()
    expect(shares.get_by_text("Link revoked: it stopped working immediately.")).to_be_visible()
    response = public.reload()
    assert response is not None and response.status == 404
    expect(public.get_by_role("heading", name="This link is not available")).to_be_visible()
    assert public.request.get(f"{site.url}{thumb_url}").status == 404
    assert page.url == board_url
    assert console.problems == []


def test_without_javascript_boards_work_as_plain_forms(site, console, log_in, new_context) -> None:
    run_code = make_images_run(site)
    context = new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/{run_code}/")
    page.locator("#output-2").get_by_role("link", name="Add to board").click()
    expect(page.get_by_role("heading", name="Add to board", level=1)).to_be_visible()
    page.get_by_placeholder("New board's name").fill("No-script picks")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Added to “No-script picks”.")).to_be_visible()
    assert page.url.endswith(f"/runs/{run_code}/"), page.url  # back where it started

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Boards").click()
    page.get_by_role("link", name="No-script picks").click()
    tile = page.locator(".board-tile")
    expect(tile).to_have_count(1)
    tile.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Marked approved.")).to_be_visible()
    expect(page.locator(".board-tile .tile-review .pill")).to_have_text("Approved")
    expect(page.locator("#count-approved")).to_have_text("1")
    assert console.problems == []
