"""Board share links: made and revoked by members on the board page, opened by anyone with
the token on a public page that shows the board's items and nothing internal.

The mechanism is the run share link's (runs.shares: the token found by its hash, kept
encrypted for members to copy again, revocable, expiring; runs.views.public: noindex, the
same 404 for every dead token, the rate limit). The public page shows the board's name and
description, the items (and their notes when the link says so), each item's technique and
date: no team, no member, no comment, no reviewer, no FLORA address, no id of ours.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from boards.access import get_board, require_curator
from boards.display import public_items, public_tiles, public_url, safe_name
from boards.forms import BoardShareForm
from boards.models import Board, BoardItem, BoardShareLink
from runs import shares
from runs.models import OutputKeepStatus
from runs.serving import serve_output, serve_thumb
from runs.views.public import share_view
from runs.views.run_page import no_store_if_tokens
from runs.views.shares import revoke_link
from teams.models import Membership
from teams.permissions import can_curate_boards

__all__ = [
    "board_shares_context",
    "create_share",
    "public_board",
    "public_file",
    "public_thumb",
    "revoke_share",
]


def board_shares_context(
    board: Board, membership: Membership, *, form: BoardShareForm | None = None
) -> dict[str, Any]:
    """What boards/_shares.html needs (board page, create and revoke answers)."""
    return {
        "board": board,
        "share_rows": shares.share_rows(
            board.share_links.select_related("created_by", "revoked_by"),
            membership,
            revoke_url=lambda link: reverse("boards:share_revoke", args=[board.code, link.code]),
            public_url=public_url,
        ),
        "can_share": can_curate_boards(membership),
        "shareable": True,
        "share_form": form or BoardShareForm(),
    }


def _summary(link: BoardShareLink) -> str:
    shown = "Only approved items are shown" if link.approved_only else "Every item is shown"
    notes = "with their notes" if link.show_notes else "without notes"
    return f"{shown}, {notes}; never comments or who reviewed."


def _description(board: Board, count: int) -> str:
    items = f"{count} item{'' if count == 1 else 's'}"
    if not board.description:
        return items
    text = board.description if len(board.description) <= 150 else board.description[:149] + "…"
    return f"{items}: {text}"


# --- Member views -----------------------------------------------------------------------------


@require_POST
def create_share(request: HttpRequest, code: str) -> HttpResponse:
    board = get_board(request, code)
    membership = require_curator(request)
    form = BoardShareForm(request.POST)
    if not form.is_valid():
        ctx = board_shares_context(board, membership, form=form)
        if request.htmx:
            return no_store_if_tokens(render(request, "boards/_shares.html", ctx), ctx)
        messages.error(request, "Choose when the link expires.")
        return redirect(reverse("boards:detail", args=[board.code]) + "#board-shares")
    token, fields = shares.new_token_fields(form.cleaned_data["expires"], timezone.now())
    link = BoardShareLink.objects.create(
        board=board,
        created_by=request.user,
        approved_only=form.cleaned_data["approved_only"],
        show_notes=form.cleaned_data["show_notes"],
        **fields,
    )
    ctx = {
        **board_shares_context(board, membership),
        "created": {"link": link, "url": public_url(token), "summary": _summary(link)},
    }
    template = "boards/_shares.html" if request.htmx else "boards/share_created.html"
    response = render(request, template, ctx)
    response["Cache-Control"] = "no-store"  # it shows the token
    return response


@require_POST
def revoke_share(request: HttpRequest, code: str, share_code: str) -> HttpResponse:
    board = get_board(request, code)
    membership = require_curator(request)
    link = get_object_or_404(BoardShareLink.objects.filter(board=board), code=share_code)
    return revoke_link(
        request,
        link,
        membership,
        fragment=lambda extra: {**board_shares_context(board, membership), **extra},
        template="boards/_shares.html",
        back_url=reverse("boards:detail", args=[board.code]) + "#board-shares",
    )


# --- Public views -----------------------------------------------------------------------------


def _find(token: str) -> BoardShareLink | None:
    return shares.find_active(BoardShareLink.objects.select_related("board"), token)


@share_view(_find, "board-page")
def public_board(request: HttpRequest, link: BoardShareLink, token: str) -> HttpResponse:
    if request.method == "GET":
        shares.record_view(link)
    tiles = public_tiles(link, token)
    first_image = next((t for t in tiles if t.kind == "image" and t.is_kept), None)
    board = link.board
    # The preview is the first image's thumbnail (through the link), else the image itself.
    og_image = (first_image.thumb.url or first_image.url) if first_image else ""
    ctx = {
        "board": board,
        "tiles": tiles,
        "show_notes": link.show_notes,
        "page_url": public_url(token),
        "og_description": _description(board, len(tiles)),
        "og_image": settings.PUBLIC_BASE_URL + og_image if og_image else "",
        "og_image_alt": first_image.title if first_image else "",
    }
    return render(request, "boards/public.html", ctx)


def _public_item(link: BoardShareLink, item_code: str) -> tuple[int, BoardItem]:
    """The link's item with this code, kept, and its number on the page; else 404."""
    codes = list(public_items(link).values_list("code", flat=True))
    if item_code not in codes:
        raise Http404("This item is not available.")
    item = link.board.items.select_related("output__run").get(code=item_code)
    if item.output.keep_status != OutputKeepStatus.KEPT:
        raise Http404("This item is not available yet.")
    return codes.index(item_code) + 1, item


@share_view(_find, "board-file", files=True)
def public_thumb(
    request: HttpRequest, link: BoardShareLink, token: str, item_code: str
) -> HttpResponse:
    """An item's large thumbnail (the page's pictures, and the chat apps' preview)."""
    _, item = _public_item(link, item_code)
    return serve_thumb(request, item.output, "large", cache_control="private, no-cache")


@share_view(_find, "board-file", files=True)
def public_file(
    request: HttpRequest, link: BoardShareLink, token: str, item_code: str
) -> HttpResponse:
    number, item = _public_item(link, item_code)  # the number: the same name as in the zip
    return serve_output(
        request, item.output, safe_name(number, item), cache_control="private, no-cache"
    )
