"""The technique catalog: cards, search, workspaces, "Load more", filters, cache, failures."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from sandbox import catalog as sandbox_catalog
from sandbox.auth import WS_BRAND, WS_DEMO
from teams.models import ConnectionStatus, FloraConnection, Team
from teams.services import save_connection
from tests.conftest import make_member

pytestmark = pytest.mark.django_db

LIST = "/techniques/"
HX = {"HX-Request": "true"}
TECHNIQUES_PATH = re.compile(r"/techniques$")


def _names(html: str) -> list[str]:
    return [unescape(n) for n in re.findall(r"<h3>([^<]+)</h3>", html)]


def _next_url(html: str) -> str | None:
    match = re.search(r'<a class="button" href="([^"]+)"\s+hx-get=', html)
    return unescape(match.group(1)) if match else None


def _expected(workspace, *, takes: str = "", makes: str = "") -> list[str]:
    techniques = sandbox_catalog.visible([workspace])
    return [
        t.name
        for t in techniques
        if (not takes or takes in {io.type for io in t.inputs})
        and (not makes or makes in {io.type for io in t.outputs})
    ]


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


def test_search_asks_flora_with_its_query_parameter(bob_client, upstream):
    response = bob_client.get(LIST, {"q": "  product   shots "})
    html = response.content.decode()
    assert _names(html) == ["Product Motion"]
    [request] = [r for r in upstream.requests if TECHNIQUES_PATH.search(r.url.path)]
    assert request.url.params["query"] == "product shots"
    assert request.url.params["workspace_id"] == "ws_demo"
    assert 'value="product shots"' in html
    assert "<title>“product shots” · Techniques" in html


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
    bob_client.get(LIST, {"q": "a" * 500})
    [request] = upstream.requests
    assert len(request.url.params["query"]) == 200


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


# -- "Load more" ----------------------------------------------------------------------------


def test_load_more_walks_all_38_techniques_without_javascript(bob_client, upstream):
    names: list[str] = []
    url: str | None = f"{LIST}?workspace=ws_brand"
    pages = 0
    while url:
        response = bob_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        names += _names(html)
        url = _next_url(html)
        pages += 1
        if url:
            # A real link: the same catalog, one page further.
            assert "cursor=" in url and "workspace=ws_brand" in url
    assert pages == 4
    assert names == _expected(WS_BRAND)
    assert len(names) == len(set(names)) == 38
    assert "38 of 38 techniques loaded" in html
    assert "Techniques 37–38 of 38." in html
    assert "Back to the first page" in html
    assert upstream.calls("GET", TECHNIQUES_PATH) == 4


def test_load_more_with_htmx_appends_cards_and_replaces_the_button(bob_client, upstream):
    first = bob_client.get(LIST, {"workspace": "ws_brand"}).content.decode()
    button = first[first.index('<div id="catalog-more"') :]
    button = button[: button.index("</div>")]
    assert 'hx-target="#catalog-cards"' in button and 'hx-swap="beforeend"' in button
    url = _next_url(first)

    response = bob_client.get(url, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="catalog-results"' not in html
    assert html.lstrip().startswith('<article class="card technique-card">')
    assert _names(html) == _expected(WS_BRAND)[12:24]
    more = html[html.index('<div id="catalog-more"') :]
    assert more.startswith('<div id="catalog-more" class="catalog-more" hx-swap-oob="true">')
    assert "24 of 38 techniques loaded" in more
    assert _next_url(html) is not None


def test_a_forged_cursor_gets_a_clear_page(bob_client, upstream):
    response = bob_client.get(LIST, {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This page link is no longer valid" in html
    assert "Back to the first page" in html


# -- type filters ---------------------------------------------------------------------------


def test_filters_apply_to_the_cards_of_the_page(bob_client, upstream):
    html = bob_client.get(LIST, {"makes": "video", "workspace": "ws_brand"}).content.decode()
    assert _names(html) == [
        n for n in _expected(WS_BRAND, makes="videoUrl") if n in _expected(WS_BRAND)[:12]
    ]
    assert _names(html) == ["Earth Zoom Out"]
    assert "the filters apply to the techniques loaded so far" in html
    # Load more keeps the filters.
    url = _next_url(html)
    assert "makes=video" in url
    names = _names(bob_client.get(url).content.decode())
    assert names == [
        n for n in _expected(WS_BRAND, makes="videoUrl") if n in _expected(WS_BRAND)[12:24]
    ]


def test_filters_combine_and_say_when_a_page_has_no_match(bob_client, upstream):
    html = bob_client.get(LIST, {"takes": "video", "makes": "audio"}).content.decode()
    assert _names(html) == []
    assert "None of techniques 1–12 matches the filters. Load more to look further." in html
    every = []
    url = f"{LIST}?takes=video&makes=audio"
    while url:
        page = bob_client.get(url).content.decode()
        every += _names(page)
        url = _next_url(page)
    assert every == _expected(WS_DEMO, takes="videoUrl", makes="audioUrl")
    assert every == ["Video Scene Builder"]


def test_filter_changes_are_served_from_the_cache(bob_client, upstream):
    bob_client.get(LIST)
    bob_client.get(LIST, {"takes": "image"}, headers=HX)
    bob_client.get(LIST, {"makes": "text"}, headers=HX)
    assert upstream.calls() == 1


def test_unknown_filter_values_are_ignored(bob_client, upstream):
    html = bob_client.get(LIST, {"takes": "<script>"}).content.decode()
    assert len(_names(html)) == 12
    assert "<script>" not in html.split("<main")[1].split("</main>")[0]


# -- cache ----------------------------------------------------------------------------------


def test_a_warm_catalog_page_makes_no_flora_call(bob_client, alice_client, upstream):
    for client in (bob_client, bob_client, alice_client):
        assert client.get(LIST).status_code == 200
    assert upstream.calls() == 1
    bob_client.get(LIST, {"q": "product"})
    bob_client.get(LIST, {"q": "product"}, headers=HX)
    assert upstream.calls() == 2
    bob_client.get(LIST, {"workspace": "ws_brand"})
    assert upstream.calls() == 3
    bob_client.get(_next_url(bob_client.get(LIST).content.decode()))
    assert upstream.calls() == 4


def test_opening_a_technique_from_the_catalog_uses_the_catalog_answer(bob_client, upstream):
    bob_client.get(LIST)
    response = bob_client.get("/techniques/tech_book-drop/?workspace=ws_demo")
    assert response.status_code == 200
    assert upstream.calls() == 1


def test_teams_never_share_a_cached_catalog(bob_client, dave_client, upstream):
    bob_client.get(LIST)
    html = dave_client.get(LIST).content.decode()
    assert upstream.calls() == 2
    assert [r.headers["authorization"] for r in upstream.requests] == [
        "Bearer sk_sandbox_demo",
        "Bearer sk_sandbox_other",
    ]
    assert 'href="/techniques/tech_art-directors-critique/?workspace=ws_other"' in html


def test_a_new_key_starts_with_a_cold_cache(bob_client, team_a, upstream):
    bob_client.get(LIST)
    save_connection(team_a.connection, actor="test", api_key="sk_sandbox_broke")
    bob_client.get(LIST)
    assert upstream.calls(path="/sandbox/api/v1/techniques") == 2
    # A new key is unchecked: its workspace names are fetched once (GET /workspaces).
    assert upstream.calls(path="/sandbox/api/v1/workspaces") == 1
    assert upstream.requests[-1].headers["authorization"] == "Bearer sk_sandbox_broke"


def test_the_ttl_setting_controls_the_fresh_copy(bob_client, upstream, settings):
    settings.FLORA_CATALOG_TTL = 0
    bob_client.get(LIST)
    bob_client.get(LIST)
    assert upstream.calls() == 2


# -- failures -------------------------------------------------------------------------------


def test_when_flora_fails_the_last_good_copy_is_shown_with_a_notice(bob_client, upstream, settings):
    settings.FLORA_CATALOG_TTL = 0  # only the long-lived "last good" copy is kept
    first = bob_client.get(LIST).content.decode()
    upstream.fail(503, "service_unavailable", "Down for maintenance.")

    response = bob_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(html) == _names(first)
    assert re.search(r"FLORA is not answering; showing the catalog as of \d\d:\d\d\.", html)
    assert "req_fault_service_unavailable" in html
    # htmx swaps get the same copy and notice.
    fragment = bob_client.get(LIST, headers=HX).content.decode()
    assert "FLORA is not answering; showing the catalog as of" in fragment
    assert upstream.calls() == 3


def test_without_a_copy_flora_failing_is_a_friendly_page_with_its_request_id(bob_client, upstream):
    upstream.fail(500, "unknown_error", "An unknown error occurred.")
    response = bob_client.get(LIST)
    assert response.status_code == 503
    html = response.content.decode()
    assert "<h1>FLORA is not answering</h1>" in html
    assert "FLORA request id: <code>req_fault_unknown_error</code>" in html
    assert 'href="/techniques/"' in html  # try again


def test_a_dropped_connection_without_a_copy(bob_client, upstream):
    upstream.drop()
    response = bob_client.get(LIST, {"q": "mug"})
    assert response.status_code == 503
    html = response.content.decode()
    assert "FLORA is not answering" in html
    assert 'href="/techniques/?q=mug">Try again</a>' in html


def test_htmx_gets_the_failure_inside_the_results(bob_client, upstream):
    upstream.fail(502, "bad_gateway")
    response = bob_client.get(LIST, {"q": "x"}, headers=HX)
    assert response.status_code == 200  # htmx only swaps 2xx answers
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="catalog-results">')
    assert 'class="alert alert-error"' in html and "FLORA is not answering (HTTP 502)." in html


def test_a_rate_limit_says_when_to_try_again(bob_client, upstream):
    upstream.fail(429, "rate_limited", headers={"Retry-After": "7"})
    response = bob_client.get(LIST)
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert "FLORA is busy; try again in 7 s." in response.content.decode()


def test_a_rejected_key_is_named_and_marks_the_connection_failing(team_a, alice, upstream):
    save_connection(team_a.connection, actor="test", api_key="sk_live_revoked_0000000000")
    alice.is_staff = True
    alice.save()
    client = Client()
    client.force_login(alice)

    response = client.get(LIST)
    assert response.status_code == 502
    html = response.content.decode()
    assert "The team&#x27;s FLORA key was rejected; an admin must update it." in html
    assert f'href="/admin/teams/team/{team_a.pk}/change/"' in html
    assert "sk_live_revoked" not in html
    connection = FloraConnection.objects.get(team=team_a)
    assert connection.status == ConnectionStatus.FAILING
    assert "401" in connection.last_error and connection.last_request_id.startswith("req_")


def test_flora_refusing_the_workspace(bob_client, upstream):
    upstream.fail(403, "forbidden", "Forbidden.")
    response = bob_client.get(LIST)
    assert response.status_code == 502
    assert "FLORA refused access to this workspace" in response.content.decode()


def test_a_failed_load_more_keeps_the_cards_and_offers_to_try_again(bob_client, upstream):
    url = _next_url(bob_client.get(LIST).content.decode())
    upstream.fail(503, "service_unavailable")
    response = bob_client.get(url, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(html) == []  # nothing appended
    more = html[html.index('<div id="catalog-more"') :]
    assert more.startswith('<div id="catalog-more" class="catalog-more" hx-swap-oob="true">')
    assert "FLORA is not answering (HTTP 503)." in more
    assert "12 techniques loaded so far." in more
    assert f'hx-get="{url.replace("&", "&amp;")}"' in more and ">Try again</a>" in more


def test_htmx_history_restore_gets_the_whole_page(bob_client, upstream):
    response = bob_client.get(
        LIST, {"q": "mug"}, headers={**HX, "HX-History-Restore-Request": "true"}
    )
    html = response.content.decode()
    assert html.startswith("<!doctype html>")
    assert _names(html) == ["Mugshot"]


def test_a_never_checked_connection_learns_its_workspace_names_once(db, upstream, client):
    from django.contrib.auth import get_user_model

    from teams.models import Membership
    from tests.conftest import make_team

    team = make_team(
        "Cli", "cli", api_key="sk_sandbox_demo", workspaces=["ws_demo", "ws_brand"], checked=False
    )
    user = get_user_model().objects.create_user("cli-user")
    Membership.objects.create(user=user, team=team, role="member")
    client.force_login(user)
    first = client.get(LIST).content.decode()
    client.get(LIST)
    assert ">Demo Studio</option>" in first and ">Brand Team</option>" in first
    assert upstream.calls(path="/sandbox/api/v1/workspaces") == 1


def test_a_hanging_flora_costs_one_short_workspace_lookup_not_a_request_timeout(
    db, upstream, client, monkeypatch
):
    # The workspace names are cosmetic. With the worker client's retries and 30 s timeout,
    # a FLORA that never answers held the page for 3 x 30 s on top of the catalog call:
    # past gunicorn's 60 s timeout, so the person got no page at all, and the failure was
    # never recorded, so every page view did it again.
    from django.contrib.auth import get_user_model

    from teams.models import Membership
    from tests.conftest import make_team

    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    team = make_team("Cli", "cli", api_key="sk_sandbox_demo", workspaces=["ws_demo"], checked=False)
    user = get_user_model().objects.create_user("cli-user")
    Membership.objects.create(user=user, team=team, role="member")
    client.force_login(user)
    upstream.lose_answer(method="GET", path=".*", times=None)

    response = client.get(LIST)

    assert response.status_code == 503 and "FLORA is not answering" in response.content.decode()
    lookups = [r for r in upstream.requests if r.url.path.endswith("/workspaces")]
    assert len(lookups) == 1 and sleeps == []
    assert lookups[0].extensions["timeout"]["read"] <= 5


# -- odd technique ids ----------------------------------------------------------------------

# Ids a URL cannot carry (empty, with "/"), or that the technique page refuses anyway.
ODD_IDS = ["", "tech_a/b", "tech x", "tech_x\n", "tech_" + "x" * 300]


def _odd_catalog() -> dict:
    def technique(technique_id: str, name: str) -> dict:
        return {
            "technique_id": technique_id,
            "name": name,
            "run_cost": 0.1,
            "inputs": [],
            "outputs": [],
        }

    return {
        "techniques": [
            technique("tech_fine", "Fine"),
            *(technique(tid, f"Odd {n}") for n, tid in enumerate(ODD_IDS)),
        ],
        "meta": {"next_cursor": None},
    }


def _cards(html: str) -> list[str]:
    return re.findall(r"<article class=\"card technique-card\">.*?</article>", html, re.S)


def test_techniques_with_unusable_ids_are_shown_without_a_link(bob_client, upstream):
    upstream.respond(_odd_catalog(), path=TECHNIQUES_PATH, times=1)
    response = bob_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(html) == ["Fine"] + [f"Odd {n}" for n in range(len(ODD_IDS))]
    fine, *odd = _cards(html)
    assert 'href="/techniques/tech_fine/?workspace=ws_demo"' in fine
    assert len(odd) == len(ODD_IDS)
    for card in odd:
        assert "href=" not in card
        assert "Its id from FLORA is not usable, so it cannot be opened here." in card
    # The htmx fragment (served from the cache) too.
    fragment = bob_client.get(LIST, headers=HX)
    assert fragment.status_code == 200
    assert len(_cards(fragment.content.decode())) == len(ODD_IDS) + 1


def test_an_odd_answer_is_never_a_cached_500(bob_client, upstream):
    upstream.respond(_odd_catalog(), path=TECHNIQUES_PATH, times=1)
    assert bob_client.get(LIST).status_code == 200
    # The cached answer renders as well as the fresh one did.
    assert bob_client.get(LIST).status_code == 200
    assert upstream.calls(path=TECHNIQUES_PATH) == 1


def test_a_flora_error_is_never_cached(bob_client, upstream):
    upstream.fail(503, "service_unavailable", path=TECHNIQUES_PATH, times=1)
    assert bob_client.get(LIST).status_code == 503
    response = bob_client.get(LIST)
    assert response.status_code == 200
    assert _names(response.content.decode()) == _expected(WS_DEMO)[:12]
    assert upstream.calls(path=TECHNIQUES_PATH) == 2
