"""The technique catalog when FLORA fails, or answers with ids a URL cannot carry."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sandbox.auth import WS_DEMO
from teams.models import ConnectionStatus, FloraConnection
from teams.services import save_connection
from tests.runs.submit_helpers import CATALOG_URL as LIST
from tests.runs.submit_helpers import HX, TECHNIQUES_PATH
from tests.runs.submit_helpers import catalog_expected as _expected
from tests.runs.submit_helpers import catalog_names as _names
from tests.runs.submit_helpers import catalog_next_url as _next_url

pytestmark = pytest.mark.django_db


# -- failures -------------------------------------------------------------------------------


def test_when_flora_fails_the_last_good_copy_is_shown_with_a_notice(bob_client, upstream, settings):
    settings.FLORA_CATALOG_TTL = 0  # only the long-lived "last good" copy is kept
    first = bob_client.get(LIST).content.decode()
    upstream.fail(503, "service_unavailable", "Down for maintenance.")

    response = bob_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(html) == _names(first)
    assert re.search(
        r'FLORA is not answering; showing the catalog as of <time datetime="[^"]+Z" '
        r'title="[^"]+ UTC">today \d\d:\d\d</time>\.',
        html,
    )
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
    from django.core.cache import cache

    url = _next_url(bob_client.get(LIST).content.decode())
    # "Load more" reads the cached list; with every copy gone (a cache restart) it asks FLORA.
    cache.clear()
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
