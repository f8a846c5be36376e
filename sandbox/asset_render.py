"""Assets as the API shows them: reservations (create, complete, retry) and asset records."""

from __future__ import annotations

import datetime
import re

from django.http import HttpRequest
from django.urls import reverse

from sandbox import asset_types
from sandbox.models import SandboxAsset

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_segment(asset: SandboxAsset) -> str:
    """The last part of the asset's URL: its name made URL-safe, or asset.<ext>."""
    name = _UNSAFE.sub("-", asset.name).strip("-.")[:100]
    return name or f"asset.{asset_types.EXTENSIONS.get(asset.content_type, 'bin')}"


def file_url(request: HttpRequest, asset: SandboxAsset) -> str:
    path = reverse("sandbox:asset-file", args=[asset.asset_id, file_segment(asset)])
    return request.build_absolute_uri(path)


def form_fields(asset: SandboxAsset) -> dict[str, str]:
    return {"key": f"assets/{asset.asset_id}", "success_action_status": "204"}


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reservation_to_api(
    request: HttpRequest, asset: SandboxAsset, token: str | None = None, *, created: bool = False
) -> dict:
    """The answer to create, complete and retry (the SDK's AssetCreateResponse)."""
    ready = asset.status == "ready"
    data: dict = {
        "asset_id": asset.asset_id,
        "status": asset.status,
        "uploaded_via": asset.uploaded_via,
        # The SDK types create's url as always present: it is where the file will be.
        "url": file_url(request, asset) if ready or created else None,
        "visibility": "workspace",
        "workspace_id": asset.workspace_id,
    }
    if asset.failure_message:
        data["failure_message"] = asset.failure_message
    if token is not None and asset.expires_at is not None:
        data["expires_at"] = _iso(asset.expires_at)
        data["upload"] = {
            "url": request.build_absolute_uri(reverse("sandbox:asset-upload", args=[token])),
            "method": "POST",
            "file_field": "file",
            "form_fields": form_fields(asset),
            "content_type": "multipart/form-data",
        }
    return data


def asset_to_api(request: HttpRequest, asset: SandboxAsset, *, list_item: bool = False) -> dict:
    """GET /assets/{id} (created_at ISO 8601) and GET /assets items (unix seconds)."""
    data: dict = {
        "asset_id": asset.asset_id,
        "content_type": asset.content_type
        or asset.upload_content_type
        or "application/octet-stream",
        "created_at": int(asset.created_at) if list_item else _iso(asset.created_at),
        "description": None,
        "failure_message": asset.failure_message or None,
        "height": asset.height,
        "width": asset.width,
        "name": asset.name or None,
        "size_bytes": asset.size_bytes if asset.status == "ready" else None,
        "status": asset.status,
        "upload_content_type": asset.upload_content_type or None,
        "uploaded_via": asset.uploaded_via,
        "url": file_url(request, asset) if asset.status == "ready" else None,
        "workspace_id": asset.workspace_id,
    }
    if list_item:
        data["project_id"] = asset.project_id or None
        data["node_id"] = None
    return data
