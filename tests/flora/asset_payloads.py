"""Asset answers as FLORA gives them (field names from the official SDK 0.11.0), and a
multipart reader for what the client sent."""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

import httpx

from tests.flora.flora_payloads import BASE_URL

SIGNED_TARGET = "https://uploads.flora.test/bucket"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def reservation_json(asset_id: str = "asset_abc123", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asset_id": asset_id,
        "status": "ready",
        "uploaded_via": "direct",
        "url": f"https://cdn.flora.test/assets/{asset_id}/photo.png",
        "visibility": "workspace",
        "workspace_id": "ws_abc123",
    }
    body.update(overrides)
    return body


def signed_reservation_json(asset_id: str = "asset_big", **overrides: Any) -> dict[str, Any]:
    return reservation_json(
        asset_id,
        status="pending_upload",
        uploaded_via="signed_url",
        expires_at="2026-12-02T14:00:00Z",
        upload={
            "url": SIGNED_TARGET,
            "method": "POST",
            "file_field": "file",
            "form_fields": {"key": f"uploads/{asset_id}", "policy": "p0l1cy"},
            "content_type": "multipart/form-data",
        },
        **overrides,
    )


def asset_json(asset_id: str = "asset_abc123", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asset_id": asset_id,
        "content_type": "image/png",
        "created_at": "2026-12-02T13:00:00.000Z",
        "description": None,
        "failure_message": None,
        "height": 480,
        "width": 640,
        "name": "photo.png",
        "size_bytes": 72,
        "status": "ready",
        "upload_content_type": "image/png",
        "uploaded_via": "direct",
        "url": f"https://cdn.flora.test/assets/{asset_id}/photo.png",
        "workspace_id": "ws_abc123",
    }
    body.update(overrides)
    return body


def multipart(request: httpx.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """(text fields, files as (file name, bytes, content type)) of a multipart request."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = f"Content-Type: {content_type}\r\n\r\n".encode() + request.content
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode()
        else:
            files[name] = (filename, payload, part.get_content_type())
    return fields, files


__all__ = ["BASE_URL", "PNG", "SIGNED_TARGET", "asset_json", "multipart", "reservation_json"]
