"""What an uploaded file really is, read from its bytes: never from its name or declared type.

FLORA's allowed types (SDK 0.11.0): jpeg, png, webp, gif, avif, heic, heif images (at most
150 MP); mp4, webm, quicktime video; mpeg, wav, ogg audio; pdf.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAX_IMAGE_PIXELS = 150_000_000

IMAGE_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/avif",
    "image/heic",
    "image/heif",
)
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime")
AUDIO_TYPES = ("audio/mpeg", "audio/wav", "audio/ogg")
ALLOWED_TYPES = (*IMAGE_TYPES, *VIDEO_TYPES, *AUDIO_TYPES, "application/pdf")
ALLOWED_WORDS = "jpeg, png, webp, gif, avif, heic, heif, mp4, webm, quicktime, mp3, wav, ogg, pdf"

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/ogg": "ogg",
    "application/pdf": "pdf",
}
# Pillow reads these without a plugin (AVIF since Pillow 11.3); HEIC/HEIF sizes come from
# the file's `ispe` box instead.
_PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/avif": "AVIF",
}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


class AssetProblem(Exception):
    """Why these bytes cannot be an asset, in words for the `fields` message."""


@dataclass(frozen=True)
class Inspected:
    content_type: str
    width: int | None
    height: int | None


def _iso_brands(data: bytes) -> list[bytes]:
    """Major and compatible brands of an ISO base media file (`ftyp` box), else []."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return []
    size = struct.unpack(">I", data[:4])[0]
    end = min(max(size, 16), len(data), 256)
    brands = [data[8:12]]
    brands += [data[at : at + 4] for at in range(16, end - 3, 4)]
    return brands


def sniff(data: bytes) -> str | None:
    """The content type the bytes begin like, among FLORA's allowed types; None otherwise."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # Matroska and WebM share EBML; only the DocType "webm" is allowed.
        return "video/webm" if b"webm" in data[:64] else None
    brands = _iso_brands(data)
    if brands:
        major = brands[0]
        if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and _AVIF_BRANDS & set(brands)):
            return "image/avif"
        if major in _HEIC_BRANDS or (major in _HEIF_BRANDS and _HEIC_BRANDS & set(brands)):
            return "image/heic"
        if major in _HEIF_BRANDS:
            return "image/heif"
        if major == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if data[4:8] in _QUICKTIME_ATOMS and len(data) >= 8:
        # An old QuickTime file without `ftyp`: a plausible atom size, then a known atom.
        size = struct.unpack(">I", data[:4])[0]
        if size in (0, 1) or 8 <= size <= len(data):
            return "video/quicktime"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    # A bare MPEG audio frame (no ID3 tag): 11 sync bits, a known version, layer III (what
    # mp3 is; layers I/II would let a UTF-16 byte order mark pass), a usable bitrate and
    # sample rate.
    if len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
        bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
        if version != 0b01 and layer == 0b01 and bitrate not in (0, 15) and rate != 0b11:
            return "audio/mpeg"
    return None


def _heif_size(data: bytes) -> tuple[int | None, int | None]:
    # `ispe` (image spatial extents): version/flags, then width and height, 32 bits each.
    at = data.find(b"ispe", 0, 1 << 16)
    if at < 0 or at + 16 > len(data):
        return None, None
    width, height = struct.unpack(">II", data[at + 8 : at + 16])
    return width, height


def _pillow_size(data: bytes, content_type: str) -> tuple[int, int]:
    label = EXTENSIONS[content_type].upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]]) as image:
                return image.size
    except Image.DecompressionBombError:
        raise AssetProblem(f"The image has more than {MAX_IMAGE_PIXELS // 10**6} MP") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error):
        raise AssetProblem(
            f"The file starts like a {label} image but cannot be read (damaged or cut short)"
        ) from None


def inspect(data: bytes) -> Inspected:
    """The real type (and an image's size) of the bytes; AssetProblem when not allowed."""
    if not data:
        raise AssetProblem("The file is empty")
    content_type = sniff(data)
    if content_type is None:
        raise AssetProblem(
            f"Unsupported file type: the content is none of {ALLOWED_WORDS} "
            "(the type is read from the bytes, not the file name)"
        )
    width = height = None
    if content_type in _PILLOW_FORMATS:
        width, height = _pillow_size(data, content_type)
    elif content_type in IMAGE_TYPES:
        width, height = _heif_size(data)
    if width is not None and height is not None and width * height > MAX_IMAGE_PIXELS:
        megapixels = width * height / 10**6
        raise AssetProblem(
            f"The image is {width}x{height} ({megapixels:.0f} MP); "
            f"at most {MAX_IMAGE_PIXELS // 10**6} MP"
        )
    return Inspected(content_type, width, height)
