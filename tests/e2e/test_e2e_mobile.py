"""The run history on a phone (390 × 844): every run readable, nothing cut off, the
filters folded behind their summary."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def _history_rows(site) -> None:  # noqa: ANN001 - Site
    """A few finished and failed runs of Demo Studio, with long names and a long error."""
    site.shell(
        "from decimal import Decimal; from django.utils import timezone; "
        "from runs.models import Run, RunStatus; from teams.models import Team; "
        "team = Team.objects.get(slug='demo-studio'); now = timezone.now(); "
        "[Run.objects.create(team=team, technique_id='tech_mobile', "
        "technique_name='A technique with a rather long name for a phone ' + str(i), "
        "status=RunStatus.FAILED if i % 2 else RunStatus.COMPLETED, "
        "error_code='provider_error', "
        "error_message='The provider failed to complete the generation after a long wait.', "
        "charged_cost=Decimal('0.06'), completed_at=now, flora_run_id=f'run_mobile_{i}') "
        "for i in range(4)]"
    )


def test_the_history_fits_a_phone(site, log_in, new_context, console, shoot) -> None:
    _history_rows(site)
    context = new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    page = context.new_page()
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/")

    expect(page.locator("table.history tr.run-row").first).to_be_visible()
    # Nothing wider than the screen: no page scroll sideways, no table cut off in its box.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    wrap = page.evaluate(
        "() => { const w = document.querySelector('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert wrap[0] <= wrap[1], wrap
    # Every row shows its cost and duration, labelled (the header row is not shown).
    row = page.locator("table.history tr.run-row").first
    expect(row.locator("td[data-label='Cost']")).to_be_visible()
    expect(row.locator("td[data-label='Duration']")).to_be_visible()

    # The filters are folded, and open without JavaScript's help.
    status = page.get_by_label("Status", exact=True)
    expect(status).to_be_hidden()
    page.locator(".history-filters-box > summary").click()
    expect(status).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator(".history-filters-box > summary").click()

    shoot(page, "20-mobile-history")
    assert console.problems == []


def test_the_filters_are_open_on_a_wide_screen(site, log_in, page, shoot) -> None:
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/")
    expect(page.get_by_label("Status", exact=True)).to_be_visible()
    expect(page.locator(".history-filters-box > summary")).to_be_hidden()
    expect(page.locator("table.history thead")).to_be_visible()
    shoot(page, "21-wide-history")
