"""The run page's inputs and share links in a real browser (issue 14 items 10 and 13).

An image input that loads shows its thumbnail; one whose host answers 404 becomes the
placeholder box; each address is copied with its button. A share link made earlier is copied
again after a reload, by its creator and by a teammate, never by a viewer. The failed run's
alert and "Run again" do not touch. Photographed at desktop and phone widths.
"""

from __future__ import annotations

import json
import secrets

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CLIPBOARD = ["clipboard-read", "clipboard-write"]


def make_run(site, status: str, inputs: list[dict]) -> str:  # noqa: ANN001 - Site
    """A run of the demo member in Demo Studio, written straight to the database; its code."""
    fields = (
        "error_code='provider_error', error_message='The upstream model crashed halfway.', "
        if status == "failed"
        else ""
    )
    return site.shell(
        "import json; from django.utils import timezone; from django.contrib.auth import "
        "get_user_model; from runs.models import Run; from teams.models import Team; "
        "now = timezone.now(); "
        "run = Run.objects.create(team=Team.objects.get(slug='demo-studio'), "
        "created_by=get_user_model().objects.get(username='demo'), "
        "technique_id='tech_auto-translate', technique_name='Auto Translate', "
        f"status='{status}', {fields}inputs=json.loads({json.dumps(json.dumps(inputs))}), "
        "submitted_at=now, started_at=now, completed_at=now); print(run.code)"
    )


def test_inputs_show_address_copy_and_a_placeholder(
    site, log_in, new_context, fake_images, console, shoot
) -> None:
    good = "https://images.example.test/inputs/face.png"
    gone = "https://images.example.test/missing/" + "long-folder-name/" * 6 + "gone.png"
    code = make_run(
        site,
        "failed",
        [
            {"id": "face", "type": "imageUrl", "value": good},
            {"id": "style_reference", "type": "imageUrl", "value": gone},
            {"id": "target_language", "type": "text", "value": "French"},
        ],
    )
    for name, viewport in (("desktop", DESKTOP), ("390", PHONE)):
        context = new_context(viewport=viewport, permissions=CLIPBOARD)
        fake_images(context)
        # Registered last, so it wins over fake_images for this path: the host says 404.
        context.route("https://images.example.test/missing/**", lambda r: r.fulfill(status=404))
        page = context.new_page()
        console.attach(page)
        log_in(page, "demo")
        page.goto(f"{site.url}/runs/{code}/")
        page.evaluate("Array.from(document.images).forEach((img) => { img.loading = 'eager'; })")
        inputs = page.locator(".run-inputs")
        items = inputs.locator(".run-input")
        expect(items).to_have_count(3)
        face, reference = items.nth(0), items.nth(1)

        # The good image: its picture, no placeholder.
        page.wait_for_function(
            "() => { const img = document.querySelector('.run-input img'); "
            "return img && img.complete && img.naturalWidth > 0; }"
        )
        expect(face.locator(".input-missing")).to_be_hidden()
        expect(face.locator(".input-url")).to_have_text(good)
        # The dead one: the placeholder box with its icon, not a broken image.
        expect(reference.locator(".input-missing")).to_be_visible()
        expect(reference.locator(".input-missing")).to_have_text("Image could not be loaded")
        expect(reference.locator(".input-missing svg.type-icon")).to_have_count(1)
        expect(reference.locator("img")).to_be_hidden()
        expect(reference.locator(".input-url")).to_have_text(gone)

        # Copy: the whole address reaches the clipboard, and "Copied" is announced.
        reference.get_by_role("button", name="Copy the link of Style reference").click()
        expect(page.locator("[data-copy-status]")).to_have_text("Copied")
        expect(
            reference.get_by_role("button", name="Copy the link of Style reference")
        ).to_have_text("Copied")
        assert page.evaluate("() => navigator.clipboard.readText()") == gone

        # The address stays inside its column, however long.
        box = reference.locator(".input-url").bounding_box()
        aside = page.locator("#run-aside").bounding_box()
        assert box and aside and box["x"] + box["width"] <= aside["x"] + aside["width"] + 1

        # The failed run's alert and "Run again" keep apart.
        alert = page.locator(".run-failure").bounding_box()
        again = page.locator(".run-again .button").bounding_box()
        assert alert and again and again["y"] - (alert["y"] + alert["height"]) >= 12, (
            alert,
            again,
        )
        shoot(page, f"ux-inputs-failed-run-{name}")
        page.locator("#run-aside").screenshot(
            path=f"/tmp/ux-inputs-inputs-{name}.png", caret="initial"
        )
        page.screenshot(path=f"/tmp/ux-inputs-run-{name}.png", full_page=True, caret="initial")
    assert console.problems == []


def test_without_javascript_a_dead_image_is_a_box_not_a_broken_icon(
    site, log_in, new_context, fake_images
) -> None:
    gone = "https://images.example.test/missing/nojs.png"
    code = make_run(site, "failed", [{"id": "face", "type": "imageUrl", "value": gone}])
    context = new_context(java_script_enabled=False, viewport=PHONE)
    fake_images(context)
    context.route("https://images.example.test/missing/**", lambda r: r.fulfill(status=404))
    page = context.new_page()
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/{code}/")
    page.wait_for_function(
        "() => document.images.length && [...document.images].every((i) => i.complete)"
    )
    # No dead button without JavaScript: the address is there to select.
    expect(page.locator(".run-input button")).to_be_hidden()
    expect(page.locator(".input-url")).to_have_text(gone)
    content = page.locator(".input-thumb").evaluate(
        "(img) => getComputedStyle(img, '::after').content"
    )
    assert content == '"Image could not be loaded"'
    page.locator("#run-aside").screenshot(path="/tmp/ux-inputs-nojs-390.png", caret="initial")


def test_a_link_made_earlier_is_copied_by_teammates_not_viewers(
    site, log_in, new_context, console, shoot
) -> None:
    code = make_run(site, "completed", [{"id": "q", "type": "text", "value": "Share me"}])
    context = new_context(viewport=DESKTOP, permissions=CLIPBOARD)
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/{code}/")
    shares = page.locator("#run-shares")
    shares.get_by_role("button", name="Create share link").click()
    url = shares.locator("#share-url").input_value()
    expect(shares.get_by_text("members of the team can also copy it later")).to_be_visible()
    shares.screenshot(path="/tmp/ux-inputs-share-created-desktop.png", caret="initial")

    # Later: a fresh load of the page, the link is still there to copy.
    page.reload()
    row = shares.locator(".share-row").first
    row.get_by_role("button", name="Copy link").click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    shoot(page, "ux-inputs-shares-desktop")
    page.locator("#run-shares").screenshot(
        path="/tmp/ux-inputs-shares-desktop.png", caret="initial"
    )

    # A manager of the team (a teammate who did not make it) copies the same link.
    mate = new_context(viewport=PHONE, permissions=CLIPBOARD).new_page()
    console.attach(mate)
    log_in(mate, "admin")
    mate.goto(f"{site.url}/runs/{code}/")
    mate_row = mate.locator("#run-shares .share-row").first
    mate_row.get_by_role("button", name="Copy link").click()
    assert mate.evaluate("() => navigator.clipboard.readText()") == url
    mate.locator("#run-shares").screenshot(path="/tmp/ux-inputs-shares-390.png", caret="initial")
    mate.screenshot(path="/tmp/ux-inputs-shares-page-390.png", full_page=True, caret="initial")

    # A viewer sees that it exists, not the link.
    viewer, password = f"viewer-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    site.manage(
        "add_member", "--team", "demo-studio", "--username", viewer, "--role", "viewer",
        "--create-user", "--password-file", "-", stdin=password + "\n",
    )  # fmt: skip
    site.logins[viewer] = password
    seer = new_context(viewport=DESKTOP).new_page()
    log_in(seer, viewer)
    seer.goto(f"{site.url}/runs/{code}/")
    expect(seer.locator("#run-shares .share-row")).to_have_count(1)
    expect(seer.get_by_text("Members of the team can copy this link")).to_be_visible()
    assert url.rsplit("/", 1)[-1] not in seer.content()
    seer.locator("#run-shares").screenshot(path="/tmp/ux-inputs-shares-viewer.png", caret="initial")

    # Revoked: nobody can copy it any more.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(shares.locator(".share-row .pill")).to_have_text("Revoked")
    expect(shares.get_by_role("button", name="Copy link")).to_have_count(0)
    assert url.rsplit("/", 1)[-1] not in page.content()
    assert console.problems == []
