"""Board share links made as the board page makes them."""

from __future__ import annotations

from boards.models import Board, BoardShareLink
from runs import shares


def share_board(
    board: Board, user, *, expires: str = "7d", **options
) -> tuple[BoardShareLink, str]:
    from django.utils import timezone

    token, fields = shares.new_token_fields(expires, timezone.now())
    link = BoardShareLink.objects.create(board=board, created_by=user, **options, **fields)
    return link, token
