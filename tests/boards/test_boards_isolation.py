"""Beyond the registry (tests/test_tenant_isolation.py): another team's member changes nothing
of a board, even where the registry's probe already ran as the board's own team."""

from __future__ import annotations

import pytest

from boards.models import Board, BoardComment, BoardItem, BoardShareLink

pytestmark = pytest.mark.django_db


def test_dave_changes_nothing_of_team_as_board(dave_client, board, bob):
    from tests.boards.share_helpers import share_board

    link, _ = share_board(board, bob)
    item = board.items.first()
    base = f"/boards/{board.code}"
    for url, data in [
        (f"{base}/delete", {}),
        (f"{base}/edit", {"name": "Dave's"}),
        (f"{base}/items/{item.code}/remove", {}),
        (f"{base}/items/{item.code}/note", {"note": "Dave was here"}),
        (f"{base}/items/{item.code}/review", {"state": "rejected"}),
        (f"{base}/items/{item.code}/comments", {"body": "Hi"}),
        (f"{base}/shares", {"expires": "never"}),
        (f"{base}/shares/{link.code}/revoke", {}),
    ]:
        assert dave_client.post(url, data).status_code == 404, url
    board.refresh_from_db()
    item.refresh_from_db()
    link.refresh_from_db()
    assert board.name == "Spring picks" and BoardItem.objects.filter(board=board).count() == 2
    assert item.note == "" and item.review == "" and not BoardComment.objects.exists()
    assert BoardShareLink.objects.count() == 1 and link.revoked_at is None


def test_dave_cannot_put_team_as_output_on_his_board(dave_client, team_b, dave, image_output):
    his = Board.objects.create(team=team_b, name="Bravo board", created_by=dave)
    response = dave_client.post("/boards/add", {"output": image_output.pk, "board": his.code})
    assert response.status_code == 404
    assert not his.items.exists()


def test_dave_cannot_open_the_add_menu_for_team_as_output(dave_client, image_output):
    assert dave_client.get(f"/boards/add?output={image_output.pk}").status_code == 404
