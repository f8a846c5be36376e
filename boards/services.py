"""What changes a board, in one place: every view calls these after its access check.

Each function takes the board (already the current team's) and returns what happened in
words for the page, or raises BoardError with a message meant for the person.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from boards.models import COMMENT_MAX, NOTE_MAX, Board, BoardComment, BoardItem, Review
from runs.models import RunOutput
from teams.models import Team

__all__ = [
    "BoardError",
    "ReviewCounts",
    "add_comment",
    "add_output",
    "boards_with_counts",
    "move_item",
    "reorder",
    "review_counts",
    "set_note",
    "set_review",
    "team_output",
]


class BoardError(Exception):
    """A change refused, with the reason in words for the page."""


@dataclass(frozen=True)
class ReviewCounts:
    approved: int = 0
    rejected: int = 0
    unreviewed: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.rejected + self.unreviewed


def _counts() -> dict[str, Count]:
    return {
        "item_count": Count("items", distinct=True),
        "approved_count": Count("items", filter=Q(items__review=Review.APPROVED), distinct=True),
        "rejected_count": Count("items", filter=Q(items__review=Review.REJECTED), distinct=True),
    }


def boards_with_counts(team: Team) -> QuerySet[Board]:
    """The team's boards, most recently changed first, with item and review counts."""
    return Board.objects.filter(team=team).select_related("created_by").annotate(**_counts())


def review_counts(board: Board) -> ReviewCounts:
    rows = dict(board.items.values_list("review").annotate(n=Count("id")).order_by())
    return ReviewCounts(
        approved=rows.get(Review.APPROVED, 0),
        rejected=rows.get(Review.REJECTED, 0),
        unreviewed=rows.get(Review.UNREVIEWED, 0),
    )


def team_output(team: Team, output_id: object) -> RunOutput | None:
    """The team's output with this pk; None for anyone else's, or a malformed id."""
    try:
        pk = int(str(output_id))
    except ValueError:
        return None
    return RunOutput.objects.select_related("run").filter(pk=pk, run__team=team).first()


def _touch(board: Board) -> None:
    Board.objects.filter(pk=board.pk).update(updated_at=timezone.now())


def add_output(board: Board, output: RunOutput, user: object) -> BoardItem:
    """Put the output at the end of the board. BoardError when it is there already."""
    if output.run.team_id != board.team_id:
        raise BoardError("That output belongs to another team.")
    try:
        with transaction.atomic():
            last = board.items.aggregate(m=Max("position"))["m"]
            item = BoardItem.objects.create(
                board=board,
                output=output,
                added_by=user,
                position=0 if last is None else last + 1,
            )
    except IntegrityError:
        raise BoardError(f"That output is already on “{board.name}”.") from None
    _touch(board)
    return item


def move_item(item: BoardItem, direction: str) -> bool:
    """Swap the item with its neighbour ("up" or "down"); False at either end."""
    items = list(item.board.items.order_by("position", "id"))
    index = next(i for i, other in enumerate(items) if other.pk == item.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(items):
        return False
    items[index], items[other] = items[other], items[index]
    _write_order(items)
    _touch(item.board)
    return True


def reorder(board: Board, codes: list[str]) -> None:
    """Put the items in the order of `codes` (every item of the board, each once).

    A list that does not name exactly the board's items (a stale page after a teammate
    added or removed one) is refused rather than guessed at.
    """
    items = {item.code: item for item in board.items.all()}
    if len(codes) != len(set(codes)) or set(codes) != set(items):
        raise BoardError("The board changed while you were ordering it: reload and try again.")
    _write_order([items[code] for code in codes])
    _touch(board)


def _write_order(items: list[BoardItem]) -> None:
    with transaction.atomic():
        for position, item in enumerate(items):
            if item.position != position:
                BoardItem.objects.filter(pk=item.pk).update(position=position)
                item.position = position


def set_note(item: BoardItem, note: str) -> None:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise BoardError(
            f"A note can be at most {NOTE_MAX:,} characters; this one has {len(note):,}."
        )
    BoardItem.objects.filter(pk=item.pk).update(note=note)
    item.note = note
    _touch(item.board)


def set_review(item: BoardItem, state: str, user: object) -> None:
    """Approve, reject or clear ("") the item: the latest decision wins."""
    if state not in Review.values:
        raise BoardError("Choose approve, reject or clear.")
    now = timezone.now()
    fields = {"review": state, "reviewed_by": user if state else None}
    fields["reviewed_at"] = now if state else None
    BoardItem.objects.filter(pk=item.pk).update(**fields)
    for name, value in fields.items():
        setattr(item, name, value)


def add_comment(item: BoardItem, body: str, user: object) -> BoardComment:
    body = body.strip()
    if not body:
        raise BoardError("Write something before posting a comment.")
    if len(body) > COMMENT_MAX:
        raise BoardError(
            f"A comment can be at most {COMMENT_MAX:,} characters; this one has {len(body):,}."
        )
    comment = BoardComment.objects.create(item=item, author=user, body=body)
    return comment
