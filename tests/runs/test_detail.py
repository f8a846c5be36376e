"""The run page: what it shows, for whom, and failed runs (runs.views.detail.run_detail)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from runs.models import Run, RunOrigin, RunStatus
from tests.runs.results_helpers import CRITIQUE, IMAGE_URL, TAROT, make_run, sandbox_downloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def critique_run(team_a, bob, sandbox_http, clock, monkeypatch) -> Run:
    with sandbox_downloads(monkeypatch):
        return make_run(team_a, bob, *CRITIQUE, clock)


def _failed_run(team, user, **fields) -> Run:
    now = timezone.now()
    values = {
        "team": team,
        "created_by": user,
        "technique_id": "tech_cctv-cam",
        "technique_name": "CCTV Cam",
        "status": RunStatus.FAILED,
        "flora_run_id": "run_failed_1",
        "error_code": "provider_error",
        "error_message": "The upstream model crashed halfway.",
        "price_quoted": Decimal("0.05"),
        "charged_cost": Decimal("0"),
        "inputs": [{"id": "face", "type": "imageUrl", "value": IMAGE_URL}],
        "created_at": now - timedelta(seconds=30),
        "submitted_at": now - timedelta(seconds=30),
        "started_at": now - timedelta(seconds=28),
        "completed_at": now - timedelta(seconds=20),
    }
    values.update(fields)
    return Run.objects.create(**values)


def test_it_requires_login(client, critique_run):
    response = client.get(f"/runs/{critique_run.code}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_hides_other_teams_runs(dave_client, critique_run):
    assert dave_client.get(f"/runs/{critique_run.code}/").status_code == 404


def test_an_unknown_code_is_404(bob_client):
    assert bob_client.get("/runs/nope/").status_code == 404


def test_it_rejects_post(bob_client, critique_run):
    assert bob_client.post(f"/runs/{critique_run.code}/").status_code == 405


def test_it_shows_technique_runner_inputs_status_timings_and_money(bob_client, critique_run):
    response = bob_client.get(f"/runs/{critique_run.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    technique = '<a href="/techniques/tech_art-directors-critique/">Art Director&#x27;s Critique'
    assert f"<h1>{technique}</a></h1>" in html
    assert "bob" in html
    # Inputs: the image as a thumbnail, the text as text.
    assert f'<img class="input-thumb" src="{IMAGE_URL}"' in html
    assert "Sell more lemonade" in html
    assert "Completed" in html
    # Timings: waiting, running, total.
    facts = html[html.index('<dl class="facts">') : html.index("</dl>")]
    for label in ("Waiting", "Running", "Total", "Price quoted", "Cost charged"):
        assert f"<dt>{label}</dt>" in facts
    assert re.search(r"<dt>Running</dt><dd>\d+ s</dd>", facts)
    assert "$0.35 per run" in facts
    assert '<span class="price">$0.35</span>' in facts
    # Everyone in the team may run it again (members); the link goes to runs:again.
    assert f'href="/runs/{critique_run.code}/again"' in html


def test_viewers_see_the_page_without_run_again(carol_client, critique_run):
    html = carol_client.get(f"/runs/{critique_run.code}/").content.decode()
    assert "Art Director" in html
    assert "/again" not in html


def test_it_renders_the_status_fragment_and_the_outputs_wrapper(bob_client, critique_run):
    html = bob_client.get(f"/runs/{critique_run.code}/").content.decode()
    assert html.count('id="run-outputs"') == 1
    assert "pill-completed" in html  # from runs/_status.html


def test_a_failed_run_explains_the_error_and_offers_run_again(bob_client, team_a, bob):
    run = _failed_run(team_a, bob)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    failure = html[html.index('class="alert alert-error run-failure"') :]
    failure = failure[: failure.index("</div>")]
    assert "This run failed." in failure
    assert "The AI model behind this technique failed" in failure
    assert "The upstream model crashed halfway." in failure
    assert "<code>provider_error</code>" in failure
    assert f'<a class="button primary" href="/runs/{run.code}/again">Run again</a>' in html
    assert "(not charged)" in html
    assert "Outputs appear here" not in html


def test_an_unknown_error_code_gets_a_general_explanation(bob_client, team_a, bob):
    run = _failed_run(team_a, bob, error_code="weird_new_code", error_message="")
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "FLORA stopped this run before it produced a result." in html
    assert "<code>weird_new_code</code>" in html


def test_a_run_that_never_started_says_so(bob_client, team_a, bob):
    run = _failed_run(
        team_a,
        bob,
        status=RunStatus.FAILED_TO_START,
        flora_run_id=None,
        error_code="insufficient_credits",
        error_message="Not enough credits.",
        started_at=None,
    )
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "This run did not start." in html
    assert "run out of credits" in html


def test_an_in_flight_run_waits_for_outputs(bob_client, team_a, bob):
    run = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.RUNNING,
        submitted_at=timezone.now(),
        started_at=timezone.now(),
    )
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "Outputs appear here when the run completes." in html
    assert "shown when it finishes" in html
    assert "A run can be shared once it has completed." in html
    assert (
        "hx-get" not in html[html.index('id="run-outputs"') - 200 : html.index('id="run-outputs"')]
    )


def test_the_details_of_an_in_flight_run_name_no_status_that_would_go_stale(
    bob_client, team_a, bob
):
    """Only the live pill follows the run; the details column is refreshed when it ends."""
    run = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="tech_cctv-cam",
        technique_name="CCTV Cam",
        status=RunStatus.PENDING,
        submitted_at=timezone.now(),
    )
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    facts = html[html.index('<dl class="facts">') : html.index("</dl>")]
    assert '<dt>Status</dt><dd><span class="muted">in progress</span></dd>' in facts
    assert "Pending" not in facts
    assert "pill-pending" in html  # the live status says it


def test_runs_started_elsewhere_say_so(bob_client, team_a):
    run = _failed_run(team_a, None, origin=RunOrigin.EXTERNAL)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "Started outside the dashboard" in html


def test_the_page_exposes_no_storage_urls(bob_client, critique_run):
    html = bob_client.get(f"/runs/{critique_run.code}/").content.decode()
    assert "/media/" not in html
    for output in critique_run.outputs.exclude(file=""):
        assert output.file.name not in html


def test_text_inputs_are_escaped(bob_client, team_a, bob):
    run = _failed_run(
        team_a, bob, inputs=[{"id": "q", "type": "text", "value": "<script>x</script>"}]
    )
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_non_https_media_inputs_are_not_loaded_as_images(bob_client, team_a, bob):
    run = _failed_run(
        team_a,
        bob,
        inputs=[
            {"id": "face", "type": "imageUrl", "value": "el_12345"},
            {"id": "other", "type": "imageUrl", "value": "javascript:alert(1)"},
        ],
    )
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert '<code class="break">el_12345</code>' in html
    assert 'src="javascript' not in html and 'href="javascript' not in html


def test_a_tarot_run_page_works_for_the_manager(
    alice_client, team_a, bob, sandbox_http, clock, monkeypatch
):
    with sandbox_downloads(monkeypatch):
        run = make_run(team_a, bob, *TAROT, clock)
    html = alice_client.get(f"/runs/{run.code}/").content.decode()
    assert "Tarot Pull" in html and "Will we ship?" in html
