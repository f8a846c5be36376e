"""Board share links on the board page: create, copy again, revoke, expire, by role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from boards.models import BoardShareLink
from runs import shares
from tests.boards.share_helpers import share_board

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LINK = re.compile(r"http://testserver/b/([A-Za-z0-9_-]{32})")


def test_a_member_creates_a_link_and_sees_it_once_copyable(bob_client, board, bob):
    response = bob_client.post(
        f"/boards/{board.code}/shares", {"expires": "7d", "approved_only": "on"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "Share link created." in html
    assert "Only approved items are shown, without notes" in html
    assert "Approved items only" in html  # the badge in the list of links
    token = LINK.search(html).group(1)
    link = BoardShareLink.objects.get()
    assert link.token_hash == shares.hash_token(token)
    assert token not in link.token_encrypted and link.created_by == bob
    assert link.approved_only and not link.show_notes
    assert link.expires_at - timezone.now() > timedelta(days=6)


def test_without_javascript_the_link_has_a_page_of_its_own(bob_client, board):
    response = bob_client.post(f"/boards/{board.code}/shares", {"expires": "never"})
    html = response.content.decode()
    assert response.status_code == 200 and "Back to the board" in html
    assert LINK.search(html)


def test_members_copy_an_active_link_again_later(alice_client, board, bob):
    _, token = share_board(board, bob)
    response = alice_client.get(f"/boards/{board.code}/")
    assert f"http://testserver/b/{token}" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_a_viewer_can_neither_copy_nor_create(carol_client, board, bob):
    _, token = share_board(board, bob)
    html = carol_client.get(f"/boards/{board.code}/").content.decode()
    assert token not in html
    assert "Members of the team can copy this link" in html
    assert carol_client.post(f"/boards/{board.code}/shares", {"expires": "1d"}).status_code == 403


def test_a_bad_expiry_is_refused_in_words(bob_client, board):
    response = bob_client.post(f"/boards/{board.code}/shares", {"expires": "1y"}, headers=HTMX)
    assert "Choose when the link expires." in response.content.decode()
    assert not BoardShareLink.objects.exists()


def test_revoking_kills_the_link_and_its_copy(bob_client, client, board, bob):
    link, token = share_board(board, bob)
    assert client.get(f"/b/{token}").status_code == 200
    response = bob_client.post(f"/boards/{board.code}/shares/{link.code}/revoke", headers=HTMX)
    assert "Link revoked" in response.content.decode()
    link.refresh_from_db()
    assert link.revoked_at and link.revoked_by == bob and link.token_encrypted == ""
    assert client.get(f"/b/{token}").status_code == 404
    again = bob_client.post(f"/boards/{board.code}/shares/{link.code}/revoke", follow=True)
    assert "That link was already revoked." in again.content.decode()


def test_only_the_creator_or_a_manager_revokes(board, bob, carol_client, alice_client, team_a):
    from tests.conftest import _logged_in, make_member

    link, _ = share_board(board, bob)
    eve_client = _logged_in(make_member("eve", team_a, "member"))
    url = f"/boards/{board.code}/shares/{link.code}/revoke"
    assert eve_client.post(url).status_code == 403
    assert carol_client.post(url).status_code == 403
    assert alice_client.post(url).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_an_expired_link_is_dead_and_listed_as_expired(client, bob_client, board, bob):
    link, token = share_board(board, bob, expires="1d")
    BoardShareLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(f"/b/{token}").status_code == 404
    html = bob_client.get(f"/boards/{board.code}/").content.decode()
    assert "Expired" in html and token not in html


def test_the_link_of_another_teams_board_cannot_be_revoked(dave_client, board, bob):
    link, token = share_board(board, bob)
    assert dave_client.post(f"/boards/{board.code}/shares/{link.code}/revoke").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_key_rotation_reencrypts_board_link_tokens(board, bob, settings):
    from django.core.management import call_command

    from teams import crypto

    link, token = share_board(board, bob)
    old_key = settings.FLORASITE_ENCRYPTION_KEYS[0]
    new_key = "3q5xK0aYq7y0u8Pz7f3m0Gm9vHc3nq7JbqkqgYxQ2aA="
    settings.FLORASITE_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")
    settings.FLORASITE_ENCRYPTION_KEYS = [new_key]  # the old key retired
    link.refresh_from_db()
    assert crypto.is_current(link.token_encrypted)
    assert shares.copyable_token(link) == token
