"""The catalog walks FLORA's whole list (several cursor pages) before it searches, filters,
sorts or pages it; the walk is bounded (pages, one deadline) and says when it was cut off."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from tests.conftest import make_member, make_team
from tests.hostile import HostileFlora, answer, drip
from tests.runs.submit_helpers import CATALOG_URL as LIST
from tests.runs.submit_helpers import HX
from tests.runs.submit_helpers import catalog_names as _names
from tests.runs.submit_helpers import catalog_next_url as _next_url
from tests.techniques.conftest import technique

pytestmark = pytest.mark.django_db

KEY_A = "sk_sandbox_demo"
# Techniques 230-234 make a video: all on FLORA's third page of 100.
VIDEO_MAKERS = range(230, 235)


def _catalog(count: int = 250) -> list[dict]:
    return [
        technique(
            n,
            makes="videoUrl" if n in VIDEO_MAKERS else "imageUrl",
            description="A zephyr of wind." if n == 241 else f"Number {n}.",
        )
        for n in range(count)
    ]


def _walk(client: Client, url: str, headers: dict | None = None) -> tuple[list[str], str, int]:
    """Every card from `url` on, following "Load more" links: names, the last page, pages."""
    names: list[str] = []
    pages = 0
    html = ""
    while url:
        html = client.get(url, headers=headers or {}).content.decode()
        names += _names(html)
        url = _next_url(html) or ""
        pages += 1
    return names, html, pages


# -- the walk -------------------------------------------------------------------------------


def test_a_filter_finds_the_matches_on_floras_third_page(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = _catalog()
    html = bob_client.get(LIST, {"makes": "video"}).content.decode()
    assert _names(html) == [f"Technique {n:04d}" for n in VIDEO_MAKERS]
    assert "5 of 5 matching techniques loaded, out of 250 in this workspace." in html
    assert "cut off" not in html
    cursors = [r.url.params.get("cursor") for r in big_flora.lists()]
    assert cursors == [None, "100", "200"]
    assert {r.url.params["limit"] for r in big_flora.lists()} == {"100"}


def test_search_covers_the_whole_catalog(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = _catalog()
    html = bob_client.get(LIST, {"q": "ZEPHYR"}).content.decode()
    assert _names(html) == ["Technique 0241"]
    assert "1 of 1 matching technique loaded, out of 250" in html


def test_load_more_pages_the_filtered_list_without_repeats_or_gaps(bob_client, big_flora):
    catalog = _catalog()
    for n in range(0, 250, 7):  # every seventh makes text, on every FLORA page
        catalog[n]["outputs"][0]["type"] = "text"
    big_flora.catalogs[KEY_A] = catalog
    expected = [f"Technique {n:04d}" for n in range(0, 250, 7)]
    assert len(expected) == 36

    names, last, pages = _walk(bob_client, f"{LIST}?makes=text")
    assert names == expected and pages == 3
    assert "Matching techniques 25–36 of 36." in last
    # With htmx: the first page, then fragments appended under it.
    first = bob_client.get(LIST, {"makes": "text"}).content.decode()
    rest, last, _ = _walk(bob_client, _next_url(first), HX)
    assert _names(first) + rest == expected
    assert "36 of 36 matching techniques loaded" in last
    assert len(big_flora.lists()) == 3  # one walk, cached, for all of it


def test_a_second_visit_is_served_from_the_cache(bob_client, alice_client, big_flora):
    big_flora.catalogs[KEY_A] = _catalog()
    bob_client.get(LIST)
    alice_client.get(LIST, {"q": "zephyr", "sort": "price-high"})
    bob_client.get(f"{LIST}?start=24", headers=HX)
    assert len(big_flora.lists()) == 3


def test_the_walk_stops_at_the_page_cap_and_says_so(bob_client, big_flora, monkeypatch):
    monkeypatch.setattr("techniques.services.WALK_PAGES", 2)
    big_flora.catalogs[KEY_A] = _catalog()
    html = bob_client.get(LIST, {"makes": "video"}).content.decode()
    assert len(big_flora.lists()) == 2
    assert _names(html) == []  # the video makers are past the cap
    assert "The catalog was cut off." in html
    assert "FLORA's catalog has more than 200 techniques; only the first 200 are" in html
    assert "out of 200 in the part of the catalog FLORA sent" in html


def test_a_later_page_that_fails_cuts_the_catalog_off_with_the_reason(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = _catalog()
    big_flora.fail_at = 2
    html = bob_client.get(LIST).content.decode()
    assert "The catalog was cut off." in html
    assert "FLORA failed while sending the catalog (FLORA is not answering (HTTP 503).)" in html
    assert "12 of 100 techniques loaded (the catalog was cut off)." in html
    # Kept briefly, so the next keystroke does not walk again.
    bob_client.get(LIST, {"q": "technique"}, headers=HX)
    assert len(big_flora.lists()) == 2


def test_a_looping_cursor_ends_the_walk(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = _catalog(150)
    original = big_flora.handler

    def looping(request):
        response = original(request)
        body = json.loads(response.content)
        body["meta"]["next_cursor"] = "100"  # page 2 points at itself
        return type(response)(200, json=body)

    big_flora.handler = looping
    html = bob_client.get(LIST).content.decode()
    assert len(big_flora.lists()) == 2
    assert "12 of 150 techniques loaded." in html


# -- sort -----------------------------------------------------------------------------------


def _fruit() -> list[dict]:
    return [
        technique(1, name="banana", run_cost=0.5),
        technique(2, name="Apple", run_cost=0.2),
        technique(3, name="cherry", run_cost=None),
        technique(4, name="apple", run_cost=0.9),
        technique(5, name="Date", run_cost=0.2),
    ]


def test_the_catalog_is_sorted_by_name_ignoring_case_ties_by_id(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = _fruit()
    html = bob_client.get(LIST).content.decode()
    assert _names(html) == ["Apple", "apple", "banana", "cherry", "Date"]
    assert '<option value="name" selected>Name, A to Z</option>' in html
    assert '<label for="catalog-sort">Sort by</label>' in html


def test_a_price_sort_puts_unknown_prices_last(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = _fruit()
    low = _names(bob_client.get(LIST, {"sort": "price-low"}).content.decode())
    high = _names(bob_client.get(LIST, {"sort": "price-high"}, headers=HX).content.decode())
    assert low == ["Apple", "Date", "banana", "apple", "cherry"]
    assert high == ["apple", "banana", "Apple", "Date", "cherry"]


def test_load_more_keeps_the_sort(bob_client, big_flora):
    big_flora.catalogs[KEY_A] = [technique(n, run_cost=n / 100) for n in range(30)]
    names, _, pages = _walk(bob_client, f"{LIST}?sort=price-high")
    assert pages == 3
    assert names == [f"Technique {n:04d}" for n in reversed(range(30))]


@pytest.mark.parametrize("sort", ["", "price", "<b>", "name "])
def test_an_unknown_sort_falls_back_to_the_name(bob_client, big_flora, sort):
    big_flora.catalogs[KEY_A] = _fruit()
    response = bob_client.get(LIST, {"sort": sort})
    assert response.status_code == 200
    assert _names(response.content.decode()) == ["Apple", "apple", "banana", "cherry", "Date"]
    assert "<b>" not in response.content.decode().split("<main")[1]


# -- tenants --------------------------------------------------------------------------------


def test_team_b_never_sees_team_as_cached_catalog(bob_client, dave_client, big_flora):
    big_flora.catalogs[KEY_A] = _catalog()
    big_flora.catalogs["sk_sandbox_other"] = [technique(9000, name="Bravo's own")]
    assert "Technique 0241" in _walk(bob_client, f"{LIST}?q=zephyr")[0]

    assert _names(dave_client.get(LIST, {"q": "zephyr"}).content.decode()) == []
    html = dave_client.get(LIST).content.decode()
    assert _names(html) == ["Bravo's own"]
    assert "1 of 1 technique loaded." in html
    keys = [r.headers["authorization"] for r in big_flora.lists()]
    assert keys == [f"Bearer {KEY_A}"] * 3 + ["Bearer sk_sandbox_other"]


# -- a slow FLORA: one deadline for the whole walk ------------------------------------------


def test_the_walk_stops_at_the_deadline_and_says_the_catalog_was_cut_off(db, settings, monkeypatch):
    from httpx import Client as HttpClient

    from teams import services

    settings.FLORA_PAGE_DEADLINE = 1.0
    first = {"techniques": _catalog(100), "meta": {"next_cursor": "100"}}
    slow = drip(b'{"techniques": [], "meta": {}}', every=0.2)

    def pages(handler):
        (slow if "cursor=" in handler.path else answer(first))(handler)

    with HostileFlora() as server:
        server.route("/api/v1/techniques", pages)
        team = make_team(
            "Slow", "slow", api_key=KEY_A, workspaces=["ws_s"], base_url=f"{server.url}/api/v1"
        )
        member = Client()
        member.force_login(make_member("sam", team, "member"))
        # Real sockets (the deadline is enforced on them), as in production.
        http = HttpClient(timeout=30.0, transport=services.new_http_client()._transport)
        monkeypatch.setattr("teams.services.get_http_client", lambda: http)
        started = time.monotonic()
        html = member.get(LIST).content.decode()
        took = time.monotonic() - started
        again = member.get(LIST, {"q": "0099"}).content.decode()
        http.close()
        hits = [h for h in server.hits if h[1] == "/api/v1/techniques"]

    assert took < 2.0
    assert "The catalog was cut off." in html
    assert "FLORA did not send the whole catalog within 1 s" in html
    assert "only the first 100 techniques are listed" in html
    assert _names(html) == [f"Technique {n:04d}" for n in range(12)]
    # The part is kept for a short while: the search after it made no second walk.
    assert _names(again) == ["Technique 0099"] and len(hits) == 2
