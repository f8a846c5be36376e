"""Favourites: a member's star on an output of their team.

Per member (not per team): alice's stars are hers. A star is one row, unique per member and
item, so starring twice is starring once. A star is on a kept output or on an upload (issue
15 meets 16): exactly one of `output` and `upload` is set (a check constraint).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class Favourite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gallery_favourites"
    )
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    output = models.ForeignKey(
        "runs.RunOutput", on_delete=models.CASCADE, null=True, blank=True, related_name="favourites"
    )
    upload = models.ForeignKey(
        "uploads.Upload", on_delete=models.CASCADE, null=True, blank=True, related_name="favourites"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The starred item's own created_at (the output's or the upload's), copied: "favourites
    # only" pages walk the member's stars in gallery order on favourite_gallery (outputs) and
    # favourite_upload_gallery (uploads), however many items the team has.
    output_created_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "output"], name="favourite_once_per_member"),
            models.UniqueConstraint(
                fields=["user", "upload"], name="favourite_upload_once_per_member"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(output__isnull=False, upload__isnull=True)
                    | models.Q(output__isnull=True, upload__isnull=False)
                ),
                name="favourite_exactly_one_item",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "team", "-output_created_at", "-output"],
                name="favourite_gallery",
            ),
            models.Index(
                fields=["user", "team", "-output_created_at", "-upload"],
                name="favourite_upload_gallery",
            ),
        ]

    def __str__(self) -> str:
        if self.upload_id:
            return f"{self.user} ★ upload {self.upload_id}"
        return f"{self.user} ★ output {self.output_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.output_created_at is None:
            item = self.upload if self.upload_id else self.output
            self.output_created_at = item.created_at
        super().save(*args, **kwargs)
