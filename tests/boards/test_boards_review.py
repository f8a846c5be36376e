"""Review on a board: approve, reject, clear (the latest decision wins), counts, comments."""

from __future__ import annotations

import pytest

from boards.models import BoardComment, Review
from boards.services import review_counts

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _review(client, board, item, state, **kwargs):
    return client.post(f"/boards/{board.code}/items/{item.code}/review", {"state": state}, **kwargs)


def test_approving_answers_with_the_tile_and_the_counts(bob_client, board, bob):
    item = board.items.first()
    response = _review(bob_client, board, item, "approved", headers=HTMX)
    html = response.content.decode()
    assert f'id="item-{item.code}"' in html and "Marked approved." in html
    assert "by bob" in html
    assert 'id="count-approved" hx-swap-oob="true">1<' in html
    assert 'id="count-unreviewed" hx-swap-oob="true">1<' in html
    item.refresh_from_db()
    assert item.review == Review.APPROVED and item.reviewed_by == bob and item.reviewed_at


def test_the_latest_decision_wins(bob_client, alice_client, board, alice):
    item = board.items.first()
    _review(bob_client, board, item, "approved")
    _review(alice_client, board, item, "rejected")
    item.refresh_from_db()
    assert item.review == Review.REJECTED and item.reviewed_by == alice
    assert review_counts(board).rejected == 1 and review_counts(board).approved == 0


def test_clearing_a_review(bob_client, board):
    item = board.items.first()
    _review(bob_client, board, item, "approved")
    response = _review(bob_client, board, item, "", headers=HTMX)
    assert "Review cleared." in response.content.decode()
    item.refresh_from_db()
    assert item.review == "" and item.reviewed_by is None and item.reviewed_at is None


def test_a_review_without_javascript_redirects_to_the_item(bob_client, board):
    item = board.items.first()
    response = _review(bob_client, board, item, "rejected")
    assert response.status_code == 302
    assert response["Location"] == f"/boards/{board.code}/#item-{item.code}"


def test_an_unknown_state_is_refused_in_words(bob_client, board):
    item = board.items.first()
    html = _review(bob_client, board, item, "maybe", headers=HTMX).content.decode()
    assert "Choose approve, reject or clear." in html
    item.refresh_from_db()
    assert item.review == ""


def test_a_viewer_cannot_review(carol_client, board):
    item = board.items.first()
    assert _review(carol_client, board, item, "approved").status_code == 403
    item.refresh_from_db()
    assert item.review == ""


def test_the_board_counts_each_state(bob_client, board, team_a, bob):
    first, second = board.items.order_by("position")
    _review(bob_client, board, first, "approved")
    html = bob_client.get(f"/boards/{board.code}/").content.decode()
    assert 'id="count-all">2<' in html
    assert 'id="count-approved">1<' in html
    assert 'id="count-rejected">0<' in html
    assert 'id="count-unreviewed">1<' in html


def test_comments_are_listed_with_author_and_time(bob_client, alice_client, board):
    item = board.items.first()
    url = f"/boards/{board.code}/items/{item.code}/comments"
    bob_client.post(url, {"body": "Too dark on mobile"})
    response = alice_client.post(url, {"body": "Agreed, try a lighter one"}, headers=HTMX)
    html = response.content.decode()
    assert "Comment posted." in html and "Comments (2)" in html
    assert html.index("Too dark on mobile") < html.index("Agreed, try a lighter one")
    assert "bob," in html and "alice," in html
    assert [c.author.username for c in BoardComment.objects.order_by("id")] == ["bob", "alice"]
    # The time goes through |when: a <time> element with its ISO date.
    assert "<time" in html


def test_an_empty_comment_is_refused_in_words(bob_client, board):
    item = board.items.first()
    url = f"/boards/{board.code}/items/{item.code}/comments"
    html = bob_client.post(url, {"body": "   "}, headers=HTMX).content.decode()
    assert "Write something before posting a comment." in html
    assert not BoardComment.objects.exists()


def test_a_huge_comment_is_refused_in_words(bob_client, board):
    item = board.items.first()
    url = f"/boards/{board.code}/items/{item.code}/comments"
    html = bob_client.post(url, {"body": "y" * 4001}, headers=HTMX).content.decode()
    assert "A comment can be at most 4,000 characters" in html
    assert not BoardComment.objects.exists()


def test_a_viewer_reads_comments_but_cannot_post(carol_client, bob_client, board):
    item = board.items.first()
    url = f"/boards/{board.code}/items/{item.code}/comments"
    bob_client.post(url, {"body": "Looks good"})
    assert "Looks good" in carol_client.get(f"/boards/{board.code}/").content.decode()
    assert carol_client.post(url, {"body": "Me too"}).status_code == 403
    assert BoardComment.objects.count() == 1
