from __future__ import annotations

import re

import pytest
from django.test import Client

from teams.middleware import SESSION_KEY
from teams.models import Membership, Role

# Pages with the header: the technique catalog (the home page, "/", redirects to it), which
# reads the current team's techniques from the in-process sandbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox_http")]
HOME = "/techniques/"


@pytest.fixture
def bob_in_both(bob, team_b):
    """bob: member of Acme, viewer of Bravo."""
    Membership.objects.create(user=bob, team=team_b, role=Role.VIEWER)
    return bob


def test_anonymous_requests_have_no_team(client: Client):
    response = client.get("/accounts/login/")
    assert response.wsgi_request.team is None
    assert response.wsgi_request.membership is None
    assert response.wsgi_request.user_memberships == []


def test_user_without_team_has_none(db, client: Client, django_user_model):
    client.force_login(django_user_model.objects.create_user("loner"))
    response = client.get(HOME)
    assert response.status_code == 200
    assert response.wsgi_request.team is None
    assert 'class="team-name"' not in response.content.decode()


def test_current_team_is_the_only_team(bob_client, team_a, bob):
    response = bob_client.get(HOME)
    assert response.wsgi_request.team == team_a
    assert response.wsgi_request.membership == Membership.objects.get(user=bob)
    html = response.content.decode()
    assert '<span class="team-name">Acme</span>' in html
    assert "Switch team" not in html  # nothing to switch to


def test_default_team_is_the_first_by_name(bob_in_both, bob_client, team_a):
    # "Acme" < "Bravo"
    assert bob_client.get(HOME).wsgi_request.team == team_a


def test_switcher_lists_teams_with_a_post_form_each(bob_in_both, bob_client):
    html = bob_client.get(HOME + "?page=2").content.decode()
    menu = html[html.index('<details class="menu teammenu">') :]
    menu = menu[: menu.index("</details>")]
    assert menu.count('<form method="post" action="/teams/switch/">') == 2
    assert 'name="team" value="acme"' in menu and 'name="team" value="bravo"' in menu
    assert menu.count('name="next" value="/techniques/?page=2"') == 2
    assert menu.count("csrfmiddlewaretoken") == 2
    current = re.search(r'<button[^>]*aria-current="true"[^>]*>\s*(\w+)', menu)
    assert current and current.group(1) == "Acme"


def test_switch_to_own_team(bob_in_both, bob_client, team_b):
    response = bob_client.post("/teams/switch/", {"team": "bravo", "next": "/runs/"})
    assert response.status_code == 302
    assert response["Location"] == "/runs/"
    assert bob_client.session[SESSION_KEY] == team_b.pk
    page = bob_client.get(HOME)
    assert page.wsgi_request.team == team_b
    assert page.wsgi_request.membership.role == Role.VIEWER
    assert "You are now working in Bravo." in page.content.decode()


def test_switch_to_another_teams_slug_is_404(dave_client, team_a, team_b):
    response = dave_client.post("/teams/switch/", {"team": "acme", "next": "/"})
    assert response.status_code == 404
    assert SESSION_KEY not in dave_client.session
    assert dave_client.get(HOME).wsgi_request.team == team_b


def test_switch_to_unknown_slug_is_404(bob_client):
    assert bob_client.post("/teams/switch/", {"team": "nope"}).status_code == 404
    assert bob_client.post("/teams/switch/", {}).status_code == 404


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", ""])
def test_switch_never_redirects_off_site(bob_client, next_url):
    response = bob_client.post("/teams/switch/", {"team": "acme", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_switch_needs_post_and_login(bob_client, client, team_a):
    assert bob_client.get("/teams/switch/?team=acme").status_code == 405
    response = client.post("/teams/switch/", {"team": "acme"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_switch_needs_csrf_token(bob, team_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post("/teams/switch/", {"team": "acme"}).status_code == 403


def test_removed_member_loses_the_team_at_once(bob_in_both, bob_client, team_a, team_b):
    bob_client.post("/teams/switch/", {"team": "bravo"})
    assert bob_client.get(HOME).wsgi_request.team == team_b

    Membership.objects.filter(user=bob_in_both, team=team_b).delete()
    response = bob_client.get(HOME)
    assert response.wsgi_request.team == team_a  # falls back to what is left
    assert SESSION_KEY not in bob_client.session
    assert "Bravo" not in response.content.decode()

    Membership.objects.filter(user=bob_in_both).delete()
    response = bob_client.get(HOME)
    assert response.wsgi_request.team is None
    assert response.wsgi_request.membership is None


def test_sandbox_banner_only_for_teams_on_the_sandbox(bob_client, team_a, settings):
    html = bob_client.get(HOME).content.decode()
    assert 'class="banner banner-sandbox"' in html
    assert "built-in FLORA sandbox" in html

    team_a.connection.base_url = "https://app.flora.ai/api/v1"
    team_a.connection.save()
    assert 'class="banner banner-sandbox"' not in bob_client.get(HOME).content.decode()


def test_context_exposes_the_current_team(bob_in_both, bob_client, team_a):
    response = bob_client.get(HOME)
    assert response.context["current_team"] == team_a
    assert response.context["current_membership"].role == Role.MEMBER
    assert [m.team.slug for m in response.context["user_memberships"]] == ["acme", "bravo"]


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/runs/h95QFGtKiTGA/", "/runs/"),  # one team's run: a 404 in the other team
        ("/runs/?status=completed&member=3", "/runs/"),
        ("/techniques/tech_tarot-pull/?workspace=ws_demo", "/techniques/"),
        ("/admin/teams/team/", "/"),
    ],
)
def test_switch_lands_on_the_same_section_of_the_new_team(
    bob_in_both, bob_client, next_url, landing
):
    response = bob_client.post("/teams/switch/", {"team": "bravo", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == landing


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/runs/h95QFGtKiTGA/", "/runs/h95QFGtKiTGA/"),
        ("/runs/h95QFGtKiTGA/?x=1", "/runs/h95QFGtKiTGA/"),
        ("https://evil.example/runs/x/", "/"),
        ("//evil.example/x", "/"),
    ],
)
def test_switch_keeps_the_whole_path_when_the_form_asks(bob_in_both, bob_client, next_url, landing):
    # The run page's "Switch to <team> and open it" knows the run is of the new team.
    data = {"team": "bravo", "next": next_url, "keep_path": "1"}
    response = bob_client.post("/teams/switch/", data)
    assert response.status_code == 302
    assert response["Location"] == landing
