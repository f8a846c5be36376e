"""Files of every allowed type (real ones where Pillow can make them) and asset requests."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

from tests.sandbox.sandbox_helpers import BASE, DEMO


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims this size (no pixel data): cheap giant dimensions."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 64


def heic(width: int = 4032, height: int = 3024) -> bytes:
    ispe = b"ispe" + b"\x00" * 4 + struct.pack(">II", width, height)
    return ftyp(b"heic", b"mif1", b"heic") + struct.pack(">I", 8 + len(ispe) - 4) + ispe


SAMPLES: dict[str, bytes] = {
    "image/jpeg": image("JPEG"),
    "image/png": image("PNG"),
    "image/webp": image("WEBP"),
    "image/gif": image("GIF"),
    "image/avif": image("AVIF"),
    "image/heic": heic(),
    "image/heif": ftyp(b"mif1", b"mif1"),
    "video/mp4": ftyp(b"isom", b"isom", b"mp41"),
    "video/quicktime": ftyp(b"qt  ", b"qt  "),
    "video/webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 32,
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 16,
    "audio/wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32,
    "audio/ogg": b"OggS\x00\x02" + b"\x00" * 40,
    "application/pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
}


def post_file(
    api: Any,
    data: bytes,
    name: str = "photo.png",
    key: str | None = DEMO,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Any:
    """POST /assets as multipart: `file` plus the fields (workspace_id defaults to ws_demo)."""
    fields.setdefault("workspace_id", "ws_demo")
    upload = io.BytesIO(data)
    upload.name = name
    all_headers = {"Authorization": f"Bearer {key}"} if key else {}
    all_headers.update(headers or {})
    return api.client.post(BASE + "/assets", {**fields, "file": upload}, headers=all_headers)


def fields_of(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "input_validation_error"
    return {item["field"]: item["message"] for item in error["fields"]}
