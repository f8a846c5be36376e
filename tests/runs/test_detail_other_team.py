"""A run link of another of the user's teams: an offer to switch, not a bare 404
(runs.views.detail.run_detail, runs.access.other_team_membership)."""

from __future__ import annotations

import pytest

from runs.models import Run, RunStatus
from teams.middleware import SESSION_KEY
from teams.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def bravo_run(team_b, dave) -> Run:
    return Run.objects.create(
        team=team_b,
        created_by=dave,
        technique_id="tech_tarot-pull",
        technique_name="Tarot Pull",
        status=RunStatus.COMPLETED,
        flora_run_id="run_bravo_1",
    )


@pytest.fixture
def bob_in_both(bob, team_b):
    """bob: member of Acme (current: first by name), viewer of Bravo."""
    Membership.objects.create(user=bob, team=team_b, role=Role.VIEWER)
    return bob


def test_it_offers_to_switch_to_the_runs_team(bob_in_both, bob_client, bravo_run):
    url = f"/runs/{bravo_run.code}/"
    response = bob_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This run belongs to Bravo, which you are also in" in html
    assert '<form method="post" action="/teams/switch/">' in html
    assert 'name="team" value="bravo"' in html
    assert f'name="next" value="{url}"' in html
    assert "Switch to Bravo and open it" in html
    assert "Tarot Pull" not in html  # nothing of the run itself before the switch


def test_the_offer_lands_on_the_run(bob_in_both, bob_client, bravo_run, team_b):
    url = f"/runs/{bravo_run.code}/"
    response = bob_client.post("/teams/switch/", {"team": "bravo", "next": url, "keep_path": "1"})
    assert response.status_code == 302
    assert response["Location"] == url
    assert bob_client.session[SESSION_KEY] == team_b.pk
    page = bob_client.get(url)
    assert page.status_code == 200
    assert page.context["run"] == bravo_run


def test_non_members_of_the_runs_team_still_get_a_plain_404(alice_client, bravo_run):
    response = alice_client.get(f"/runs/{bravo_run.code}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Bravo" not in html and "Switch to" not in html


def test_an_unknown_code_is_a_plain_404_for_a_member_of_two_teams(bob_in_both, bob_client):
    response = bob_client.get("/runs/nosuchcode/")
    assert response.status_code == 404
    assert "Switch to" not in response.content.decode()


def test_fragments_of_the_other_teams_run_stay_404(bob_in_both, bob_client, bravo_run):
    headers = {"HX-Request": "true"}
    assert bob_client.get(f"/runs/{bravo_run.code}/status/row", headers=headers).status_code == 404
    assert bob_client.get(f"/runs/{bravo_run.code}/outputs.zip").status_code == 404
