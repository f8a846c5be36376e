"""The technique catalog: access, cards, search, workspaces."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sandbox.auth import WS_DEMO
from teams.models import FloraConnection, Team
from tests.conftest import make_member
from tests.runs.submit_helpers import CATALOG_URL as LIST
from tests.runs.submit_helpers import HX, TECHNIQUES_PATH
from tests.runs.submit_helpers import catalog_expected as _expected
from tests.runs.submit_helpers import catalog_names as _names

pytestmark = pytest.mark.django_db


# -- access ---------------------------------------------------------------------------------


def test_home_redirects_to_the_catalog(bob_client):
    response = bob_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == LIST


def test_it_requires_login(client, upstream):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert upstream.calls() == 0


def test_it_greets_people_without_a_team(db, django_user_model, upstream):
    client = Client()
    client.force_login(django_user_model.objects.create_user("loner"))
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are not a member of any team yet" in html
    assert upstream.calls() == 0


def test_it_says_when_the_team_has_no_connection(db, upstream, django_user_model):
    team = Team.objects.create(name="Loose", slug="loose")
    member = make_member("erin", team, "member")
    client = Client()
    client.force_login(member)
    html = client.get(LIST).content.decode()
    assert "Loose is not connected to FLORA yet" in html
    assert "/admin/" not in html.split("<main")[1]  # no admin link for a non-staff member

    member.is_staff = True
    member.save()
    html = client.get(LIST).content.decode()
    assert f'href="/admin/teams/team/{team.pk}/change/"' in html
    assert upstream.calls() == 0


def test_a_team_without_workspaces_is_not_connected_yet(team_a, bob_client, upstream):
    FloraConnection.objects.filter(team=team_a).update(workspace_ids=[], default_workspace_id="")
    html = bob_client.get(LIST).content.decode()
    assert "No FLORA workspace is chosen for Acme yet" in html
    assert upstream.calls() == 0


# -- cards ----------------------------------------------------------------------------------


def test_cards_show_name_description_types_and_price(bob_client, upstream):
    response = bob_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(html) == _expected(WS_DEMO)[:12]
    card = html[html.index("Art Director&#x27;s Critique") :]
    card = card[: card.index("</article>")]
    assert "Analyze, critique, and redesign any creative asset." in card
    assert '<span class="badge in kind-imageUrl">Image</span>' in card
    assert '<span class="badge in kind-documentUrl">Document</span>' in card
    assert '<span class="badge out kind-text">Text</span>' in card
    assert '<span class="price">$0.35 per run</span>' in card
    assert 'href="/techniques/tech_art-directors-critique/?workspace=ws_demo"' in card
    assert 'aria-current="page">Techniques</a>' in html


def test_a_free_technique_says_free(bob_client, upstream):
    upstream.respond(
        {
            "techniques": [
                {
                    "technique_id": "tech_gift",
                    "name": "Gift",
                    "run_cost": 0,
                    "inputs": [],
                    "outputs": [],
                }
            ],
            "meta": {"next_cursor": None},
        },
        path=TECHNIQUES_PATH,
    )
    html = bob_client.get(LIST).content.decode()
    assert '<span class="price">Free</span>' in html
    assert "1 technique loaded" in html


# -- search ---------------------------------------------------------------------------------


def test_search_covers_the_whole_cached_catalog_without_asking_flora(bob_client, upstream):
    response = bob_client.get(LIST, {"q": "  product   shots "})
    html = response.content.decode()
    assert _names(html) == ["Product Motion"]
    # FLORA is asked for the whole list (its largest pages), not for the search: the search
    # runs here, over every page, so typing costs no FLORA call once the list is cached.
    [request] = [r for r in upstream.requests if TECHNIQUES_PATH.search(r.url.path)]
    assert "query" not in request.url.params
    assert request.url.params["limit"] == "100"
    assert request.url.params["workspace_id"] == "ws_demo"
    assert 'value="product shots"' in html
    assert "<title>“product shots” · Techniques" in html
    assert _names(bob_client.get(LIST, {"q": "PORTRAIT"}, headers=HX).content.decode()) == [
        "Mugshot"
    ]
    assert upstream.calls() == 1


def test_search_box_filters_as_you_type_with_htmx_and_updates_the_url(bob_client, upstream):
    html = bob_client.get(LIST).content.decode()
    form = html[html.index('<form class="toolbar catalog-search"') :]
    form = form[: form.index(">")]
    # A real GET form (works without JavaScript) that htmx submits as you type.
    assert 'method="get" action="/techniques/"' in form
    assert 'hx-get="/techniques/"' in form
    assert "input changed delay:350ms from:#catalog-q" in form
    assert 'hx-push-url="true"' in form
    assert 'hx-target="#catalog-results"' in form


def test_htmx_search_returns_only_the_results_fragment(bob_client, upstream):
    response = bob_client.get(LIST, {"q": "portrait"}, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="catalog-results">')
    assert "<html" not in html and "catalog-search" not in html
    assert _names(html) == ["Mugshot"]
    assert "HX-Request" in response["Vary"]


def test_a_search_without_match_says_so(bob_client, upstream):
    html = bob_client.get(LIST, {"q": "zebra"}).content.decode()
    assert "No technique matches “zebra”" in html
    assert 'href="/techniques/?workspace=ws_demo"' in html  # show every technique
    assert "Load more" not in html


def test_a_very_long_search_is_cut(bob_client, upstream):
    html = bob_client.get(LIST, {"q": "a" * 500}).content.decode()
    assert f'value="{"a" * 200}"' in html
    assert "a" * 201 not in html


# -- workspaces -----------------------------------------------------------------------------


def test_the_selector_offers_only_the_teams_workspaces(bob_client, team_a, upstream):
    connection = team_a.connection
    connection.available_workspaces = [
        {"workspace_id": "ws_demo", "name": "Demo Studio", "role": "owner"},
        {"workspace_id": "ws_brand", "name": "Brand Team", "role": "member"},
        {"workspace_id": "ws_hidden", "name": "Not for Acme", "role": "owner"},
    ]
    connection.save()
    html = bob_client.get(LIST).content.decode()
    select = html[html.index('<select id="catalog-workspace"') :]
    select = select[: select.index("</select>")]
    options = re.findall(r'<option value="([^"]+)"', select)
    assert options == ["ws_demo", "ws_brand"]
    assert '<option value="ws_demo" selected>Demo Studio</option>' in select
    assert "Brand Team" in select and "Not for Acme" not in select


def test_a_team_with_one_workspace_gets_no_selector(dave_client, upstream):
    html = dave_client.get(LIST).content.decode()
    assert 'id="catalog-workspace"' not in html
    assert '<input type="hidden" name="workspace" value="ws_other">' in html


def test_each_workspace_shows_its_own_techniques(bob_client, upstream):
    demo = _names(bob_client.get(LIST, {"workspace": "ws_demo", "q": "logo"}).content.decode())
    brand = _names(bob_client.get(LIST, {"workspace": "ws_brand", "q": "logo"}).content.decode())
    assert demo == []
    assert brand == ["Logo Stylist"]
    workspaces = [r.url.params["workspace_id"] for r in upstream.requests]
    assert workspaces == ["ws_demo", "ws_brand"]


@pytest.mark.parametrize("workspace", ["ws_other", "ws_nope", "garbage", "ws_demo'--"])
def test_a_forged_workspace_is_404_and_never_reaches_flora(bob_client, upstream, workspace):
    response = bob_client.get(LIST, {"workspace": workspace})
    assert response.status_code == 404
    response = bob_client.get(LIST, {"workspace": workspace}, headers=HX)
    assert response.status_code == 404
    assert upstream.calls() == 0
