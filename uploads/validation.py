"""What a file really is, before anything is stored or sent to FLORA.

    prepared = prepare(data, name="photo.png", kind="image")   # or raises Refused

The type is read from the bytes, never from the name or the browser's content type: an
image must open and verify with Pillow (then be opened again, since verify() spends the
image), a video must start with the magic bytes of MP4, QuickTime or WebM. Sizes, pixel
counts and decompression bombs are refused with a sentence a person can act on. A photo
that carries metadata is cleaned (uploads.metadata): no GPS position or other EXIF leaves
the dashboard.

Pure: no database, no network, no Django settings.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from uploads.metadata import clean_image

__all__ = [
    "IMAGE_TYPES",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "MAX_VIDEO_BYTES",
    "VIDEO_TYPES",
    "Prepared",
    "Refused",
    "prepare",
    "safe_name",
    "set_pixel_limit",
]

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_VIDEO_BYTES = 200 * 1024 * 1024
# FLORA's limit for image assets.
MAX_PIXELS = 150_000_000
# Pillow's format names -> the content types FLORA accepts for images.
IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    # Pillow's name for a JPEG with more pictures appended (cameras, phones): kept as a JPEG
    # of its first picture (uploads.metadata).
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
}
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
ACCEPTED_IMAGES = "JPEG, PNG, WebP, GIF, AVIF"
ACCEPTED_VIDEOS = "MP4, MOV (QuickTime), WebM"
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}
# What a file named like this would be expected to be, for "a GIF renamed .png".
_NAMED = {
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "gif": "GIF",
    "avif": "AVIF",
    "heic": "HEIC",
    "heif": "HEIC",
    "mp4": "MP4",
    "m4v": "MP4",
    "mov": "MOV",
    "webm": "WebM",
}
_WORDS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "AVIF": "AVIF"}


class Refused(ValueError):
    """The file cannot be used; str() is the sentence to show beside the field."""


@dataclass(frozen=True)
class Prepared:
    """A file that may be stored and sent: its cleaned bytes and what they are."""

    data: bytes
    kind: str  # "image" or "video"
    content_type: str
    name: str
    sha256: str
    width: int | None = None
    height: int | None = None
    location_removed: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


def set_pixel_limit() -> None:
    """Pillow's decompression-bomb guard at FLORA's limit (a process-wide setting): above
    it Pillow warns, above twice it raises; prepare() refuses both."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def safe_name(name: str, content_type: str) -> str:
    """A file name safe to store and show: no folders, no control characters, ASCII-ish,
    at most 100 characters, with the extension of what the file really is."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "", stem).strip(" .-_")[:80] or "upload"
    return f"{stem}.{_EXTENSIONS.get(content_type, 'bin')}"


def _named_as(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _NAMED.get(extension, "")


def _video_type(data: bytes) -> str | None:
    head = data[:64]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        # EBML: WebM and Matroska share it; the doctype says which.
        return "video/webm" if b"webm" in data[:4096] else None
    return None


def _is_heic(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heif", b"mif1", b"msf1")


def _not_an_image(data: bytes, name: str) -> Refused:
    named = _named_as(name)
    if _is_heic(data):
        return Refused(
            "This is a HEIC photo. HEIC can carry where it was taken, and the dashboard "
            "cannot remove that yet: export it as JPEG (on an iPhone: Settings > Camera > "
            "Formats > Most Compatible) and upload that."
        )
    video = _video_type(data)
    if video:
        return Refused("This file is a video, not an image: use it in a video input.")
    what = "not an image FLORA accepts"
    if named and named not in ("HEIC", "MP4", "MOV", "WebM"):
        what = f"named like a {named} image, but its content is not one"
    return Refused(f"This file is {what} ({ACCEPTED_IMAGES}).")


def _prepare_image(data: bytes, name: str) -> Prepared:
    if len(data) > MAX_IMAGE_BYTES:
        raise Refused(
            f"This image is {_megabytes(len(data))}; images can be at most "
            f"{_megabytes(MAX_IMAGE_BYTES)}."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format or ""
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise _too_many_pixels(width, height)
                probe.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(
            f"This image has too many pixels to open safely (FLORA takes at most "
            f"{MAX_PIXELS // 1_000_000} megapixels)."
        ) from None
    except Refused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_an_image(data, name) from None
    content_type = IMAGE_TYPES.get(image_format)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if content_type is None:
        renamed = f" renamed .{extension}" if _named_as(name) else ""
        raise Refused(
            f"This file is a {image_format or 'kind of'} image{renamed}: not an image FLORA "
            f"accepts ({ACCEPTED_IMAGES}). Save it as PNG or JPEG and upload that."
        )
    word = _WORDS[image_format]
    if width < 1 or height < 1:
        raise Refused("This image has no pixels.")
    try:
        cleaned, removed, (width, height) = clean_image(data, image_format)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Refused(f"This {word} image is damaged: it cannot be read to the end.") from None
    return Prepared(
        data=cleaned,
        kind="image",
        content_type=content_type,
        name=safe_name(name, content_type),
        sha256=hashlib.sha256(cleaned).hexdigest(),
        width=width,
        height=height,
        location_removed=removed,
    )


def _too_many_pixels(width: int, height: int) -> Refused:
    megapixels = width * height / 1_000_000
    return Refused(
        f"This image is {width} × {height} ({megapixels:.0f} megapixels); FLORA takes at most "
        f"{MAX_PIXELS // 1_000_000} megapixels. Scale it down and upload it again."
    )


def _prepare_video(data: bytes, name: str) -> Prepared:
    content_type = _video_type(data)
    if content_type is None:
        if _is_heic(data) or _looks_like_image(data):
            raise Refused("This file is an image, not a video: use it in an image input.")
        raise Refused(f"This file is not a video FLORA accepts ({ACCEPTED_VIDEOS}).")
    if len(data) > MAX_VIDEO_BYTES:
        raise Refused(
            f"This video is {_megabytes(len(data))}; videos can be at most "
            f"{_megabytes(MAX_VIDEO_BYTES)}."
        )
    return Prepared(
        data=data,
        kind="video",
        content_type=content_type,
        name=safe_name(name, content_type),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _looks_like_image(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[:4] == b"GIF8"


def prepare(data: bytes, *, name: str, kind: str) -> Prepared:
    """The file as it may be stored and sent, or Refused with the reason in words.

    `kind` is what the input takes: "image" or "video".
    """
    if not data:
        raise Refused("This file is empty.")
    if kind == "image":
        return _prepare_image(data, name)
    if kind == "video":
        return _prepare_video(data, name)
    raise Refused("This input does not take files.")
