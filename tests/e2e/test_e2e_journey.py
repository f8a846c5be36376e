"""A member's whole journey in a real browser, against a live florasite and its sandbox.

Log in, search the catalog, open a technique, fill its form (a bad link first, then the
right one), double-click Run, watch the run go from pending to running to completed without
a reload, see its outputs, share it, open the share link logged out, revoke it, and check
that someone from another team cannot open the run. Every page is checked for CSP
violations and script errors, and photographed into the screenshots folder.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TECHNIQUE = "Auto Translate"
TECHNIQUE_ID = "tech_auto-translate"
# "[slow]" makes the sandbox run ten times longer: 50 s of simulated work, ~6 s at the
# harness's speedup of 8, so a 2 s poll sees the run running before it completes.
LANGUAGE = "French [slow]"
STATUS_TIMEOUT_S = 45


def mark_document(page: Page) -> None:
    """Tag the current document: the tag survives htmx swaps, but not a page load."""
    page.evaluate("window.__e2eDocument = 'same'")


def same_document(page: Page) -> bool:
    return page.evaluate("window.__e2eDocument === 'same'")


def broken_images(page: Page) -> list[str]:
    """Images that finished loading without a picture (404, wrong type, blocked)."""
    return page.evaluate(
        """() => Array.from(document.images)
            .filter((img) => img.complete && img.naturalWidth === 0)
            .map((img) => img.currentSrc || img.src)"""
    )


def load_lazy_images(page: Page) -> None:
    """Load the images the browser deferred (loading=lazy) and wait until every one is done."""
    page.evaluate("Array.from(document.images).forEach((img) => { img.loading = 'eager'; })")
    # A function, not an expression: Playwright evals the text once (exempt from the CSP
    # while the devtools call runs) and then calls the function; an expression would be
    # eval'd again on every poll, which the page's strict CSP refuses.
    page.wait_for_function("() => Array.from(document.images).every((img) => img.complete)")


def db_counts(site, technique_id: str = TECHNIQUE_ID) -> tuple[int, int]:  # noqa: ANN001 - Site
    """(Demo Studio's Run rows for the technique, create calls the sandbox has received)."""
    out = site.shell(
        "from runs.models import Run; from sandbox import stats; "
        f"print(Run.objects.filter(team__slug='demo-studio', technique_id='{technique_id}')"
        ".count(), stats.create_calls('sk_sandbox_demo'))"
    )
    runs, calls = out.split()
    return int(runs), int(calls)


def watch_status(page: Page, on_running: Callable[[], object]) -> list[str]:
    """Read the run page's status every 50 ms until it is terminal; the distinct values seen."""
    seen: list[str] = []
    deadline = time.monotonic() + STATUS_TIMEOUT_S
    while time.monotonic() < deadline:
        status = page.locator("#run-status").get_attribute("data-status")
        if status and (not seen or seen[-1] != status):
            seen.append(status)
            if status == "running":
                on_running()
        if status in ("completed", "failed", "failed_to_start"):
            return seen
        page.wait_for_timeout(50)
    raise AssertionError(f"the run did not finish within {STATUS_TIMEOUT_S} s; seen {seen}")


def test_a_member_runs_a_technique_shares_the_result_and_revokes_the_link(
    page: Page, site, console, shoot, log_in, new_context, fake_images
) -> None:
    image_host = fake_images(page.context)
    console.attach(page)

    # -- log in ----------------------------------------------------------------------------
    page.goto(f"{site.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in to florasite")).to_be_visible()
    shoot(page, "01-login")
    log_in(page, "demo")

    # -- the catalog, more of it and searched live (htmx: the page is not reloaded) ---------
    expect(page.get_by_role("heading", name="Techniques", exact=True)).to_be_visible()
    cards = page.locator("#catalog-cards article")
    expect(cards).to_have_count(12)
    assert broken_images(page) == []
    shoot(page, "02-catalog")

    mark_document(page)
    page.get_by_role("link", name="Load more").click()
    expect(cards).to_have_count(24)  # appended under the first twelve
    expect(page.get_by_text("24 of 35 techniques loaded.")).to_be_visible()
    page.get_by_label("Search").fill("translate")
    expect(cards).to_have_count(1)
    expect(cards.first.get_by_role("heading", name=TECHNIQUE)).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=translate"))  # a link to share the search
    assert same_document(page), "Load more or the search reloaded the page"
    shoot(page, "03-catalog-search")

    # -- the technique page ----------------------------------------------------------------
    page.get_by_role("link", name=f"Open {TECHNIQUE}").click()
    expect(page.get_by_role("heading", name=TECHNIQUE, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Inputs and outputs")).to_be_visible()
    shoot(page, "04-technique")

    # -- a bad link: the page says why, and nothing starts ---------------------------------
    runs_before, calls_before = db_counts(site)
    image_field = page.get_by_label("Image with text")
    insecure_link = image_host.replace("https://", "http://") + "/menu.png"
    image_field.fill(insecure_link)
    page.get_by_label("Target language").fill(LANGUAGE)
    run_button = page.get_by_role("button", name="Run for $0.08")
    run_button.click()
    error = page.locator(".field.has-error .errorlist")
    expect(error).to_have_text(re.compile(r"Use an https:// link"))
    # What was typed is kept, so only the link needs fixing.
    expect(page.get_by_label("Target language")).to_have_value(LANGUAGE)
    expect(image_field).to_have_value(insecure_link)
    shoot(page, "05-form-error")
    assert db_counts(site) == (runs_before, calls_before), "a refused form started something"

    # -- corrected, then Run double-clicked: one run, one create call at FLORA -------------
    image_field.fill(f"{image_host}/menu.png")
    preview = page.locator(".preview img")
    expect(preview).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('.preview img')?.complete "
        "&& document.querySelector('.preview img').naturalWidth > 0"
    )
    form_data = page.evaluate(
        "Object.fromEntries(new FormData(document.getElementById('run-form')))"
    )
    start_url = page.locator("#run-form").evaluate("(form) => form.action")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    run_button.dblclick()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    run_url = page.url
    run_code = run_url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", name=TECHNIQUE, level=1)).to_be_visible()

    # -- pending, running, completed: watched live on one document -------------------------
    mark_document(page)

    shots: list[Path] = []
    seen = watch_status(page, lambda: shots.append(shoot(page, "06-run-running")))
    assert seen == ["pending", "running", "completed"], seen
    assert same_document(page), "the run page reloaded while the run progressed"
    assert len(shots) == 1

    # The outputs arrive without a reload too, once the dashboard has kept its copies.
    outputs = page.locator("#run-outputs")
    expect(outputs.get_by_role("heading", name="Translated", exact=True)).to_be_visible()
    expect(outputs.get_by_role("heading", name="Transcript")).to_be_visible()
    expect(outputs.locator("img")).to_have_count(1, timeout=20_000)
    expect(outputs.get_by_text("Saving copies")).to_have_count(0, timeout=20_000)
    expect(outputs.get_by_role("link", name="Download all (.zip)")).to_be_visible()
    load_lazy_images(page)
    assert broken_images(page) == []
    assert outputs.locator("img").evaluate("(img) => img.naturalWidth") > 0
    expect(outputs.locator("pre.output-text")).not_to_be_empty()
    assert same_document(page)
    shoot(page, "07-run-completed")

    # The same form sent again (a browser retry, the back button) lands on the same run.
    again = page.request.post(start_url, form=form_data)
    assert again.ok and again.url == run_url, (again.status, again.url)
    assert "This form was already submitted: here is its run." in again.text()
    # Chromium itself sends a double-clicked form once; the replay above is the second.
    assert 1 <= len(posts) <= 2, posts
    assert db_counts(site) == (runs_before + 1, calls_before + 1), (
        f"expected one run and one create call; the browser sent {len(posts)} POSTs"
    )

    # -- share it: the link is shown once ---------------------------------------------------
    shares = page.locator("#run-shares")
    shares.get_by_role("button", name="Create share link").click()
    share_input = shares.locator("#share-url")
    expect(share_input).to_be_visible()
    share_url = share_input.input_value()
    assert share_url.startswith(f"{site.url}/s/"), share_url
    expect(shares.get_by_text("Share link created.")).to_be_visible()
    expect(shares.locator(".share-row .pill")).to_have_text("Active")
    assert same_document(page)
    shoot(page, "08-share-created")

    # -- the link in a fresh, logged-out browser --------------------------------------------
    visitor = new_context()
    fake_images(visitor)
    public = visitor.new_page()
    console.attach(public)
    response = public.goto(share_url)
    assert response is not None and response.status == 200
    expect(public.get_by_role("heading", name=TECHNIQUE, level=1)).to_be_visible()
    expect(public.get_by_role("heading", name="Translated", exact=True)).to_be_visible()
    public_image = public.locator(".outputs img")
    expect(public_image).to_have_count(1)
    load_lazy_images(public)
    assert broken_images(public) == []
    assert public_image.evaluate("(img) => img.naturalWidth") > 0
    public_text = public.locator("body").inner_text()
    assert "Demo Studio" not in public_text
    assert not re.search(r"\bdemo\b", public_text, re.IGNORECASE), "the username is shown"
    assert run_code not in public.content(), "the run's code is a dashboard address"
    expect(public.get_by_role("button", name="Log out")).to_have_count(0)
    image_url = public_image.get_attribute("src")
    assert image_url and "/s/" in image_url
    shoot(public, "09-share-public")

    # -- revoked on the run page: the public link is gone ----------------------------------
    page.once("dialog", lambda dialog: dialog.accept())
    shares.get_by_role("button", name="Revoke").click()
    expect(shares.get_by_text("Link revoked: it stopped working immediately.")).to_be_visible()
    expect(shares.locator(".share-row .pill")).to_have_text("Revoked")
    response = public.reload()
    assert response is not None and response.status == 404
    expect(public.get_by_role("heading", name="This link is not available")).to_be_visible()
    expect(public.get_by_role("heading", name="Translated", exact=True)).to_have_count(0)
    assert public.request.get(f"{site.url}{image_url}").status == 404
    shoot(public, "10-share-revoked-404")

    # -- the history lists the run, completed ----------------------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    row = page.locator(f"#run-{run_code}")
    expect(row.get_by_role("link", name=TECHNIQUE)).to_be_visible()
    expect(row.locator(".pill")).to_have_text("Completed")
    load_lazy_images(page)
    assert broken_images(page) == []
    shoot(page, "11-history")

    # -- someone from another team cannot open the run -------------------------------------
    outsider_context = new_context()
    outsider = outsider_context.new_page()
    console.attach(outsider)
    log_in(outsider, "outsider")
    response = outsider.goto(run_url)
    assert response is not None and response.status == 404
    expect(outsider.get_by_role("heading", name="Not found")).to_be_visible()
    expect(outsider.get_by_text(TECHNIQUE)).to_have_count(0)
    shoot(outsider, "12-outsider-404")
    status_url = f"{site.url}/runs/{run_code}/status"
    assert outsider.request.get(status_url, headers={"HX-Request": "true"}).status == 404
    assert outsider.request.get(f"{site.url}/runs/{run_code}/outputs/0").status == 404
    outsider.goto(f"{site.url}/runs/")
    expect(outsider.get_by_role("heading", name="Runs", level=1)).to_be_visible()
    expect(outsider.get_by_text(run_code)).to_have_count(0)
    # Nor share it: a valid form from their own session still finds no such run.
    token = outsider.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    form = {"csrfmiddlewaretoken": token, "expires": "7d"}
    assert outsider.request.post(f"{run_url}shares", form=form).status == 404

    assert console.problems == []


def test_two_submissions_of_one_form_at_the_same_moment_start_one_run(
    page: Page, site, console, log_in, fake_images
) -> None:
    """What a double click amounts to when the browser does not hold the second one back
    (Chromium does; a double tap, another browser or a retrying proxy may not): the server
    gets the same form twice at once, and starts and charges one run."""
    image_host = fake_images(page.context)
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/tech_palette-pull/")
    page.get_by_label("Image", exact=True).fill(f"{image_host}/swatch.png")
    runs_before, calls_before = db_counts(site, "tech_palette-pull")

    landed = page.evaluate(
        """async () => {
            const form = document.getElementById("run-form");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form)});
            const answers = await Promise.all([send(), send()]);
            return answers.map((answer) => [answer.status, answer.url]);
        }"""
    )
    (status_1, url_1), (status_2, url_2) = landed
    assert status_1 == status_2 == 200, landed
    assert url_1 == url_2 and re.search(r"/runs/[^/]+/$", url_1), landed
    assert db_counts(site, "tech_palette-pull") == (runs_before + 1, calls_before + 1)

    page.goto(url_1)
    expect(page.get_by_role("heading", name="Palette Pull", level=1)).to_be_visible()
    assert console.problems == []
