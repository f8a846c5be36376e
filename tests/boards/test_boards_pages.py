"""The boards list, a board's page, making, renaming and deleting boards, by role."""

from __future__ import annotations

import pytest

from boards.models import Board, BoardItem, Review

pytestmark = pytest.mark.django_db


def test_the_list_shows_item_and_review_counts(bob_client, board):
    BoardItem.objects.filter(board=board).update(review=Review.APPROVED)
    html = bob_client.get("/boards/").content.decode()
    assert "Spring picks" in html
    assert "2 items" in html
    assert "2 approved" in html and "0 rejected" in html


def test_the_list_shows_only_the_current_teams_boards(dave_client, board):
    html = dave_client.get("/boards/").content.decode()
    assert "Spring picks" not in html
    assert "No boards yet" in html


def test_a_member_creates_a_board(bob_client, bob):
    response = bob_client.post("/boards/", {"name": "  Lemonade launch ", "description": "Q3"})
    board = Board.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/boards/{board.code}/"
    assert board.name == "Lemonade launch" and board.created_by == bob


def test_an_empty_name_is_refused_in_words(bob_client):
    response = bob_client.post("/boards/", {"name": "   "})
    assert response.status_code == 400
    assert "Give the board a name." in response.content.decode()
    assert not Board.objects.exists()


def test_a_too_long_name_is_refused_in_words(bob_client):
    response = bob_client.post("/boards/", {"name": "x" * 121})
    assert response.status_code == 400
    assert "at most 120 characters" in response.content.decode()


def test_a_viewer_cannot_create_a_board(carol_client):
    assert carol_client.post("/boards/", {"name": "Mine"}).status_code == 403
    assert not Board.objects.exists()
    assert "New board" not in carol_client.get("/boards/").content.decode()


def test_the_board_page_shows_items_notes_and_state(bob_client, board):
    item = board.items.first()
    item.note = "Use this one for the hero banner"
    item.save()
    html = bob_client.get(f"/boards/{board.code}/").content.decode()
    assert "Poster Maker · output 1" in html and "Tarot Pull · output 1" in html
    assert "Use this one for the hero banner" in html
    assert "Not reviewed" in html
    assert 'id="count-unreviewed">2<' in html
    assert "Approve" in html and "Save note" in html


def test_a_viewer_sees_the_board_without_controls(carol_client, board):
    BoardItem.objects.filter(board=board).update(note="Hero banner")
    response = carol_client.get(f"/boards/{board.code}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Hero banner" in html
    assert ">Approve<" not in html and "Save note" not in html and ">Remove<" not in html
    assert "Create share link" not in html


def test_the_board_filters_by_review_state(bob_client, board):
    first = board.items.order_by("position").first()
    first.review = Review.REJECTED
    first.save()
    rejected = bob_client.get(f"/boards/{board.code}/?state=rejected").content.decode()
    assert "Poster Maker · output 1" in rejected and "Tarot Pull · output 1" not in rejected
    waiting = bob_client.get(f"/boards/{board.code}/?state=unreviewed").content.decode()
    assert "Tarot Pull · output 1" in waiting and "Poster Maker · output 1" not in waiting
    approved = bob_client.get(f"/boards/{board.code}/?state=approved").content.decode()
    assert "No item is approved" in approved


def test_another_teams_board_is_404(dave_client, board):
    assert dave_client.get(f"/boards/{board.code}/").status_code == 404


def test_a_member_renames_a_board(bob_client, board):
    response = bob_client.post(f"/boards/{board.code}/edit", {"name": "Final picks"})
    assert response.status_code == 302
    board.refresh_from_db()
    assert board.name == "Final picks"


def test_renaming_to_nothing_says_why(bob_client, board):
    response = bob_client.post(f"/boards/{board.code}/edit", {"name": ""})
    assert response.status_code == 400
    assert "Give the board a name." in response.content.decode()
    board.refresh_from_db()
    assert board.name == "Spring picks"


def test_deleting_a_board_keeps_the_outputs(bob_client, board, image_output):
    response = bob_client.post(f"/boards/{board.code}/delete")
    assert response.status_code == 302 and response["Location"] == "/boards/"
    assert not Board.objects.exists() and not BoardItem.objects.exists()
    image_output.refresh_from_db()  # still there


def test_a_viewer_cannot_delete_a_board(carol_client, board):
    assert carol_client.post(f"/boards/{board.code}/delete").status_code == 403
    assert Board.objects.filter(pk=board.pk).exists()


def test_the_compare_form_names_the_outputs(bob_client, board, image_output):
    html = bob_client.get(f"/boards/{board.code}/").content.decode()
    assert 'action="/gallery/compare"' in html
    assert f'name="o" value="{image_output.pk}" form="compare-form"' in html
