"""Run records, kept outputs, share links and webhook deliveries.

A Run row is written *before* FLORA is called (status ``submitting``) and is unique per team
and intent key, so a double click or a retried request lands on the same row and never starts
a second FLORA run. Everything FLORA later says about the run is applied by
``runs.state.apply_remote`` so there is one place that moves a run between states.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_run_code() -> str:
    # 72 random bits in 12 url-safe characters: not guessable, short enough for a URL. A code
    # never starts with "-" or "_": such a code reads badly, and spreadsheets would take a
    # leading "-" for a formula (the CSV export guards cells that start with one).
    while True:
        code = secrets.token_urlsafe(9)
        if code[0].isalnum():
            return code


class RunStatus(models.TextChoices):
    SUBMITTING = "submitting", "Submitting"
    CHECKING = "checking", "Checking with FLORA"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    FAILED_TO_START = "failed_to_start", "Failed to start"


# FLORA's own statuses, and ours that mean "FLORA will not change this run any more".
FLORA_STATUSES = {RunStatus.PENDING, RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED}
TERMINAL_STATUSES = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.FAILED_TO_START}
IN_FLIGHT_STATUSES = {
    RunStatus.SUBMITTING,
    RunStatus.CHECKING,
    RunStatus.PENDING,
    RunStatus.RUNNING,
}


SEARCH_TEXT_CHARS = 500


def search_text_of(inputs: object) -> str:
    """The run's text inputs as one lowercased line (Run.search_text)."""
    parts: list[str] = []
    for raw in inputs if isinstance(inputs, list) else []:
        if not isinstance(raw, dict) or str(raw.get("type") or "").endswith("Url"):
            continue  # media inputs are addresses, not words anyone searches for
        values = raw.get("value")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value.strip():
                parts.append(" ".join(value.split()))
    return " | ".join(parts).casefold()[:SEARCH_TEXT_CHARS]


class RunOrigin(models.TextChoices):
    DASHBOARD = "dashboard", "Started here"
    EXTERNAL = "external", "Started outside the dashboard"


class RunQuerySet(models.QuerySet["Run"]):
    def in_flight(self) -> RunQuerySet:
        return self.filter(status__in=IN_FLIGHT_STATUSES)

    def terminal(self) -> RunQuerySet:
        return self.filter(status__in=TERMINAL_STATUSES)


class Run(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_run_code, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="flora_runs",
    )
    origin = models.CharField(max_length=16, choices=RunOrigin.choices, default=RunOrigin.DASHBOARD)

    # What was asked for, as it was at submission (the technique may change later).
    technique_id = models.CharField(max_length=200)
    technique_name = models.CharField(max_length=300)
    price_quoted = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    inputs = models.JSONField(default=list, blank=True)
    workspace_id = models.CharField(max_length=100, blank=True)
    project_id = models.CharField(max_length=100, blank=True)

    # One user intent (one form) -> one key; a form with several values for an
    # allow_multiple input starts one run per value, keyed "<intent>:<n>".
    intent_key = models.CharField(max_length=100, null=True, blank=True)
    batch_key = models.CharField(max_length=100, blank=True, db_index=True)

    # What FLORA said.
    flora_run_id = models.CharField(max_length=200, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.SUBMITTING, db_index=True
    )
    progress = models.FloatField(default=0)
    poll_url = models.URLField(max_length=1000, blank=True)
    charged_cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    last_request_id = models.CharField(max_length=200, blank=True)
    outputs_raw = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    flora_created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Refresh scheduling: whoever wins the conditional UPDATE on refresh_claimed_until asks
    # FLORA; everyone else reads the row. next_refresh_at drives the background sweep.
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_failures = models.PositiveIntegerField(default=0)
    # FLORA accepted a callback URL for this run: a webhook is on the way, so the sweep
    # backs off (runs.state.background_interval).
    webhook_expected = models.BooleanField(
        default=False, help_text="Created with a callback URL FLORA accepted."
    )
    stale = models.BooleanField(
        default=False, help_text="Still unfinished after the time limit; flagged for a human."
    )
    # The text inputs, lowercased and cut to SEARCH_TEXT_CHARS, for the gallery's search: a
    # LIKE over one short column, never a walk through the inputs JSON of every row.
    search_text = models.CharField(max_length=500, blank=True, editable=False)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "intent_key"],
                condition=Q(intent_key__isnull=False),
                name="run_unique_intent_per_team",
            ),
            models.UniqueConstraint(
                fields=["team", "flora_run_id"],
                condition=Q(flora_run_id__isnull=False),
                name="run_unique_flora_id_per_team",
            ),
        ]
        indexes = [
            # History: a team's runs, newest first (keyset pagination on created_at, id).
            models.Index(fields=["team", "-created_at", "-id"], name="run_team_recent"),
            models.Index(fields=["team", "status", "-created_at"], name="run_team_status"),
            # Filtered history pages seek straight to a technique's or a member's runs, however
            # rare they are among the team's.
            models.Index(
                fields=["team", "technique_id", "-created_at", "-id"], name="run_team_technique"
            ),
            models.Index(
                fields=["team", "created_by", "-created_at", "-id"], name="run_team_member"
            ),
            # Counts of a date range (runs.history.summary): per status, a range of created_at,
            # read from the index alone (the cost too, for the managers' spend).
            models.Index(
                fields=["team", "status", "created_at", "charged_cost"], name="run_team_status_cost"
            ),
            models.Index(fields=["next_refresh_at"], name="run_next_refresh"),
        ]

    def __str__(self) -> str:
        return f"{self.technique_name} ({self.code})"

    def __repr__(self) -> str:
        return f"<Run {self.code} {self.technique_id} {self.status}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every path that writes a run (submission, import, admin) goes through save().
        self.search_text = search_text_of(self.inputs)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "inputs" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_in_flight(self) -> bool:
        return self.status in IN_FLIGHT_STATUSES

    @property
    def progress_percent(self) -> int:
        if self.status == RunStatus.COMPLETED:
            return 100
        if not math.isfinite(self.progress):
            return 0  # a row written before runs.state clamped FLORA's progress
        # FLORA reports progress as a number; accept both 0..1 and 0..100 scales.
        value = self.progress * 100 if 0 < self.progress < 1 else self.progress
        return max(0, min(100, round(value)))

    @property
    def duration_seconds(self) -> float | None:
        start = self.flora_created_at or self.submitted_at or self.created_at
        end = self.completed_at if self.is_terminal else None
        if end is None or start is None:
            return None
        return max(0.0, (end - start).total_seconds())

    def elapsed_seconds(self, now: datetime | None = None) -> float:
        start = self.flora_created_at or self.submitted_at or self.created_at
        end = self.completed_at or now or timezone.now()
        return max(0.0, (end - start).total_seconds())

    @property
    def cost(self) -> Decimal | None:
        return self.charged_cost if self.charged_cost is not None else None


class RunTally(models.Model):
    """Delta rows of runs counted per (team, status, key): written by database triggers on
    the runs table, folded by compaction, summed on read (runs.tallies)."""

    # No foreign key constraint: a team's runs are deleted (writing their -1 rows) before the
    # team itself; those rows sum to zero and compaction drops them.
    team = models.ForeignKey(
        "teams.Team", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    status = models.CharField(max_length=20)
    # "" (all runs), one dimension letter ("t"), or two ("tm"): see runs.tallies.KEYS.
    dims = models.CharField(max_length=2)
    v1 = models.CharField(max_length=200, blank=True)
    v2 = models.CharField(max_length=200, blank=True)
    n = models.BigIntegerField()
    # charged_cost in units of $0.0001, exact on SQLite and PostgreSQL.
    spend_units = models.BigIntegerField()
    # True for a row a trigger wrote since the last compaction.
    delta = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(fields=["team", "dims", "v1", "v2", "status"], name="run_tally_key"),
            models.Index(fields=["team"], condition=Q(delta=True), name="run_tally_delta"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.status} {self.dims}={self.v1},{self.v2}: {self.n}"


class TechniqueName(models.Model):
    """The name first seen for each technique a team ran (the filters' options), written by
    the runs table's triggers when missing (runs.tallies); never updated."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    technique_id = models.CharField(max_length=200)
    name = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["team", "technique_id"], name="technique_name_team")]

    def __str__(self) -> str:
        return f"{self.technique_id}: {self.name}"


class OutputKeepStatus(models.TextChoices):
    PENDING = "pending", "Not kept yet"
    KEPT = "kept", "Kept"
    FAILED = "failed", "Could not be kept"


class ThumbStatus(models.TextChoices):
    PENDING = "pending", "Not made yet"
    MADE = "made", "Made"
    NONE = "none", "No thumbnail for this kind"
    FAILED = "failed", "Could not be made"


class RunOutput(models.Model):
    """One output of a completed run, with the dashboard's own copy of it.

    Media outputs are copied into Django storage so result pages and share links keep
    working after FLORA's URLs expire; text outputs are kept in the database.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="outputs")
    position = models.PositiveIntegerField(default=0)
    output_id = models.CharField(max_length=200)
    type = models.CharField(max_length=20)
    source_url = models.TextField(blank=True, help_text="FLORA's URL (empty for text outputs).")
    text = models.TextField(blank=True)
    file = models.FileField(upload_to="outputs/%Y/%m/", max_length=500, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    keep_status = models.CharField(
        max_length=10, choices=OutputKeepStatus.choices, default=OutputKeepStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # Pending: when the next copy may start (a claim's lease, or a failure's backoff). Kept:
    # the lease of a thumbnail attempt under way (runs.thumbnails), else empty.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    kept_at = models.DateTimeField(null=True, blank=True)

    # Copied from the run when the row is written (save(), runs.state), so the gallery pages
    # through a team's outputs newest first on one index (output_gallery) without a join.
    team = models.ForeignKey(
        "teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(null=True, blank=True)

    # Thumbnails (runs.thumbnails), made once in the worker after the copy is kept: storage
    # names, content-addressed by the kept file's checksum. width/height: the image's.
    thumb_status = models.CharField(
        max_length=10, choices=ThumbStatus.choices, default=ThumbStatus.PENDING
    )
    thumb_small = models.CharField(max_length=300, blank=True)
    thumb_large = models.CharField(max_length=300, blank=True)
    thumb_attempts = models.PositiveSmallIntegerField(default=0)
    thumb_error = models.CharField(max_length=300, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "output_id"], name="output_unique_per_run"),
        ]
        indexes = [
            # The outputs due for a copy (runs.keeping), asked for every few seconds.
            models.Index(fields=["keep_status", "next_attempt_at"], name="output_keep_due"),
            # The gallery: a team's kept outputs, newest first (keyset on created_at, id).
            models.Index(
                fields=["team", "keep_status", "-created_at", "-id"], name="output_gallery"
            ),
            # Kept outputs still waiting for their thumbnails (the periodic runs.thumbs job).
            models.Index(fields=["thumb_status", "keep_status"], name="output_thumb_due"),
        ]

    def __str__(self) -> str:
        return f"{self.output_id} of {self.run.code}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.team_id is None and self.run_id is not None:
            self.team_id = self.run.team_id
        if self.created_at is None and self.run_id is not None:
            self.created_at = self.run.created_at
        super().save(*args, **kwargs)

    @property
    def has_thumb(self) -> bool:
        return self.thumb_status == ThumbStatus.MADE and bool(self.thumb_small)

    @property
    def is_kept(self) -> bool:
        return self.keep_status == OutputKeepStatus.KEPT


class TokenLink(models.Model):
    """A revocable, expiring capability found by its token's hash (runs.shares).

    ``token_hash`` finds the link from the public URL. ``token_encrypted`` (a Fernet token,
    teams.crypto) lets the team's members copy the link again later; it is emptied when the
    link is revoked. ``code`` names the link in the dashboard's own URLs (revoke); it is not
    the token. Run share links and board share links (boards app) are both made of this.
    """

    code = models.CharField(max_length=16, unique=True, default=new_run_code, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=12, blank=True)
    # "" for links made before links could be copied again, and for revoked links.
    token_encrypted = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class ShareLink(TokenLink):
    """A revocable capability to view one run's result (see TokenLink)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="share_links")
    hide_inputs = models.BooleanField(default=False)

    class Meta(TokenLink.Meta):
        pass

    def __str__(self) -> str:
        return f"Share of {self.run.code} ({self.token_hint}…)"

    def __repr__(self) -> str:
        return f"<ShareLink {self.pk} run={self.run_id} hint={self.token_hint}>"


class WebhookDelivery(models.Model):
    """A FLORA webhook delivery we accepted; deliveries are at-least-once, so ids dedupe."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=50)
    flora_run_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "delivery_id"], name="webhook_delivery_unique_per_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.delivery_id}"


class InputLink(models.Model):
    """One input of a run that was a kept output of an earlier run: the chain, both ways
    ("Input from run X" on the new run, "Used in" on the earlier one)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="input_links")
    input_id = models.CharField(max_length=200)
    source_output = models.ForeignKey(
        RunOutput, on_delete=models.CASCADE, related_name="used_in_links"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "input_id", "source_output"], name="input_link_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run.code}.{self.input_id} <- output {self.source_output_id}"
