"""Files members uploaded, kept in the dashboard's storage, and the FLORA assets made of them.

An Upload is one file of one team, stored once per content (unique per team and sha256):
the same bytes uploaded twice are the same Upload. A FloraAsset is what FLORA made of some
bytes in one workspace (unique per team, workspace and sha256), whether they came from an
Upload or from a kept run output: the same bytes sent to the same workspace again reuse it,
so nothing is uploaded to FLORA twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class UploadKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class ThumbStatus(models.TextChoices):
    """As runs.models.ThumbStatus (the same words), for uploads: uploads import no runs."""

    PENDING = "pending", "Not made yet"
    MADE = "made", "Made"
    NONE = "none", "No thumbnail for this kind"
    FAILED = "failed", "Could not be made"


class Upload(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    file = models.FileField(upload_to="uploads/%Y/%m/", max_length=500)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    # Read from the bytes (uploads.validation), never the browser's word.
    content_type = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=UploadKind.choices)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    original_name = models.CharField(max_length=120)
    location_removed = models.BooleanField(
        default=False, help_text="The photo carried EXIF (perhaps a GPS position): removed."
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Thumbnails for the gallery (uploads.thumbnails, made once in the worker, like a kept
    # output's): storage names of the small and large WebP, "" until made.
    thumb_status = models.CharField(
        max_length=10, choices=ThumbStatus.choices, default=ThumbStatus.PENDING
    )
    thumb_small = models.CharField(max_length=300, blank=True)
    thumb_large = models.CharField(max_length=300, blank=True)
    thumb_attempts = models.PositiveSmallIntegerField(default=0)
    thumb_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "sha256"], name="upload_unique_content"),
        ]
        indexes = [
            models.Index(fields=["team", "kind", "-created_at"], name="upload_team_recent"),
            # The gallery's keyset pages (gallery.listing), as runoutput's output_gallery.
            models.Index(fields=["team", "-created_at", "-id"], name="upload_gallery"),
            # Uploads still waiting for their thumbnails (the periodic runs.thumbs job).
            models.Index(fields=["thumb_status"], name="upload_thumb_due"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.team})"

    @property
    def has_thumb(self) -> bool:
        return self.thumb_status == ThumbStatus.MADE and bool(self.thumb_small)

    @property
    def ref(self) -> str:
        """How the run form names this upload (techniques.media)."""
        return f"upload:{self.public_id}"


class AssetStatus(models.TextChoices):
    PENDING = "pending_upload", "Uploading to FLORA"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class FloraAsset(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    workspace_id = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    # The stored file it was made of; None when it came from a kept run output.
    upload = models.ForeignKey(
        Upload, on_delete=models.SET_NULL, null=True, blank=True, related_name="assets"
    )
    # Empty until FLORA answered; the key is kept so that a retry after a lost answer is the
    # same create (FLORA then says it saw the key, and the asset is found by its name).
    asset_id = models.CharField(max_length=200, blank=True)
    url = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=AssetStatus.choices)
    idempotency_key = models.CharField(max_length=100)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "workspace_id", "sha256"], name="asset_unique_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} in {self.workspace_id}"
