"""Adding outputs to boards (the "Add to board" menu), removing, ordering and notes."""

from __future__ import annotations

import pytest

from boards.models import Board, BoardItem
from tests.boards.conftest import make_output

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _order(board: Board) -> list[str]:
    return [i.output.run.technique_name for i in board.items.select_related("output__run")]


# --- Add to board -----------------------------------------------------------------------------


def test_the_run_page_offers_add_to_board(bob_client, image_output):
    html = bob_client.get(f"/runs/{image_output.run.code}/").content.decode()
    assert f'hx-get="/boards/add?output={image_output.pk}"' in html
    assert "Add to board" in html


def test_a_viewer_is_not_offered_add_to_board(carol_client, image_output):
    html = carol_client.get(f"/runs/{image_output.run.code}/").content.decode()
    assert "Add to board" not in html


def test_the_menu_lists_the_teams_boards(bob_client, board, image_output, team_a, bob):
    Board.objects.create(team=team_a, name="Other picks", created_by=bob)
    html = bob_client.get(f"/boards/add?output={image_output.pk}", headers=HTMX).content.decode()
    assert "<!doctype" not in html  # the fragment
    assert "Other picks" in html
    assert 'Spring picks <span class="muted small">(already on it)</span>' in html


def test_adding_to_an_existing_board(bob_client, team_a, bob, image_output):
    target = Board.objects.create(team=team_a, name="Hero shots", created_by=bob)
    response = bob_client.post(
        "/boards/add", {"output": image_output.pk, "board": target.code}, headers=HTMX
    )
    assert response.status_code == 200
    assert "Added to" in response.content.decode()
    assert target.items.get().output == image_output


def test_adding_to_a_new_board_without_javascript(bob_client, bob, image_output):
    back = f"/runs/{image_output.run.code}/"
    response = bob_client.post(
        "/boards/add",
        {"output": image_output.pk, "board": "new", "new-name": "Fresh", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    board = Board.objects.get(name="Fresh")
    assert board.created_by == bob and board.items.get().added_by == bob


def test_a_new_board_needs_a_name(bob_client, image_output):
    response = bob_client.post(
        "/boards/add", {"output": image_output.pk, "board": "new", "new-name": " "}
    )
    assert response.status_code == 400
    assert "Give the board a name." in response.content.decode()
    assert not Board.objects.exists()


def test_a_foreign_next_is_ignored(bob_client, board, team_a, bob):
    output = make_output(team_a, bob, technique="Third")
    response = bob_client.post(
        "/boards/add",
        {"output": output.pk, "board": board.code, "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/boards/{board.code}/"


def test_adding_twice_says_it_is_there_already(bob_client, board, image_output):
    response = bob_client.post(
        "/boards/add", {"output": image_output.pk, "board": board.code}, headers=HTMX
    )
    assert "already on “Spring picks”" in response.content.decode()
    assert board.items.filter(output=image_output).count() == 1


def test_another_teams_output_cannot_be_added(bob_client, board, other_team_output):
    response = bob_client.post("/boards/add", {"output": other_team_output.pk, "board": board.code})
    assert response.status_code == 404
    assert not board.items.filter(output=other_team_output).exists()


def test_a_malformed_output_id_is_404(bob_client, board):
    assert bob_client.get("/boards/add?output=abc").status_code == 404
    assert (
        bob_client.post("/boards/add", {"output": "1 OR 1", "board": board.code}).status_code == 404
    )


def test_another_teams_board_cannot_be_added_to(dave_client, board, other_team_output):
    response = dave_client.post(
        "/boards/add", {"output": other_team_output.pk, "board": board.code}
    )
    assert response.status_code == 400
    assert "That board no longer exists" in response.content.decode()
    assert not board.items.filter(output=other_team_output).exists()


def test_a_viewer_cannot_add(carol_client, board, team_a, bob):
    output = make_output(team_a, bob)
    response = carol_client.post("/boards/add", {"output": output.pk, "board": board.code})
    assert response.status_code == 403


# --- Remove, order, notes ---------------------------------------------------------------------


def test_removing_an_item_keeps_its_output(bob_client, board, image_output):
    item = board.items.get(output=image_output)
    response = bob_client.post(f"/boards/{board.code}/items/{item.code}/remove", headers=HTMX)
    assert response.status_code == 200
    assert 'id="count-all" hx-swap-oob="true">1<' in response.content.decode()
    assert not BoardItem.objects.filter(pk=item.pk).exists()
    image_output.refresh_from_db()


def test_move_down_and_up_without_javascript(bob_client, board):
    first = board.items.order_by("position").first()
    response = bob_client.post(
        f"/boards/{board.code}/items/{first.code}/move", {"direction": "down"}
    )
    assert response.status_code == 302
    assert _order(board) == ["Tarot Pull", "Poster Maker"]
    bob_client.post(f"/boards/{board.code}/items/{first.code}/move", {"direction": "up"})
    assert _order(board) == ["Poster Maker", "Tarot Pull"]
    # Already first: nothing moves.
    bob_client.post(f"/boards/{board.code}/items/{first.code}/move", {"direction": "up"})
    assert _order(board) == ["Poster Maker", "Tarot Pull"]


def test_drag_order_is_posted_whole(bob_client, board, team_a, bob):
    from boards.services import add_output

    add_output(board, make_output(team_a, bob, technique="Third"), bob)
    codes = list(board.items.values_list("code", flat=True))
    response = bob_client.post(
        f"/boards/{board.code}/order", {"item": [codes[2], codes[0], codes[1]]}, headers=HTMX
    )
    assert response.status_code == 200
    assert 'id="board-grid"' in response.content.decode()
    assert _order(board) == ["Third", "Poster Maker", "Tarot Pull"]


def test_a_stale_order_is_refused_in_words(bob_client, board):
    code = board.items.first().code
    response = bob_client.post(f"/boards/{board.code}/order", {"item": [code]}, headers=HTMX)
    assert "The board changed while you were ordering it" in response.content.decode()
    assert _order(board) == ["Poster Maker", "Tarot Pull"]


def test_a_viewer_cannot_reorder(carol_client, board):
    codes = list(board.items.values_list("code", flat=True))[::-1]
    assert carol_client.post(f"/boards/{board.code}/order", {"item": codes}).status_code == 403
    assert _order(board) == ["Poster Maker", "Tarot Pull"]


def test_a_note_is_saved_and_shown(bob_client, board):
    item = board.items.first()
    response = bob_client.post(
        f"/boards/{board.code}/items/{item.code}/note", {"note": " Hero banner "}, headers=HTMX
    )
    assert "Note saved." in response.content.decode()
    item.refresh_from_db()
    assert item.note == "Hero banner"


def test_a_huge_note_is_refused_and_nothing_is_lost(bob_client, board):
    item = board.items.first()
    item.note = "Keep me"
    item.save()
    response = bob_client.post(
        f"/boards/{board.code}/items/{item.code}/note", {"note": "x" * 5000}, headers=HTMX
    )
    assert (
        "A note can be at most 2,000 characters; this one has 5,000." in response.content.decode()
    )
    item.refresh_from_db()
    assert item.note == "Keep me"


def test_a_huge_note_without_javascript_says_why(bob_client, board):
    item = board.items.first()
    response = bob_client.post(
        f"/boards/{board.code}/items/{item.code}/note", {"note": "x" * 5000}, follow=True
    )
    assert "A note can be at most 2,000 characters" in response.content.decode()


def test_without_javascript_the_menu_is_a_page(bob_client, board, image_output):
    response = bob_client.get(f"/boards/add?output={image_output.pk}&next=/runs/")
    html = response.content.decode()
    assert response.status_code == 200 and "<!doctype" in html
    assert "<h1>Add to board</h1>" in html
    assert 'name="next" value="/runs/"' in html


def test_a_typed_new_name_wins_over_the_board_picked_by_default(bob_client, board, team_a, bob):
    output = make_output(team_a, bob, technique="Fourth")
    bob_client.post(
        "/boards/add", {"output": output.pk, "board": board.code, "new-name": "Brand new"}
    )
    assert Board.objects.get(name="Brand new").items.get().output == output
    assert not board.items.filter(output=output).exists()
