"""Running a run again: the form refilled from its inputs, and runs that cannot be."""

from __future__ import annotations

import pytest

from runs.models import Run, RunStatus
from sandbox import stats
from techniques.forms import intent_from_token
from tests.runs.submit_helpers import DEMO, TAROT, html_of, read_form, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


# -- "Run again" ----------------------------------------------------------------------------


def test_run_again_opens_the_form_filled_with_the_runs_inputs(bob_client, alice_client, upstream):
    start(
        bob_client,
        "tech_book-drop",
        {"cover_art": "https://c.example/a.png", "title": "Dune"},
        workspace="ws_brand",
    )
    run = Run.objects.get()

    response = alice_client.get(f"/runs/{run.code}/again")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/techniques/tech_book-drop/?again={run.code}&workspace=ws_brand#run-form"
    )
    form = read_form(html_of(alice_client.get(response["Location"].split("#")[0])))
    assert form["in_cover_art"] == "https://c.example/a.png"
    assert form["in_title"] == "Dune" and form["in_author"] == ""
    assert form["workspace"] == "ws_brand"
    assert intent_from_token(run.team, "tech_book-drop", form["intent"]) != run.intent_key

    # Sent again: a new run, FLORA sees a second (new) create.
    assert alice_client.post("/techniques/tech_book-drop/run", form).status_code == 302
    assert Run.objects.count() == 2 and stats.runs_created(DEMO) == 2


def test_run_again_of_another_teams_run_is_404(bob_client, dave_client, upstream):
    start(bob_client, values={"question": "Mine"})
    run = Run.objects.get()
    assert dave_client.get(f"/runs/{run.code}/again").status_code == 404
    # ...and another team's run code cannot prefill a form either.
    html = html_of(dave_client.get(f"/techniques/{TAROT}/?again={run.code}"))
    assert read_form(html)["in_question"] == ""


def test_run_again_without_known_inputs_says_so(bob_client, team_a, upstream):
    run = Run.objects.create(
        team=team_a,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        origin="external",
        status=RunStatus.COMPLETED,
    )
    response = bob_client.get(f"/runs/{run.code}/again", follow=True)
    assert response.status_code == 200
    assert "does not know the inputs of this run" in html_of(response)


@pytest.mark.parametrize("technique_id", ["", "tech_a/b", "tech x", "tech_x\n", "..", "tech_é"])
def test_run_again_of_a_run_with_an_unusable_technique_id_says_so(
    bob_client, team_a, upstream, technique_id
):
    run = Run.objects.create(
        team=team_a,
        technique_id=technique_id,
        technique_name="Odd One",
        origin="external",
        status=RunStatus.FAILED,
        error_code="provider_error",
    )
    page = bob_client.get(f"/runs/{run.code}/")
    assert page.status_code == 200
    assert "/again" not in html_of(page)  # no button that cannot work

    response = bob_client.get(f"/runs/{run.code}/again")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.code}/"
    html = html_of(bob_client.get(response["Location"]))
    assert "cannot be run again from the dashboard" in html
    assert upstream.calls() == 0
