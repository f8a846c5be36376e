"""Make the thumbnails that kept outputs and uploads are missing (made before thumbnails were).

The periodic runs.thumbs job does the same 50 at a time; this command does it now, in
batches, and says how many it made. Each output is claimed as the job claims it, so it is
safe to run while workers run.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count

from runs import thumbnails
from runs.models import OutputKeepStatus, RunOutput, ThumbStatus
from uploads import thumbnails as upload_thumbnails
from uploads.models import Upload


class Command(BaseCommand):
    help = "Make the missing thumbnails of kept outputs and uploads, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=200, help="Outputs per batch.")
        parser.add_argument(
            "--max", type=int, default=0, help="Stop after this many outputs (0: all)."
        )

    def handle(self, *args: Any, batch: int, max: int, **options: Any) -> None:
        done = 0
        while True:
            size = batch if not max else min(batch, max - done)
            if size <= 0:
                break
            made = thumbnails.make_due_thumbnails(limit=size)
            made += upload_thumbnails.make_due_upload_thumbnails(limit=size)
            if not made:
                break
            done += made
            self.stdout.write(f"{done} outputs and uploads handled…")
        counts = dict(
            RunOutput.objects.filter(keep_status=OutputKeepStatus.KEPT)
            .values_list("thumb_status")
            .annotate(n=Count("id"))
            .order_by()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {done} outputs and uploads handled. Kept outputs now: "
                f"{counts.get(ThumbStatus.MADE, 0)} with thumbnails, "
                f"{counts.get(ThumbStatus.NONE, 0)} of a kind without, "
                f"{counts.get(ThumbStatus.FAILED, 0)} failed, "
                f"{counts.get(ThumbStatus.PENDING, 0)} still waiting."
            )
        )
        uploads = dict(
            Upload.objects.values_list("thumb_status").annotate(n=Count("id")).order_by()
        )
        self.stdout.write(
            f"Uploads now: {uploads.get(ThumbStatus.MADE, 0)} with thumbnails, "
            f"{uploads.get(ThumbStatus.NONE, 0)} of a kind without, "
            f"{uploads.get(ThumbStatus.FAILED, 0)} failed, "
            f"{uploads.get(ThumbStatus.PENDING, 0)} still waiting."
        )
