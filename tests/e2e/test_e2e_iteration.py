"""The iteration loop in a real browser: Back, edit, Run; the keyboard; the run's tab title."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

TAROT = "tech_tarot-pull"


def tarot_questions(site) -> list[str]:  # noqa: ANN001 - Site
    """The questions of Demo Studio's Tarot Pull runs, oldest first."""
    out = site.shell(
        "import json; from runs.models import Run; "
        "print(json.dumps([r.inputs[0]['value'] for r in Run.objects.filter("
        f"team__slug='demo-studio', technique_id='{TAROT}').order_by('created_at', 'id')]))"
    )
    return json.loads(out)


def test_back_edit_run_starts_the_edited_run(page: Page, site, console, log_in) -> None:
    console.attach(page)
    log_in(page, "demo")
    before = tarot_questions(site)
    page.goto(f"{site.url}/techniques/{TAROT}/")
    question = page.get_by_label("Question")
    question.fill("alpha e2e")
    page.locator("[data-run-button]").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    alpha_url = page.url

    page.go_back()
    question = page.get_by_label("Question")
    question.fill("beta e2e")
    page.locator("[data-run-button]").click()
    page.wait_for_url(lambda url: re.search(r"/runs/[^/]+/$", url) and url != alpha_url)
    expect(page.get_by_text("This form was already submitted")).to_have_count(0)
    assert tarot_questions(site) == [*before, "alpha e2e", "beta e2e"]
    assert console.problems == []


def test_a_long_prompt_is_counted_and_kept_whole(page: Page, site, console, log_in) -> None:
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/techniques/{TAROT}/")
    counter = page.locator("[data-counter-for='id_in_question']")
    expect(counter).to_have_text("0 / 4000 characters.")
    question = page.get_by_label("Question")
    question.fill("x" * 4010)
    expect(counter).to_have_text("4010 / 4000 characters: 10 over the limit, shorten it to run.")
    expect(counter).to_have_class(re.compile(r"\bover-limit\b"))
    assert len(question.input_value()) == 4010  # nothing cut by the browser
    page.locator("[data-run-button]").click()
    expect(page.get_by_text("shorten it by 10. Nothing was cut")).to_be_visible()
    assert len(page.get_by_label("Question").input_value()) == 4010
    assert console.problems == []


def test_ctrl_enter_runs_and_the_tab_title_follows_the_run(
    page: Page, site, console, log_in
) -> None:
    console.attach(page)
    log_in(page, "demo")
    before = tarot_questions(site)
    page.goto(f"{site.url}/techniques/{TAROT}/")
    expect(page.locator("[data-shortcut-hint]")).to_have_text("Ctrl+Enter runs it")
    question = page.get_by_label("Question")
    # "[slow]": the sandbox takes ~8 s, so the title is seen before the run ends.
    question.fill("keyboard [slow]")
    question.press("Control+Enter")
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    assert tarot_questions(site) == [*before, "keyboard [slow]"]

    page.evaluate("window.__e2eDocument = 'same'")
    title = re.compile(
        r"^(Submitting|Pending|Running|Checking) · Tarot Pull · run \S+ · florasite$"
    )
    expect(page).to_have_title(title)
    expect(page).to_have_title(
        re.compile(r"^Completed · Tarot Pull · run \S+ · florasite$"), timeout=45_000
    )
    assert page.evaluate("window.__e2eDocument === 'same'"), "the page reloaded"
    assert console.problems == []
