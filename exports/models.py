"""Exports: a file made in the background from a team's data, downloaded by its members.

Issue 19: the run history's CSV (runs.csv_export) is written by the worker into the default
storage, never in a web request. One intent is one export: the button's intent key is unique
per team, and at most one export per team and filters is queued or running at a time, so a
double click, a retried POST or a teammate asking for the same runs meanwhile all land on
the same row.
"""

from __future__ import annotations

import secrets
from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_export_code() -> str:
    return secrets.token_urlsafe(9)


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Being written"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


ACTIVE_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class Export(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_export_code, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The history's filters as its URL carries them (canonical: sorted, no empty values, no
    # page), and in words as the page showed them when the export was asked for.
    query = models.CharField(max_length=2000, blank=True)
    description = models.CharField(max_length=500, blank=True)
    # The site's address as the request saw it: the file's run links point there.
    base_url = models.CharField(max_length=300)
    # The form's intent (a token in the page): the same POST twice is the same export.
    intent_key = models.CharField(max_length=64, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows = models.PositiveIntegerField(null=True, blank=True)
    # A name in the default storage (written with storage.save, read with storage.open).
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    # Who writes it: a worker's claim (renewed while it writes) or, queued, the time by which
    # a task should have picked it up. Past it, exports.resume queues it again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "intent_key"],
                condition=Q(intent_key__isnull=False),
                name="export_unique_intent",
            ),
            models.UniqueConstraint(
                fields=["team", "query"],
                condition=Q(status__in=["queued", "running"]),
                name="export_one_active_per_filters",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "-created_at", "-id"], name="export_team_recent"),
            models.Index(fields=["status", "claimed_until"], name="export_due"),
            models.Index(fields=["status", "expires_at"], name="export_expiry"),
        ]

    def __str__(self) -> str:
        return f"export {self.code} of {self.team_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def filename(self) -> str:
        """As runs:export named its file: runs-<team>-<UTC stamp of the request>.csv."""
        stamp = self.created_at.astimezone(UTC).strftime("%Y%m%d-%H%M")
        return f"runs-{self.team.slug}-{stamp}.csv"
