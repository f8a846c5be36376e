"""Thumbnails of kept outputs: made once, in the worker, from the kept copy.

Pages never resize a full file: the gallery, boards and the run page show one of two fixed
sizes (SIZES, the longest side in pixels), WebP, stored beside the kept copies under a name
made of the kept file's checksum (so a thumbnail's URL never needs to change, and can be
cached for a year). Only images get one: ffmpeg is not on the machine, so a video has a
typed tile instead of a poster frame (as have audio, text and documents).

Decoding is guarded (florasite.lib.thumbs, shared with uploads.thumbnails): an image whose
header claims more than MAX_PIXELS is refused before a byte of it is decoded (a decompression
bomb), and anything Pillow cannot read is recorded as failed, for good: a second attempt
would read the same bytes. Storage errors are retried, at most MAX_ATTEMPTS times in all, by
the periodic job (runs.apps, every THUMBS_EVERY), which makes uploads' thumbnails too.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from florasite.lib.thumbs import (
    MAX_PIXELS,
    SIZES,
    Refused,
    is_thumbnailable,
    make_and_store,
    render,
    thumb_box,
)
from runs.models import OutputKeepStatus, RunOutput, ThumbStatus

__all__ = [
    "MAX_PIXELS",
    "SIZES",
    "Refused",
    "make_due_thumbnails",
    "make_thumbnail",
    "render",
    "thumb_box",
]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BATCH = 50
# An attempt holds its output this long: nobody else starts one meanwhile (a render takes
# well under a second), and one whose worker died is taken over after it. Kept outputs no
# longer need RunOutput.next_attempt_at for their copy (runs.keeping clears it), so the
# thumbnail's attempt uses it.
CLAIM_LEASE = timedelta(minutes=2)


def _is_image(output: RunOutput) -> bool:
    return is_thumbnailable(output.content_type)


def _due() -> Q:
    return Q(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()),
        keep_status=OutputKeepStatus.KEPT,
        thumb_status=ThumbStatus.PENDING,
        thumb_attempts__lt=MAX_ATTEMPTS,
    )


def _claim(output: RunOutput) -> bool:
    """One attempt, for this worker: an UPDATE that only the first caller wins, and that no
    other caller can win again until the attempt ends or its lease runs out (otherwise a
    second worker's periodic pass started a second attempt while the first was rendering,
    and both stored the thumbnails)."""
    return (
        RunOutput.objects.filter(_due(), pk=output.pk, thumb_attempts=output.thumb_attempts).update(
            thumb_attempts=F("thumb_attempts") + 1,
            next_attempt_at=timezone.now() + CLAIM_LEASE,
        )
        == 1
    )


def _finish(output: RunOutput, **fields: object) -> None:
    RunOutput.objects.filter(
        pk=output.pk, thumb_status=ThumbStatus.PENDING, thumb_attempts=output.thumb_attempts + 1
    ).update(next_attempt_at=None, **fields)


def make_thumbnail(output_pk: int) -> str:
    """Make the thumbnails of one kept output, once. Returns the thumb status afterwards, or
    "skipped" when there was nothing to do (made already, not kept, another worker's)."""
    output = RunOutput.objects.filter(_due(), pk=output_pk).first()
    if output is None or not _claim(output):
        return "skipped"
    if output.type == "text" or not output.file or not _is_image(output):
        _finish(output, thumb_status=ThumbStatus.NONE)
        return ThumbStatus.NONE
    try:
        key = output.sha256 or f"output-{output.pk}"
        stored, (width, height) = make_and_store(output.file.name, key)
    except Refused as exc:
        logger.warning("No thumbnail for output %s: %s", output.pk, exc)
        _finish(output, thumb_status=ThumbStatus.FAILED, thumb_error=str(exc)[:300])
        return ThumbStatus.FAILED
    except Exception:
        logger.exception("Could not make the thumbnails of output %s", output.pk)
        final = output.thumb_attempts + 1 >= MAX_ATTEMPTS
        _finish(
            output,
            thumb_status=ThumbStatus.FAILED if final else ThumbStatus.PENDING,
            thumb_error="The thumbnail could not be read or written in storage.",
        )
        return ThumbStatus.FAILED if final else ThumbStatus.PENDING
    _finish(
        output,
        thumb_status=ThumbStatus.MADE,
        thumb_small=stored["small"],
        thumb_large=stored["large"],
        width=width,
        height=height,
        thumb_error="",
    )
    return ThumbStatus.MADE


def make_run_thumbnails(run_pk: int) -> dict[str, int]:
    """Every due thumbnail of one run (the task queued after its copies are kept)."""
    outcome: dict[str, int] = {}
    for pk in RunOutput.objects.filter(_due(), run_id=run_pk).values_list("pk", flat=True):
        status = make_thumbnail(pk)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def make_due_thumbnails(limit: int = BATCH) -> int:
    """Up to `limit` outputs still waiting (the periodic job, and backfill_thumbnails)."""
    pks = list(
        RunOutput.objects.filter(_due())
        .order_by("thumb_attempts", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in pks:
        try:
            if make_thumbnail(pk) != "skipped":
                done += 1
        except Exception:  # one bad row must not stop the batch
            logger.exception("Making the thumbnail of output %s failed", pk)
    return done
