"""Files as inputs in a real browser: choose a file, see its preview and the upload's
progress, run, see the input on the run page; then use the run's output in another
technique and see the chain on both runs."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

COLOR = "tech_color-transfer"
SHOTS = "/tmp/assets-ui-{}.png"


def photo() -> bytes:
    image = Image.new("RGB", (640, 420), (214, 232, 244))
    draw = ImageDraw.Draw(image)
    draw.ellipse((380, 40, 520, 180), fill=(250, 200, 60))
    draw.polygon([(0, 420), (220, 160), (420, 420)], fill=(70, 110, 90))
    draw.polygon([(260, 420), (470, 200), (640, 420)], fill=(50, 90, 75))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


WATCH_PROGRESS = """() => {
  window.__progress = [];
  document.querySelectorAll('[data-progress]').forEach((bar) => {
    new MutationObserver(() => {
      if (!bar.hidden) window.__progress.push(Number(bar.value));
    }).observe(bar, { attributes: true, attributeFilter: ['hidden', 'value'] });
  });
}"""


def shot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SHOTS.format(name), full_page=True, caret="initial")


def wait_completed(page: Page) -> None:
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "completed", timeout=45_000
    )
    # Kept by the copier: only then can it be used as an input.
    expect(page.get_by_text("Use in another technique").first).to_be_visible(timeout=45_000)


def test_upload_run_and_use_the_output_in_another_technique(
    page: Page, site, console, log_in, fake_images
) -> None:
    console.attach(page)
    host = fake_images(page.context)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/{COLOR}/")
    page.evaluate(WATCH_PROGRESS)

    page.locator("#id_file_image").set_input_files(
        {"name": "mountains.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    )
    box = page.locator("[data-media-input][data-url-field='id_in_image']")
    expect(box.locator("[data-upload-status]")).to_have_text(
        re.compile(r"Uploaded mountains\.jpg .*where it was taken was removed"), timeout=20_000
    )
    expect(box.locator("img[data-chosen-preview]")).to_be_visible()
    src = box.locator("img[data-chosen-preview]").get_attribute("src") or ""
    assert src.startswith("/uploads/") and src.endswith("/file")
    assert page.evaluate("window.__progress.length") > 0  # the bar was shown while sending
    assert box.locator("[data-ref-input]").input_value().startswith("upload:")
    page.get_by_label("Color reference").fill(f"{host}/grade.png")
    shot(page, "form-with-upload")

    page.locator("[data-run-button]").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    first_url = page.url
    expect(page.locator("img.input-thumb[src^='/uploads/']")).to_be_visible()
    wait_completed(page)

    page.get_by_text("Use in another technique").first.click()
    expect(page.get_by_role("heading", name="Use in another technique")).to_be_visible()
    shot(page, "use-in-another-technique")
    page.get_by_role("link", name="Use as Starting scene").click()
    page.wait_for_url(re.compile(r"/techniques/tech_earth-zoom-out/"))
    expect(page.locator("img[data-chosen-preview]")).to_be_visible()
    page.locator("[data-run-button]").click()
    page.wait_for_url(lambda url: re.search(r"/runs/[^/]+/$", url) and url != first_url)
    second_code = page.url.rstrip("/").rsplit("/", 1)[-1]
    first_code = first_url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("[data-chain-from]")).to_contain_text(f"run {first_code}")
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    expect(page.locator("#run-outputs video")).to_be_visible(timeout=30_000)
    shot(page, "chained-run")

    page.goto(first_url)
    expect(page.locator("[data-chain-used]")).to_contain_text(f"run {second_code}")
    shot(page, "source-run-used-in")
    assert console.problems == []


DROP = """([selector, name, type, bytes, how]) => {
  const file = new File([new Uint8Array(bytes)], name, { type });
  const data = new DataTransfer();
  data.items.add(file);
  const target = document.querySelector(selector);
  if (how === "paste") {
    target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
  } else {
    const options = { dataTransfer: data, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent("dragover", options));
    target.dispatchEvent(new DragEvent("drop", options));
  }
}"""


def test_drop_and_paste_upload_and_a_renamed_text_file_is_refused(
    page: Page, site, console, log_in
) -> None:
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/{COLOR}/")
    image = page.locator("[data-media-input][data-url-field='id_in_image']")
    reference = page.locator("[data-media-input][data-url-field='id_in_reference']")
    expect(image.locator("[data-drop-hint]")).to_be_visible()

    # A text file named .png, dropped: the dashboard reads its content and says so.
    page.evaluate(DROP, ["#id_in_image", "notes.png", "image/png", list(b"just words\n"), "drop"])
    expect(image.locator("[data-upload-status]")).to_have_text(
        re.compile(r"named like a PNG image, but its content is not one"), timeout=20_000
    )
    assert image.locator("[data-ref-input]").input_value() == ""

    # The real photo, dropped on the first input and pasted into the second.
    page.evaluate(DROP, ["#id_in_image", "a.jpg", "image/jpeg", list(photo()), "drop"])
    expect(image.locator("[data-upload-status]")).to_have_text(
        re.compile(r"^Uploaded a\.jpg"), timeout=20_000
    )
    page.get_by_label("Color reference").focus()
    page.evaluate(DROP, ["#id_in_reference", "b.jpg", "image/jpeg", list(photo()), "paste"])
    expect(reference.locator("[data-upload-status]")).to_have_text(
        re.compile(r"^Uploaded b\.jpg"), timeout=20_000
    )
    # The same bytes: one upload, named by both inputs.
    assert (
        image.locator("[data-ref-input]").input_value()
        == reference.locator("[data-ref-input]").input_value()
    )
    page.locator("[data-run-button]").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    expect(page.locator("img.input-thumb[src^='/uploads/']")).to_have_count(2)
    assert console.problems == []


def test_a_file_is_sent_with_the_form_without_javascript(
    site, console, log_in, new_context, fake_images
) -> None:
    context = new_context(java_script_enabled=False)
    host = fake_images(context)
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/{COLOR}/")
    page.locator("#id_file_image").set_input_files(
        {"name": "nojs.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    )
    page.get_by_label("Color reference").fill(f"{host}/grade.png")
    page.locator("[data-run-button]").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    expect(page.locator("img.input-thumb[src^='/uploads/']")).to_have_count(1)
    assert console.problems == []


def test_the_picker_chooses_a_recent_upload(page: Page, site, console, log_in) -> None:
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/{COLOR}/")
    image = page.locator("[data-media-input][data-url-field='id_in_image']")
    reference = page.locator("[data-media-input][data-url-field='id_in_reference']")
    page.locator("#id_file_image").set_input_files(
        {"name": "pick-me.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    )
    expect(image.locator("[data-upload-status]")).to_have_text(
        re.compile(r"^Uploaded pick-me\.jpg"), timeout=20_000
    )
    reference.get_by_text("Recent uploads and outputs").click()
    first = reference.locator("[data-pick-ref^='upload:']").first
    expect(first).to_be_visible(timeout=10_000)
    expect(first.locator("img")).to_be_visible()
    wanted = image.locator("[data-ref-input]").input_value()
    reference.locator(f"[data-pick-ref='{wanted}']").click()
    assert reference.locator("[data-ref-input]").input_value() == wanted
    expect(reference.locator("img[data-chosen-preview]")).to_be_visible()
    expect(reference.locator("[data-picker]")).not_to_have_attribute("open", "")
    reference.get_by_text("Recent uploads and outputs").click()
    shot(page, "picker-open")
    page.locator("[data-run-button]").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    expect(page.locator("img.input-thumb[src^='/uploads/']")).to_have_count(2)
    assert console.problems == []
