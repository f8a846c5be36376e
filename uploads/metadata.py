"""Removing where a photo was taken (and the rest of its EXIF) before it leaves the browser's
hands for storage and FLORA.

    cleaned, removed, (width, height) = clean_image(data, "JPEG")

The orientation is applied to the pixels, so the picture still stands the right way up once
its EXIF is gone. Whenever possible the pixels are left as they are:

- JPEG upright: the APP1 (EXIF, XMP) and APP13 (IPTC) segments are cut out of the file,
  byte for byte; the compressed image data is not touched. An MPO (a JPEG with more
  pictures appended, each with its own EXIF) keeps only its first picture.
- WebP upright: the EXIF and XMP chunks are cut out of the RIFF container.
- PNG: re-encoded (losslessly) without its eXIf and text chunks.
- AVIF, and any photo that must be turned: re-encoded without metadata (the ICC colour
  profile is kept).
- GIF: carries no EXIF; kept as it is.

A file with no metadata to remove is returned unchanged.
"""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageOps

__all__ = ["clean_image"]

ORIENTATION = 0x0112
# APP1 holds EXIF and XMP (both can name a place); APP13 holds IPTC/Photoshop data.
_JPEG_DROP = {0xE1, 0xED}
_WEBP_DROP = {b"EXIF", b"XMP "}


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ORIENTATION, 1) or 1)
    except (ValueError, TypeError, SyntaxError):
        return 1


def _has_metadata(image: Image.Image, image_format: str) -> bool:
    info = image.info
    if image_format == "PNG":
        return bool(info.get("exif")) or any(
            key not in ("icc_profile", "transparency", "gamma", "dpi", "aspect", "srgb")
            and isinstance(value, str | bytes)
            for key, value in info.items()
        )
    return bool(info.get("exif") or info.get("xmp") or info.get("photoshop"))


def _scan_end(data: bytes, position: int) -> int:
    """Where the entropy-coded data starting at `position` ends: the next marker that is
    not a stuffed byte (FF00), a restart (FFD0-FFD7) or fill (FFFF)."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            raise ValueError("JPEG without an end")
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


def _strip_jpeg(data: bytes) -> bytes:
    """The primary image only: no EXIF/XMP/IPTC segment, no MPF index, and nothing after
    its end (the other pictures of an MPO, makers' trailers: each may carry a location)."""
    out = bytearray(data[:2])
    position = 2
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            raise ValueError("not a JPEG segment")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:  # end of image: anything after it is dropped
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[position : position + 2]
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("truncated JPEG segment")
        segment = data[position:end]
        mpf = marker == 0xE2 and segment[4:8] == b"MPF\x00"
        if marker not in _JPEG_DROP and not mpf:
            out += segment
        position = end
        if marker == 0xDA:  # start of scan: copy its data up to the next marker
            scan_end = _scan_end(data, position)
            out += data[position:scan_end]
            position = scan_end
    raise ValueError("JPEG without an end")


def _strip_webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
    chunks = []
    position = 12
    # Only the RIFF body: bytes appended after it are dropped with the metadata.
    (riff_size,) = struct.unpack("<I", data[4:8])
    data = data[: 8 + riff_size]
    while position + 8 <= len(data):
        fourcc = data[position : position + 4]
        (size,) = struct.unpack("<I", data[position + 4 : position + 8])
        end = position + 8 + size + (size & 1)
        if end > len(data) + (size & 1):
            raise ValueError("truncated WebP chunk")
        chunk = bytearray(data[position:end])
        if fourcc == b"VP8X" and len(chunk) >= 9:
            chunk[8] &= ~(0x08 | 0x04) & 0xFF  # the EXIF and XMP flags
        if fourcc not in _WEBP_DROP:
            chunks.append(bytes(chunk))
        position = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _reencode(image: Image.Image, image_format: str) -> bytes:
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if image_format == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=95, subsampling=0)
    elif image_format == "PNG":
        if "transparency" in image.info and upright.mode in ("P", "L", "RGB"):
            options["transparency"] = image.info["transparency"]
    elif image_format in ("WEBP", "AVIF"):
        options["quality"] = 95
    if getattr(image, "is_animated", False) and image_format in ("PNG", "WEBP", "AVIF", "GIF"):
        # Every frame, as they are (turning an animation is left to the browser's EXIF-less
        # default: animations with an orientation tag are vanishingly rare).
        image.save(buffer, image_format, save_all=True, **options)
        return buffer.getvalue()
    upright.save(buffer, image_format, **options)
    return buffer.getvalue()


def clean_image(data: bytes, image_format: str) -> tuple[bytes, bool, tuple[int, int]]:
    """(bytes without metadata, whether any was removed, (width, height) upright).

    Raises OSError/ValueError for a file that cannot be decoded to the end."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # decode it all: a truncated file fails here, not at FLORA
        orientation = _orientation(image)
        width, height = image.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if image_format == "MPO":
            # A JPEG with more pictures appended (depth maps, previews), each with its EXIF.
            if orientation == 1:
                return _strip_jpeg(data), True, (width, height)
            return _reencode(image, "JPEG"), True, (width, height)
        if image_format == "GIF" or not _has_metadata(image, image_format):
            return data, False, (width, height)
        if orientation == 1 and image_format == "JPEG":
            return _strip_jpeg(data), True, (width, height)
        if orientation == 1 and image_format == "WEBP":
            return _strip_webp(data), True, (width, height)
        return _reencode(image, image_format), True, (width, height)
