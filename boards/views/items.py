"""Changing a board's items: add an output (the "Add to board" menu), remove, order, notes,
review and comments.

Every change is a POST that works as a plain form (redirect back to the board, the outcome in
a message) and, through htmx, answers with the changed tile and the board's counts.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from boards import services
from boards.access import get_board, get_item, require_curator
from boards.display import member_tiles
from boards.forms import BoardForm
from boards.models import Board, BoardItem
from boards.services import BoardError
from boards.views.pages import board_context
from runs.models import RunOutput
from teams.access import require_membership
from teams.models import Membership
from teams.permissions import can_curate_boards

# --- Helpers ----------------------------------------------------------------------------------


def _board_url(board: Board, item: BoardItem | None = None) -> str:
    url = reverse("boards:detail", args=[board.code])
    return f"{url}#item-{item.code}" if item else url


def _item_answer(
    request: HttpRequest,
    item: BoardItem,
    *,
    notice: str = "",
    error: str = "",
    open_comments: bool = False,
) -> HttpResponse:
    """htmx: the item's tile (or nothing, once removed) and the counts; else back to the board."""
    board = item.board
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect(_board_url(board, item if item.pk else None))
    tiles = member_tiles(board, item_code=item.code) if item.pk else []
    ctx = {
        "board": board,
        "tile": tiles[0] if tiles else None,
        "counts": services.review_counts(board),
        "can_curate": True,
        "movable": True,
        "open_comments": open_comments,
        "notice": notice,
        "error": error,
    }
    return render(request, "boards/_tile_answer.html", ctx)


def _grid_answer(request: HttpRequest, board: Board, membership: Membership, error: str = ""):  # noqa: ANN202
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(_board_url(board))
    ctx = {**board_context(board, membership), "grid_error": error}
    return render(request, "boards/detail.html#grid", ctx)


def _add_context(request: HttpRequest, output: RunOutput, membership: Membership) -> dict:
    already = set(output.board_items.values_list("board_id", flat=True))
    boards = [
        {"board": board, "has_it": board.pk in already}
        for board in Board.objects.filter(team=membership.team).only("code", "name")
    ]
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    return {
        "output": output,
        "boards": boards,
        "can_curate": can_curate_boards(membership),
        "new_form": BoardForm(prefix="new"),
        "next": next_url,
    }


# --- Adding an output -------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def add_to_board(request: HttpRequest) -> HttpResponse:
    """GET: the menu (htmx) or a page; POST: add the output to a board, or to a new one."""
    membership = require_membership(request)
    raw = request.POST.get("output") if request.method == "POST" else request.GET.get("output")
    output = services.team_output(membership.team, raw)
    if output is None:
        # Another team's output, or no such output: the same answer (nothing confirmed).
        raise Http404("No output of your team has that id.")
    ctx = _add_context(request, output, membership)
    if request.method != "POST":
        template = "boards/add.html#menu" if request.htmx else "boards/add.html"
        return render(request, template, ctx)
    require_curator(request)
    board, error, new_form = _chosen_board(request, membership)
    if board is not None:
        try:
            services.add_output(board, output, request.user)
        except BoardError as exc:
            error = str(exc)
    # Read again: the menu now shows the board the output was added to.
    ctx = {**_add_context(request, output, membership), "error": error}
    if error:
        ctx["new_form"] = new_form
    else:
        ctx["added"] = board
    if request.htmx:
        return render(request, "boards/add.html#menu", ctx)
    if error:
        return render(request, "boards/add.html", ctx, status=400)
    messages.success(request, f"Added to “{board.name}”.")
    return redirect(ctx["next"] or _board_url(board))


def _chosen_board(
    request: HttpRequest, membership: Membership
) -> tuple[Board | None, str, BoardForm]:
    """The board picked in the menu, or a new one named there; else why not, in words.

    A name typed for a new board wins over the board picked: typing it is the later, and
    the more deliberate, act (the first board is picked by default).
    """
    code = request.POST.get("board", "")
    form = BoardForm(request.POST, prefix="new")
    if request.POST.get("new-name", "").strip():
        code = "new"
    if code and code != "new":
        board = Board.objects.filter(team=membership.team, code=code).first()
        if board is None:
            return None, "That board no longer exists: pick another.", BoardForm(prefix="new")
        return board, "", BoardForm(prefix="new")
    if not form.is_valid():
        return None, " ".join(e for errors in form.errors.values() for e in errors), form
    board = Board.objects.create(
        team=membership.team, name=form.cleaned_data["name"], created_by=request.user
    )
    return board, "", form


# --- Changing an item -------------------------------------------------------------------------


@require_POST
def remove_item(request: HttpRequest, code: str, item_code: str) -> HttpResponse:
    item = get_item(request, code, item_code)
    require_curator(request)
    item.delete()
    return _item_answer(
        request, item, notice="Removed from the board. The output is still in its run."
    )


@require_POST
def move_item(request: HttpRequest, code: str, item_code: str) -> HttpResponse:
    item = get_item(request, code, item_code)
    membership = require_curator(request)
    services.move_item(item, request.POST.get("direction", ""))
    return _grid_answer(request, item.board, membership)


@require_POST
def reorder(request: HttpRequest, code: str) -> HttpResponse:
    board = get_board(request, code)
    membership = require_curator(request)
    try:
        services.reorder(board, request.POST.getlist("item"))
    except BoardError as exc:
        return _grid_answer(request, board, membership, error=str(exc))
    return _grid_answer(request, board, membership)


@require_POST
def set_note(request: HttpRequest, code: str, item_code: str) -> HttpResponse:
    item = get_item(request, code, item_code)
    require_curator(request)
    try:
        services.set_note(item, request.POST.get("note", ""))
    except BoardError as exc:
        return _item_answer(request, item, error=str(exc))
    return _item_answer(request, item, notice="Note saved.")


@require_POST
def review_item(request: HttpRequest, code: str, item_code: str) -> HttpResponse:
    item = get_item(request, code, item_code)
    require_curator(request)
    try:
        services.set_review(item, request.POST.get("state", "-"), request.user)
    except BoardError as exc:
        return _item_answer(request, item, error=str(exc))
    notice = f"Marked {item.get_review_display().lower()}." if item.review else "Review cleared."
    return _item_answer(request, item, notice=notice)


@require_POST
def comment_item(request: HttpRequest, code: str, item_code: str) -> HttpResponse:
    item = get_item(request, code, item_code)
    require_curator(request)
    try:
        services.add_comment(item, request.POST.get("body", ""), request.user)
    except BoardError as exc:
        return _item_answer(request, item, error=str(exc), open_comments=True)
    return _item_answer(request, item, notice="Comment posted.", open_comments=True)
