"""Access helpers of the board views: the current team's board or item, else 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from boards.models import Board, BoardItem
from teams.access import require_membership
from teams.models import Membership
from teams.permissions import can_curate_boards

__all__ = ["get_board", "get_item", "require_curator"]


def get_board(request: HttpRequest, code: str) -> Board:
    """The current team's board with this code; 404 for anyone else's (never 403)."""
    membership = require_membership(request)
    return get_object_or_404(Board.objects.select_related("team"), code=code, team=membership.team)


def get_item(request: HttpRequest, code: str, item_code: str) -> BoardItem:
    board = get_board(request, code)
    item = get_object_or_404(
        BoardItem.objects.select_related("output__run"), board=board, code=item_code
    )
    item.board = board
    return item


def require_curator(request: HttpRequest) -> Membership:
    """Members and managers change boards; viewers get 403 (they may look)."""
    membership = require_membership(request)
    if not can_curate_boards(membership):
        raise PermissionDenied(
            f"Viewers can look at boards; changing them needs the member role in "
            f"{membership.team.name}."
        )
    return membership
