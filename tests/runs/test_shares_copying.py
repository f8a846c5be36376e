"""Share links copied again later (issue 14 item 13): who gets the link back, and where not.

The token is kept encrypted (runs.shares); members and managers of the run's team see the
whole link in the run page's list while it is active, viewers and other teams never do.
"""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command

from runs import shares
from runs.models import ShareLink
from teams import crypto
from tests.runs.results_helpers import share_link as _share

pytestmark = pytest.mark.django_db


def _url(token: str) -> str:
    return f"http://testserver/s/{token}"


def _row(html: str, link: ShareLink) -> str:
    start = html.index(f"/s/{link.token_hint}…")
    return html[start : html.index("</li>", start)]


def test_a_teammate_copies_a_link_made_by_someone_else_later(erin_client, run, bob):
    link, token = _share(run, bob)
    response = erin_client.get(f"/runs/{run.code}/")
    html = response.content.decode()
    row = _row(html, link)
    assert f'id="share-url-{link.code}"' in row and f'value="{_url(token)}"' in row
    assert f'data-copy-target="share-url-{link.code}"' in row and "Copy link" in row
    # erin may copy it, not revoke bob's link.
    assert "Revoke" not in row
    assert response["Cache-Control"] == "no-store"


def test_the_manager_copies_it_too_and_the_link_opens_the_share(alice_client, client, run, bob):
    link, token = _share(run, bob)
    html = alice_client.get(f"/runs/{run.code}/").content.decode()
    assert f'value="{_url(token)}"' in _row(html, link)
    assert client.get(f"/s/{token}").status_code == 200


def test_the_side_column_fragment_and_revoke_answer_show_it_no_store(bob_client, run, bob):
    link, token = _share(run, bob)
    other, _ = _share(run, bob)
    aside = bob_client.get(f"/runs/{run.code}/aside", headers={"HX-Request": "true"})
    assert _url(token) in aside.content.decode()
    assert aside["Cache-Control"] == "no-store"
    revoked = bob_client.post(
        f"/runs/{run.code}/shares/{other.code}/revoke", headers={"HX-Request": "true"}
    )
    assert _url(token) in revoked.content.decode()
    assert revoked["Cache-Control"] == "no-store"


def test_a_viewer_sees_the_links_facts_but_not_the_link(carol_client, run, bob):
    link, token = _share(run, bob)
    response = carol_client.get(f"/runs/{run.code}/")
    html = response.content.decode()
    assert token not in html
    row = _row(html, link)
    assert "Members of the team can copy this link" in row
    assert "Copy link" not in row
    # Nothing secret on the page: the usual caching rules apply.
    assert response.get("Cache-Control") != "no-store"
    aside = carol_client.get(f"/runs/{run.code}/aside", headers={"HX-Request": "true"})
    assert token not in aside.content.decode()


def test_a_revoked_link_cannot_be_copied_even_from_the_database(bob_client, run, bob):
    link, token = _share(run, bob)
    assert shares.revoke(link, bob)
    link.refresh_from_db()
    assert link.token_encrypted == ""  # nothing left to decrypt, with any key
    assert shares.copyable_token(link) == ""
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert token not in html
    assert "Copy link" not in _row(html, link)


def test_an_expired_link_cannot_be_copied(bob_client, run, bob):
    link, token = _share(run, bob, expires="1d")
    ShareLink.objects.filter(pk=link.pk).update(expires_at=link.created_at)
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert token not in html
    assert "Copy link" not in _row(html, link)


def test_a_link_made_before_tokens_were_kept_says_how_to_get_one(bob_client, run, bob):
    link, token = _share(run, bob)
    ShareLink.objects.filter(pk=link.pk).update(token_encrypted="")
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    row = _row(html, link)
    assert token not in html
    assert "was shown once, when it was made" in row and "make a new link" in row
    assert "Create share link" in html  # the new link is one click away


def test_a_token_no_key_opens_is_not_shown_and_not_logged(bob_client, run, bob, settings, caplog):
    link, token = _share(run, bob)
    settings.FLORASITE_ENCRYPTION_KEYS = [
        "3q5xK0aYq7y0u8Pz7f3m0Gm9vHc3nq7JbqkqgYxQ2aA="  # another key, not the one it used
    ]
    with caplog.at_level(logging.DEBUG):
        html = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert token not in html
    assert "was shown once, when it was made" in _row(html, link)
    assert link.code in caplog.text and token not in caplog.text
    assert link.token_encrypted not in caplog.text


def test_no_token_in_the_logs_of_creating_copying_and_viewing(bob_client, erin_client, run, caplog):
    with caplog.at_level(logging.DEBUG):
        response = bob_client.post(f"/runs/{run.code}/shares", {"expires": "7d"})
        link = ShareLink.objects.get(run=run)
        erin_client.get(f"/runs/{run.code}/")
        bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke")
    token = response.content.decode().split('value="http://testserver/s/', 1)[1].split('"', 1)[0]
    assert len(token) == 32
    assert token not in caplog.text
    assert link.token_hash not in caplog.text


def test_another_teams_member_gets_no_token(dave_client, run, bob):
    _, token = _share(run, bob)
    for path in (f"/runs/{run.code}/", f"/runs/{run.code}/aside", "/runs/", "/"):
        response = dave_client.get(path, headers={"HX-Request": "true"})
        assert token not in response.content.decode(), path
    assert dave_client.get(f"/runs/{run.code}/").status_code == 404


def test_key_rotation_reencrypts_share_tokens(run, bob, settings):
    link, token = _share(run, bob)
    old_key = settings.FLORASITE_ENCRYPTION_KEYS[0]
    new_key = "3q5xK0aYq7y0u8Pz7f3m0Gm9vHc3nq7JbqkqgYxQ2aA="
    settings.FLORASITE_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")
    settings.FLORASITE_ENCRYPTION_KEYS = [new_key]  # the old key retired
    link.refresh_from_db()
    assert crypto.is_current(link.token_encrypted)
    assert shares.copyable_token(link) == token
    assert shares.find_active_share(token) == link  # the lookup never needed a key
