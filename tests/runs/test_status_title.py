"""The run page's tab title says the run's status, and the polled fragment keeps it current."""

from __future__ import annotations

import pytest

from tests.runs.live_helpers import dashboard_run, let_interval_pass, plain_run

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def test_the_run_page_title_starts_with_the_status(bob_client, team_a, bob):
    run = plain_run(team_a, bob)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert f"<title>Completed · Tarot Pull · run {run.code} · florasite</title>" in html
    assert html.count("<title>") == 1  # the included status box sends none


def test_each_poll_carries_the_title_until_completed(bob_client, team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    titles = []
    for _ in range(30):
        let_interval_pass(run)
        response = bob_client.get(f"/runs/{run.code}/status", headers=HX)
        body = response.content.decode()
        # First in the answer, at the top level: htmx 2 sets document.title from it.
        assert body.lstrip().startswith("<title>")
        titles.append(body.split("<title>", 1)[1].split(" · ", 1)[0])
        if response.status_code == 286:
            break
        clock.advance(1.5)
    assert titles[-1] == "Completed"
    assert "Running" in titles[:-1]
