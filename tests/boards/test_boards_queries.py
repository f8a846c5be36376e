"""The board page and the boards list cost the same number of queries for 3 items or 30."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from boards.models import BoardComment
from boards.services import add_output
from tests.boards.conftest import make_output
from tests.boards.share_helpers import share_board

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow(board, team, user, count: int) -> None:
    for _ in range(count):
        item = add_output(board, make_output(team, user, kind="text"), user)
        BoardComment.objects.create(item=item, author=user, body="Nice")


@pytest.mark.parametrize("url", ["/boards/{code}/", "/boards/", "/b/{token}"])
def test_pages_cost_no_more_with_more_items(url, client, bob_client, board, team_a, bob):
    _, token = share_board(board, bob)
    viewer = client if url.startswith("/b/") else bob_client
    address = url.format(code=board.code, token=token)
    _grow(board, team_a, bob, 1)
    viewer.get(address)  # the first request of a client makes its rate-limit row
    small = _queries(viewer, address)
    _grow(board, team_a, bob, 27)
    assert _queries(viewer, address) == small
