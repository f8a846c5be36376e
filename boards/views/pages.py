"""The list of the team's boards (and a new one), a board's page, its name, its deletion.

Members and managers change boards; viewers look (boards.access). Another team's board is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from boards import services
from boards.access import get_board, require_curator
from boards.display import member_tiles
from boards.forms import BoardForm
from boards.models import Board, Review
from boards.views.sharing import board_shares_context
from runs.views.run_page import no_store_if_tokens
from teams.access import require_membership
from teams.models import Membership
from teams.permissions import can_curate_boards

# ?state= on the board page: which items to show.
STATE_FILTERS = {"approved": Review.APPROVED, "rejected": Review.REJECTED, "unreviewed": ""}


def board_context(board: Board, membership: Membership, state: str = "") -> dict[str, Any]:
    """What boards/detail.html (and its partials) need."""
    tiles = member_tiles(board, STATE_FILTERS.get(state))
    return {
        "nav": "boards",
        "board": board,
        "tiles": tiles,
        "counts": services.review_counts(board),
        "state": state if state in STATE_FILTERS else "",
        "can_curate": can_curate_boards(membership),
        "compare_max": 4,
        "edit_form": BoardForm(initial={"name": board.name, "description": board.description}),
        **board_shares_context(board, membership),
    }


@require_http_methods(["GET", "HEAD", "POST"])
def board_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    form = BoardForm()
    if request.method == "POST":
        require_curator(request)
        form = BoardForm(request.POST)
        if form.is_valid():
            board = Board.objects.create(
                team=membership.team,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
            messages.success(request, f"Board “{board.name}” created.")
            return redirect("boards:detail", code=board.code)
    ctx = {
        "nav": "boards",
        "boards": services.boards_with_counts(membership.team),
        "form": form,
        "can_curate": can_curate_boards(membership),
    }
    return render(request, "boards/list.html", ctx, status=400 if form.errors else 200)


@require_safe
def board_detail(request: HttpRequest, code: str) -> HttpResponse:
    board = get_board(request, code)
    ctx = board_context(board, require_membership(request), request.GET.get("state", ""))
    if request.htmx and request.GET.get("part") == "grid":
        return render(request, "boards/detail.html#grid", ctx)
    return no_store_if_tokens(render(request, "boards/detail.html", ctx), ctx)


@require_POST
def board_edit(request: HttpRequest, code: str) -> HttpResponse:
    board = get_board(request, code)
    membership = require_curator(request)
    form = BoardForm(request.POST)
    if not form.is_valid():
        ctx = {**board_context(board, membership), "edit_form": form, "editing": True}
        return no_store_if_tokens(render(request, "boards/detail.html", ctx, status=400), ctx)
    board.name = form.cleaned_data["name"]
    board.description = form.cleaned_data["description"]
    board.save(update_fields=["name", "description", "updated_at"])
    messages.success(request, "Board saved.")
    return redirect("boards:detail", code=board.code)


@require_POST
def board_delete(request: HttpRequest, code: str) -> HttpResponse:
    board = get_board(request, code)
    require_curator(request)
    name = board.name
    board.delete()  # items, reviews, comments and share links go with it; outputs stay
    messages.success(request, f"Board “{name}” deleted. Its outputs are still in their runs.")
    return redirect("boards:list")
