"""Thumbnails of uploads, for the gallery: made once, in the worker, from the kept file.

The same render as a kept output's (florasite.lib.thumbs: two WebP sizes, decoding guarded),
stored under thumbs/ by the file's checksum, so an upload whose bytes are also a kept output
shares its thumbnails. Only images get one; a video has a typed tile. Made by the periodic
runs.thumbs job (runs.tasks, which imports this module: uploads import no runs), by
uploads.tasks right after an upload is kept, and by `manage.py backfill_thumbnails`.
"""

from __future__ import annotations

import logging

from django.db.models import F, Q

from florasite.lib.thumbs import Refused, is_thumbnailable, make_and_store
from uploads.models import ThumbStatus, Upload

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BATCH = 50


def _due() -> Q:
    return Q(thumb_status=ThumbStatus.PENDING, thumb_attempts__lt=MAX_ATTEMPTS)


def _claim(upload: Upload) -> bool:
    """One attempt, for this worker: an UPDATE that only the first caller wins."""
    return (
        Upload.objects.filter(_due(), pk=upload.pk, thumb_attempts=upload.thumb_attempts).update(
            thumb_attempts=F("thumb_attempts") + 1
        )
        == 1
    )


def _finish(upload: Upload, **fields: object) -> None:
    Upload.objects.filter(
        pk=upload.pk, thumb_status=ThumbStatus.PENDING, thumb_attempts=upload.thumb_attempts + 1
    ).update(**fields)


def make_upload_thumbnail(upload_pk: int) -> str:
    """Make one upload's thumbnails, once; the status afterwards, or "skipped"."""
    upload = Upload.objects.filter(_due(), pk=upload_pk).first()
    if upload is None or not _claim(upload):
        return "skipped"
    if not upload.file or not is_thumbnailable(upload.content_type):
        _finish(upload, thumb_status=ThumbStatus.NONE)
        return ThumbStatus.NONE
    try:
        stored, _size = make_and_store(upload.file.name, upload.sha256 or f"upload-{upload.pk}")
    except Refused as exc:
        logger.warning("No thumbnail for upload %s: %s", upload.pk, exc)
        _finish(upload, thumb_status=ThumbStatus.FAILED, thumb_error=str(exc)[:300])
        return ThumbStatus.FAILED
    except Exception:
        logger.exception("Could not make the thumbnails of upload %s", upload.pk)
        final = upload.thumb_attempts + 1 >= MAX_ATTEMPTS
        _finish(
            upload,
            thumb_status=ThumbStatus.FAILED if final else ThumbStatus.PENDING,
            thumb_error="The thumbnail could not be read or written in storage.",
        )
        return ThumbStatus.FAILED if final else ThumbStatus.PENDING
    _finish(
        upload,
        thumb_status=ThumbStatus.MADE,
        thumb_small=stored["small"],
        thumb_large=stored["large"],
        thumb_error="",
    )
    return ThumbStatus.MADE


def make_due_upload_thumbnails(limit: int = BATCH) -> int:
    """Up to `limit` uploads still waiting (the periodic job, and backfill_thumbnails)."""
    pks = list(
        Upload.objects.filter(_due())
        .order_by("thumb_attempts", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in pks:
        try:
            if make_upload_thumbnail(pk) != "skipped":
                done += 1
        except Exception:  # one bad row must not stop the batch
            logger.exception("Making the thumbnail of upload %s failed", pk)
    return done
