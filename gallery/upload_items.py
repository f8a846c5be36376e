"""Uploads as gallery items (issue 15 meets 16): which of them a filter keeps, and their tiles.

An upload is a second kind of gallery item beside a kept output, in the same order (created_at,
then id) on its own index, upload_gallery (team, -created_at, -id); gallery.listing merges
the two. The filters that are about an upload apply to it: type (images, videos), member (who
uploaded it), dates, search (over its file name) and favourites (the member's stars on
uploads). Those about a run leave uploads out: a technique, and a type no upload has (audio,
text, documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from florasite.lib.thumbs import thumb_box
from runs.display import ThumbTile
from teams.models import Team
from uploads.models import ThumbStatus, Upload, UploadKind

# The gallery's type filter (RunOutput.type values) as an upload's kind.
KIND_OF_TYPE = {"imageUrl": UploadKind.IMAGE, "videoUrl": UploadKind.VIDEO}


def filtered_uploads(
    team: Team, data: dict[str, Any], day_start: Any, words: str
) -> QuerySet[Upload] | None:
    """The team's uploads these filters keep, or None when they keep none (no query)."""
    if data.get("technique"):
        return None
    uploads = Upload.objects.filter(team=team)
    # favourites: gallery.listing.keyset joins the member's stars, with the cursor.
    if data.get("type"):
        kind = KIND_OF_TYPE.get(data["type"])
        if kind is None:
            return None
        uploads = uploads.filter(kind=kind)
    if data.get("member"):
        uploads = uploads.filter(uploaded_by__username=data["member"])
    if data.get("date_from"):
        uploads = uploads.filter(created_at__gte=day_start(data["date_from"]))
    if data.get("date_to"):
        uploads = uploads.filter(created_at__lt=day_start(data["date_to"] + timedelta(days=1)))
    if words:
        uploads = uploads.filter(original_name__icontains=words)
    return uploads


@dataclass(frozen=True)
class UploadTile:
    upload: Upload
    thumb: ThumbTile
    kind: str
    file_url: str
    favourite: bool
    is_upload = True

    @property
    def dom_id(self) -> str:
        return f"tile-u{self.upload.pk}"

    @property
    def created_at(self) -> datetime:
        return self.upload.created_at


def upload_thumb(upload: Upload, size: str = "small") -> ThumbTile:
    label = upload.get_kind_display()
    alt = f"{label} uploaded: {upload.original_name}"
    width, height = thumb_box(upload.width, upload.height, size)
    if upload.has_thumb:
        url = reverse("uploads:thumb", args=[upload.public_id, size])
        return ThumbTile(url, width, height, alt, upload.kind, label)
    if upload.kind == UploadKind.VIDEO:
        note = "No poster frame: open the file to play it."
    elif upload.thumb_status == ThumbStatus.PENDING:
        note = "The thumbnail is not ready yet."
    else:
        note = "No thumbnail could be made."
    return ThumbTile("", width, height, alt, upload.kind, label, note)


def upload_tiles(rows: list[Upload], starred: set[int]) -> list[UploadTile]:
    """Tiles of uploads; `starred`: the pks of those the member starred."""
    return [
        UploadTile(
            upload=upload,
            thumb=upload_thumb(upload),
            kind=upload.kind,
            file_url=reverse("uploads:file", args=[upload.public_id]),
            favourite=upload.pk in starred,
        )
        for upload in rows
    ]
