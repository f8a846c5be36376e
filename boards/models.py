"""Boards: a team's named, hand-ordered collections of kept outputs, reviewed and shared.

A BoardItem points at a runs.RunOutput of the board's team (boards.services checks the team
on every add). Its review state lives on the item (one decision per item per board: the
latest wins, with who and when); comments are a list beside it. A BoardShareLink is the run
share link's capability (runs.models.TokenLink) for a whole board.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from runs.models import TokenLink, new_run_code

NAME_MAX = 120
DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
COMMENT_MAX = 4000


class Review(models.TextChoices):
    UNREVIEWED = "", "Not reviewed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Board(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_run_code, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(max_length=NAME_MAX)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["team", "-updated_at"], name="board_team_recent")]

    def __str__(self) -> str:
        return self.name


class BoardItem(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_run_code, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="items")
    output = models.ForeignKey(
        "runs.RunOutput", on_delete=models.CASCADE, related_name="board_items"
    )
    note = models.TextField(max_length=NOTE_MAX, blank=True)
    position = models.PositiveIntegerField(default=0)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    review = models.CharField(max_length=10, choices=Review.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["board", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "output"], name="board_item_unique_output"),
        ]

    def __str__(self) -> str:
        return f"{self.output_id} on {self.board_id}"


class BoardComment(models.Model):
    item = models.ForeignKey(BoardItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=COMMENT_MAX)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.item_id}"


class BoardShareLink(TokenLink):
    """A revocable, expiring capability to view one board (see runs.models.TokenLink)."""

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="share_links")
    show_notes = models.BooleanField(default=False)
    approved_only = models.BooleanField(default=False)

    class Meta(TokenLink.Meta):
        pass

    def __str__(self) -> str:
        return f"Share of board {self.board_id} ({self.token_hint}…)"
