"""Small files for upload tests, made in memory."""

from __future__ import annotations

import io

from PIL import Image

GPS = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def exif_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "Camera Inc"
    exif[GPS] = {1: "N", 2: (52.0, 22.0, 7.5), 3: "E", 4: (4.0, 53.0, 2.0)}
    return exif.tobytes()


def gradient(width: int = 48, height: int = 32) -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata(
        [(x * 5 % 256, y * 7 % 256, (x + y) % 256) for y in range(height) for x in range(width)]
    )
    return image


def encoded(
    fmt: str, *, gps: bool = False, orientation: int = 1, size=(48, 32), **options
) -> bytes:
    buffer = io.BytesIO()
    if gps:
        options["exif"] = exif_with_gps(orientation)
    gradient(*size).save(buffer, fmt, **options)
    return buffer.getvalue()


def png(**kwargs) -> bytes:
    return encoded("PNG", **kwargs)


def jpeg(**kwargs) -> bytes:
    return encoded("JPEG", quality=90, **kwargs)


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 200
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00" + b"\x00" * 200
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 200
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
