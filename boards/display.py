"""A board's items as its pages show them: members' (with review and comments) and the
public page's (files through the share link, nothing internal)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Substr
from django.urls import reverse

from boards.models import Board, BoardComment, BoardItem, BoardShareLink, Review
from runs.display import ThumbTile, output_kind, technique_slug, thumb_tile
from runs.display import extension as output_extension
from runs.models import OutputKeepStatus

__all__ = ["Tile", "member_tiles", "public_tiles", "public_url", "safe_name"]

# What a tile shows of a text output; the whole text is a click away.
TEXT_SNIPPET_CHARS = 400


@dataclass(frozen=True)
class Tile:
    item: BoardItem
    kind: str
    title: str
    url: str  # the kept copy, inline ("" while not kept)
    thumb: ThumbTile
    text: str = ""
    comments: list[BoardComment] = field(default_factory=list)

    @property
    def output(self):  # noqa: ANN201 - runs.models.RunOutput
        return self.item.output

    @property
    def run(self):  # noqa: ANN201 - runs.models.Run
        return self.item.output.run

    @property
    def is_kept(self) -> bool:
        return self.item.output.keep_status == OutputKeepStatus.KEPT

    @property
    def review_label(self) -> str:
        return Review(self.item.review).label


def public_url(token: str) -> str:
    # The configured public origin, not the request's Host header (which a client chooses).
    return settings.PUBLIC_BASE_URL + reverse("boards:public", args=[token])


def _items(board: Board) -> QuerySet[BoardItem]:
    return (
        board.items.select_related("output__run", "added_by", "reviewed_by")
        .defer("output__text", "output__run__outputs_raw", "output__run__inputs")
        .annotate(text_start=Substr("output__text", 1, TEXT_SNIPPET_CHARS))
        .order_by("position", "id")
    )


def _title(item: BoardItem) -> str:
    return f"{item.output.run.technique_name} · output {item.output.position + 1}"


def member_tiles(
    board: Board, state: str | None = None, *, item_code: str | None = None
) -> list[Tile]:
    """The board's items in order; `state` keeps one review state (None: all), `item_code`
    one item (the answer to a change of it)."""
    items = _items(board).prefetch_related(
        Prefetch("comments", queryset=BoardComment.objects.select_related("author"))
    )
    if state is not None:
        items = items.filter(review=state)
    if item_code is not None:
        items = items.filter(code=item_code)
    tiles = []
    for item in items:
        output = item.output
        url = reverse("runs:output", args=[output.run.code, output.position])
        thumb = thumb_tile(output.run, output, "large")
        tiles.append(_tile(item, url, thumb, comments=list(item.comments.all())))
    return tiles


def public_items(link: BoardShareLink) -> QuerySet[BoardItem]:
    items = _items(link.board)
    if link.approved_only:
        items = items.filter(review=Review.APPROVED)
    return items


def public_tiles(link: BoardShareLink, token: str) -> list[Tile]:
    tiles = []
    for item in public_items(link):
        url = reverse("boards:public_file", args=[token, item.code])
        tiles.append(_tile(item, url, _public_thumb(item, token)))
    return tiles


def _public_thumb(item: BoardItem, token: str) -> ThumbTile:
    """The member's tile with the share link's URL, and words that name no run."""
    member = thumb_tile(item.output.run, item.output, "large")
    url = reverse("boards:public_thumb", args=[token, item.code]) if member.url else ""
    return ThumbTile(url, member.width, member.height, _title(item), member.kind, member.label)


def _tile(
    item: BoardItem, url: str, thumb: ThumbTile, comments: list[BoardComment] | None = None
) -> Tile:
    kept = item.output.keep_status == OutputKeepStatus.KEPT
    return Tile(
        item=item,
        kind=output_kind(item.output),
        title=_title(item),
        url=url if kept else "",
        thumb=thumb,
        text=getattr(item, "text_start", "") or "",
        comments=comments or [],
    )


def safe_name(number: int, item: BoardItem) -> str:
    """`<nnn>-<technique-slug>-<n>.<ext>`: unique on the board (its place), never a path.

    Every part is a slug or a number, so no name holds a separator, "..", or a control
    character, whatever the technique was called.
    """
    output = item.output
    ext = output_extension(output)
    return f"{number:03d}-{technique_slug(output.run)}-{output.position + 1}.{ext}"
