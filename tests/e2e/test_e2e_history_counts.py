"""The history's status counts follow its live rows in a real browser: the poll that sees
a run end swaps the counts in out of band (a <template> after the <tr>)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_counts_change_when_a_live_row_ends(site, log_in, page, console) -> None:
    # A run in flight whose check with FLORA is held off: only the test moves it on.
    code = site.shell(
        "from datetime import timedelta; from django.utils import timezone; "
        "from runs.models import Run, RunStatus; from teams.models import Team; "
        "run = Run.objects.create(team=Team.objects.get(slug='demo-studio'), "
        "technique_id='tech_counts', technique_name='Counts', status=RunStatus.RUNNING, "
        "flora_run_id='run_counts_e2e', "
        "refresh_claimed_until=timezone.now() + timedelta(hours=1)); print(run.code)"
    )
    console.attach(page)
    log_in(page, "demo")
    page.goto(f"{site.url}/runs/?technique=tech_counts")
    counts = page.locator("#run-counts")
    expect(counts.get_by_role("link", name="In progress 1")).to_be_visible()
    expect(counts.get_by_role("link", name="Completed 0")).to_be_visible()

    site.shell(
        "from django.utils import timezone; from runs.models import Run; "
        f"Run.objects.filter(code='{code}').update(status='completed', completed_at=timezone.now())"
    )
    expect(counts.get_by_role("link", name="Completed 1")).to_be_visible(timeout=15_000)
    expect(counts.get_by_role("link", name="In progress 0")).to_be_visible()
    expect(page.locator(f"#run-{code} .pill")).to_have_text("Completed")
    assert page.locator("#run-counts").count() == 1  # replaced, not added
    assert console.problems == []
