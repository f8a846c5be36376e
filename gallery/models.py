"""Favourites: a member's star on an output of their team.

Per member (not per team): alice's stars are hers. A star is one row, unique per member and
output, so starring twice is starring once. When uploads from the computer join the gallery
(issue 15), a star on an upload is a row with `asset` set instead of `output` (see
docs/architecture.md).
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
        "runs.RunOutput", on_delete=models.CASCADE, related_name="favourites"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The output's own created_at, copied: "favourites only" pages walk the member's stars
    # in gallery order on favourite_gallery, however many outputs the team has.
    output_created_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "output"], name="favourite_once_per_member"),
        ]
        indexes = [
            models.Index(
                fields=["user", "team", "-output_created_at", "-output"],
                name="favourite_gallery",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ★ output {self.output_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.output_created_at is None:
            self.output_created_at = self.output.created_at
        super().save(*args, **kwargs)
