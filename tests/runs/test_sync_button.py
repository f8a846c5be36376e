"""The "Refresh from FLORA" button: what it imports, what it says, who may press it."""

from __future__ import annotations

import pytest

from runs.models import Run, RunOrigin
from tests.runs.live_helpers import start_flora_run

pytestmark = pytest.mark.django_db


# -- the "Refresh from FLORA" button ---------------------------------------------------------


def test_the_button_imports_and_returns_to_the_same_filtered_view(bob_client, team_a, flora):
    start_flora_run(team_a)

    response = bob_client.post(
        "/runs/sync", {"query": "status=completed&member=outside&before=abc"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/runs/?status=completed&member=outside"
    assert Run.objects.filter(team=team_a, origin=RunOrigin.EXTERNAL).count() == 1
    page = bob_client.get(response["Location"])
    assert "Imported 1 run started outside the dashboard." in page.content.decode()


def test_the_button_says_when_nothing_is_new(bob_client, team_a, flora):
    response = bob_client.post("/runs/sync", follow=True)
    assert "Up to date" in response.content.decode()


def test_the_button_explains_a_refusal(bob_client, team_a, flora):
    connection = team_a.connection
    connection.set_api_key("sk_sandbox_nope")
    connection.save()

    response = bob_client.post("/runs/sync", follow=True)

    body = response.content.decode()
    assert "Could not refresh from FLORA: HTTP 401" in body
    assert "request id req_" in body


def test_the_button_syncs_only_the_members_team(dave_client, team_a, team_b, flora):
    start_flora_run(team_a)
    start_flora_run(team_b)

    dave_client.post("/runs/sync")

    assert Run.objects.filter(team=team_a).count() == 0
    assert Run.objects.filter(team=team_b).count() == 1


def test_viewers_get_403_and_flora_is_not_called(carol_client, team_a, flora):
    # Refreshing calls FLORA with the team's key: members and up, like starting a run.
    start_flora_run(team_a)
    flora.reset()

    response = carol_client.post("/runs/sync")

    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
    assert sum(flora.counts.values()) == 0
    assert Run.objects.filter(team=team_a).count() == 0


def test_the_button_is_shown_to_members_and_hidden_from_viewers(bob_client, carol_client, team_a):
    assert 'action="/runs/sync"' in bob_client.get("/runs/").content.decode()
    page = carol_client.get("/runs/")
    assert page.status_code == 200
    assert 'action="/runs/sync"' not in page.content.decode()
    assert "Refresh from FLORA" not in page.content.decode()


def test_the_button_rejects_get(bob_client):
    assert bob_client.get("/runs/sync").status_code == 405
