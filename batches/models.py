"""Batches: one form, many runs, started by the worker and watched as one.

A Batch is written with all its BatchRows in the request; no FLORA call happens there. Each
row carries its own intent key, written before any create, and the worker starts it through
runs.submit with that key (FLORA's Idempotency-Key), so a row is one FLORA run, never two.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_batch_code() -> str:
    while True:
        code = secrets.token_urlsafe(9)
        if code[0].isalnum():
            return code


class BatchStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for a manager"
    ACTIVE = "active", "Running"
    CANCELLED = "cancelled", "Cancelled"


class BatchSource(models.TextChoices):
    FORM = "form", "Several values in the run form"
    LINES = "lines", "One run per line"
    CSV = "csv", "A CSV file"
    FILES = "files", "One run per file"
    BOARD = "board", "Every output of a board"


class RowState(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    STARTING = "starting", "Starting"
    STARTED = "started", "Started"
    # Never reached FLORA: its file could not be sent (the note says why).
    FAILED = "failed", "Could not start"
    CANCELLED = "cancelled", "Cancelled"


class Batch(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_batch_code, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The form's intent: the same form posted twice is the same batch.
    intent_key = models.CharField(max_length=100)
    source = models.CharField(max_length=10, choices=BatchSource.choices)
    technique_id = models.CharField(max_length=200)
    technique_name = models.CharField(max_length=300)
    # The technique as FLORA described it when the batch was made (flora.Technique's fields),
    # so the worker starts every row without reading the catalog again.
    technique = models.JSONField(default=dict)
    workspace_id = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    price_each = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    status = models.CharField(max_length=20, choices=BatchStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "intent_key"], name="batch_unique_intent")
        ]

    def __str__(self) -> str:
        return f"{self.technique_name} x {self.size} ({self.code})"

    @property
    def total_price(self) -> Decimal | None:
        return None if self.price_each is None else self.price_each * self.size


class BatchRow(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()
    # The run's inputs as runs.submit takes one plan entry: [{"id", "type", "value"}, ...].
    inputs = models.JSONField(default=list)
    # Written with the row, before any FLORA call; a retry of a failed row gets a new one.
    intent_key = models.CharField(max_length=100, unique=True)
    attempt = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=RowState.choices, default=RowState.QUEUED)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Not before this time (FLORA asked the team to slow down: Retry-After).
    not_before = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(
        "runs.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="batch_rows"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batch_row_position")
        ]
        indexes = [models.Index(fields=["state", "not_before"], name="batch_row_due")]

    def __str__(self) -> str:
        return f"{self.batch.code} #{self.position}"


class TeamPass(models.Model):
    """Who is starting a team's batch rows right now: one pass per team at a time, so the
    concurrency count it makes is not made by a second pass at the same moment. Claimed by a
    conditional UPDATE on busy_until (a dead worker's claim runs out)."""

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="+")
    busy_until = models.DateTimeField(null=True, blank=True)
    # Set by a pass that found the team busy (a run ended meanwhile): the pass under way
    # goes round once more instead of leaving the free slot to the next tick.
    wanted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"batch pass of team {self.team_id}"
