"""The technique catalog's "Load more" pages, type filters and cache, on the sandbox's catalog.

The catalog is walked whole from FLORA once (tests/techniques/test_techniques_list_whole.py
holds the walks over several FLORA pages); these tests read it as a person does."""

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
            assert f"start={12 * pages}" in url and "workspace=ws_brand" in url
    assert pages == 4
    assert names == _expected(WS_BRAND)
    assert len(names) == len(set(names)) == 38
    assert "38 of 38 techniques loaded" in html
    assert "Techniques 37–38 of 38." in html
    assert "Back to the first page" in html
    # FLORA was asked once: its page of 100 holds the whole workspace, walked and cached.
    assert upstream.calls("GET", TECHNIQUES_PATH) == 1


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


def test_an_old_cursor_link_shows_the_first_page(bob_client, upstream):
    # Links from before the catalog was walked whole carried FLORA's cursor.
    response = bob_client.get(LIST, {"cursor": "not-a-cursor", "loaded": "12"})
    assert response.status_code == 200
    assert _names(response.content.decode()) == _expected(WS_DEMO)[:12]
    assert all("cursor" not in r.url.params for r in upstream.requests)


@pytest.mark.parametrize("start", ["-5", "abc", "12.5", "1e3", "²", "１２", "9" * 40, " "])
def test_a_start_that_is_no_small_whole_number_shows_the_first_page(bob_client, upstream, start):
    for headers in ({}, HX):
        response = bob_client.get(LIST, {"start": start}, headers=headers)
        assert response.status_code == 200
        assert _names(response.content.decode()) == _expected(WS_DEMO)[:12]


def test_a_start_past_the_end_shows_the_first_page_and_appends_nothing(bob_client, upstream):
    page = bob_client.get(LIST, {"start": "999999"}).content.decode()
    assert _names(page) == _expected(WS_DEMO)[:12]
    assert "Back to the first page" not in page
    # A "Load more" of a catalog that shrank meanwhile: nothing to append, no button.
    fragment = bob_client.get(LIST, {"start": "500"}, headers=HX).content.decode()
    assert _names(fragment) == [] and _next_url(fragment) is None
    assert "35 of 35 techniques loaded." in fragment


# -- type filters ---------------------------------------------------------------------------


def test_filters_apply_to_the_whole_catalog(bob_client, upstream):
    html = bob_client.get(LIST, {"makes": "video", "workspace": "ws_brand"}).content.decode()
    expected = _expected(WS_BRAND, makes="videoUrl")
    assert len(expected) > 1 and expected != [n for n in expected if n in _expected(WS_BRAND)[:12]]
    assert _names(html) == expected
    assert f"{len(expected)} of {len(expected)} matching techniques loaded, out of 38 in" in html
    assert "loaded so far" not in html and _next_url(html) is None


def test_filters_combine_and_say_plainly_when_nothing_matches(bob_client, upstream):
    html = bob_client.get(LIST, {"takes": "video", "makes": "audio"}).content.decode()
    assert _names(html) == _expected(WS_DEMO, takes="videoUrl", makes="audioUrl")
    assert _names(html) == ["Video Scene Builder"]
    assert "1 of 1 matching technique loaded, out of 35 in this workspace." in html

    assert _expected(WS_DEMO, takes="videoUrl", makes="text") == []
    html = bob_client.get(LIST, {"takes": "video", "makes": "text"}).content.decode()
    assert _names(html) == []
    assert "<h2>No technique takes a video and makes text</h2>" in html
    assert "None of the 35 techniques in this workspace does" in html
    assert 'href="/techniques/?workspace=ws_demo">Show every technique</a>' in html
    assert "Load more" not in html


def test_load_more_continues_the_filtered_list(bob_client, upstream):
    expected = _expected(WS_DEMO, makes="imageUrl")
    assert len(expected) > 24
    first = bob_client.get(LIST, {"makes": "image"}).content.decode()
    url = _next_url(first)
    assert "makes=image" in url and "start=12" in url
    second = bob_client.get(url, headers=HX).content.decode()
    assert _names(first) + _names(second) == expected[:24]
    assert f"24 of {len(expected)} matching techniques loaded" in second
    assert upstream.calls() == 1


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
    # Search, sort and "Load more" read the cached list too.
    bob_client.get(LIST, {"q": "product"})
    bob_client.get(LIST, {"q": "product", "sort": "price-high"}, headers=HX)
    bob_client.get(_next_url(bob_client.get(LIST).content.decode()))
    assert upstream.calls() == 1
    # Another workspace is another list.
    bob_client.get(LIST, {"workspace": "ws_brand"})
    assert upstream.calls() == 2


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
