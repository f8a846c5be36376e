"""The technique catalog's "Load more" pages, type filters and cache."""

from __future__ import annotations

import pytest

from sandbox.auth import WS_BRAND, WS_DEMO
from teams.services import save_connection
from tests.runs.submit_helpers import CATALOG_URL as LIST
from tests.runs.submit_helpers import HX, TECHNIQUES_PATH
from tests.runs.submit_helpers import catalog_expected as _expected
from tests.runs.submit_helpers import catalog_names as _names
from tests.runs.submit_helpers import catalog_next_url as _next_url

pytestmark = pytest.mark.django_db


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
