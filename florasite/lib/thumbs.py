"""Thumbnails from bytes: WebP in two fixed sizes, decoding guarded. Plumbing: no app.

Shared by runs.thumbnails (kept outputs) and uploads.thumbnails (files members uploaded):
both store what render() makes and record whether it worked. An image whose header claims
more than MAX_PIXELS is refused before a byte of it is decoded (a decompression bomb), and
anything Pillow cannot read is Refused, for good: a second attempt would read the same bytes.
"""

from __future__ import annotations

import io
import logging
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "MAX_PIXELS",
    "SIZES",
    "Refused",
    "is_thumbnailable",
    "made_again",
    "make_and_store",
    "serve",
    "serve_row",
    "render",
    "thumb_box",
]

logger = logging.getLogger(__name__)

SIZES = {"small": 320, "large": 640}
# 50 megapixels: a 7000 x 7000 image still gets one; a 1 GB pixel bomb is refused unread.
MAX_PIXELS = 50_000_000
QUALITY = 80


class Refused(Exception):
    """This file cannot be made into a thumbnail, now or ever."""


def is_thumbnailable(content_type: str) -> bool:
    """An image Pillow may read (SVG is not one: it is never rasterised here)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("image/") and media != "image/svg+xml"


def thumb_box(width: int | None, height: int | None, size: str) -> tuple[int, int]:
    """The thumbnail's own width and height for an image of width x height (for <img>)."""
    longest = SIZES[size]
    if not width or not height:
        return longest, longest
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise Refused("The image is too large to make a thumbnail of.") from exc
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise Refused("The file is not an image this site can read.") from exc
    if image.width * image.height > MAX_PIXELS:
        raise Refused(
            f"The image is {image.width} x {image.height} pixels, more than a thumbnail is "
            f"made of ({MAX_PIXELS // 1_000_000} megapixels)."
        )
    return image


def render(data: bytes) -> tuple[dict[str, bytes], tuple[int, int]]:
    """WebP bytes per size, and the image's own size (turned as its EXIF says)."""
    image = _open(data)
    try:
        image.seek(0)  # an animated GIF or WebP: its first frame
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except Exception as exc:  # a truncated or corrupt file fails on decoding
        raise Refused("The image could not be decoded.") from exc
    mode = "RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB"
    image = image.convert(mode)
    made: dict[str, bytes] = {}
    for name, longest in sorted(SIZES.items(), key=lambda item: -item[1]):
        copy = image.copy()
        copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        copy.save(buffer, "WEBP", quality=QUALITY, method=4)
        made[name] = buffer.getvalue()
    return made, image.size


def make_and_store(file_name: str, key: str) -> tuple[dict[str, str], tuple[int, int]]:
    """Render the stored file `file_name` and store its thumbnails by `key` (its checksum):
    ({size: storage name}, (width, height)). Files with the same bytes (an upload that is also
    a kept output, the same file kept twice) share one set. Refused for a file that can never
    have one; any other exception is storage failing, worth another attempt."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    with default_storage.open(file_name, "rb") as handle:
        data = handle.read()
    made, size = render(data)
    stored = {}
    for name, body in made.items():
        target = f"thumbs/{key[:2]}/{key}-{SIZES[name]}.webp"
        if not default_storage.exists(target):
            saved = default_storage.save(target, ContentFile(body))
            if saved != target:
                # Someone stored it between the check and the save (the same key, so the
                # same bytes): keep one copy, not a second under a suffixed name.
                default_storage.delete(saved)
        stored[name] = target
    return stored, size


def made_again(rows):
    """For `serve`'s `missing`: the row (a queryset of one output or upload, with the
    thumbnail columns both have) is set to have its thumbnails made again, by the periodic
    job that makes pending ones (within 30 s). Only a row still naming what was missing."""

    def forget() -> None:
        rows.filter(thumb_status="made").update(
            thumb_status="pending", thumb_small="", thumb_large="", thumb_attempts=0, thumb_error=""
        )

    return forget


def serve_row(request, row, size: str, *, cache_control: str, what: str):
    """`serve` for a row with thumbnail columns (a kept output, an upload): its `size`
    ("small" or "large") thumbnail, made again when found missing from storage."""
    name = {"small": row.thumb_small, "large": row.thumb_large}.get(size)
    if not row.has_thumb:
        name = ""
    same_row = type(row)._default_manager.filter(pk=row.pk, thumb_small=row.thumb_small)
    return serve(
        request,
        name or "",
        row.sha256,
        size,
        cache_control=cache_control,
        what=what,
        missing=made_again(same_row),
    )


def serve(
    request, name: str, sha256: str, size: str, *, cache_control: str, what: str, missing=None
):
    """A stored thumbnail (`name`, "" when there is none) as WebP. The ETag is the source
    file's checksum, so a reload is answered 304 without the bytes. Http404 in words.

    A name whose file is gone from storage (a bucket copied without its thumbnails, a file
    deleted by hand, or a thumbnail shared by content whose other owner was just deleted,
    florasite.discards) calls `missing` (see `made_again`): the next page shows the
    placeholder, then the thumbnail made again."""
    from django.http import FileResponse, Http404, HttpResponse

    from florasite.lib import media

    if not name:
        raise Http404(f"This {what} has no thumbnail.")
    etag = f'"t{size[0]}-{sha256[:24]}"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers=headers)
    # Always streamed from here, never a signed URL: this answer is cached for a year at a
    # URL naming the file's checksum, and a redirect could not be (its target expires).
    try:
        handle = media.open_range(name)
    except OSError as exc:
        if missing is None:
            raise Http404("The thumbnail is missing from storage.") from exc
        logger.warning("The %s's thumbnail %s is missing from storage; made again", what, name)
        missing()
        raise Http404("The thumbnail is missing from storage; it is being made again.") from exc
    return FileResponse(handle, content_type="image/webp", headers=headers)
