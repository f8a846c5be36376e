"""Asset URLs as run inputs: the sandbox's own asset URLs are checked against the asset.

FLORA's run inputs take https URLs; an asset's URL is one of them. The sandbox serves asset
files itself, on plain http in local runs, so its run validation recognises its own asset
URLs (same origin as the request, the asset file path) and accepts them on either scheme,
as long as the asset is the key's, ready, and of the input's kind.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.urls import reverse

from sandbox import clock
from sandbox.asset_render import file_segment
from sandbox.catalog import IMAGE, VIDEO
from sandbox.models import SandboxAsset

_KINDS = {IMAGE: ("image/", "an image"), VIDEO: ("video/", "a video")}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _asset_path_prefix() -> str:
    return reverse("sandbox:asset-file", args=["a", "b"])[: -len("a/b")]


def own_asset(url: str, origin: str | None) -> tuple[str, str] | None:
    """(asset id, file name) when `url` is one of this sandbox's asset URLs, else None."""
    if not origin:
        return None
    try:
        if _origin(url) != _origin(origin):
            return None
        path = urlsplit(url).path
    except ValueError:
        return None
    prefix = _asset_path_prefix()
    if not path.startswith(prefix):
        return None
    asset_id, _, name = path[len(prefix) :].partition("/")
    return (unquote(asset_id), unquote(name)) if asset_id and name and "/" not in name else None


def input_problem(url: str, kind: str, workspace_ids: list[str], origin: str | None) -> str | None:
    """Why this asset URL cannot be the input (None: it can). Only call for own_asset URLs."""
    from sandbox.assets import refresh  # assets imports validation

    found = own_asset(url, origin)
    assert found is not None
    asset_id, name = found
    asset = (
        SandboxAsset.objects.filter(asset_id=asset_id, workspace_id__in=workspace_ids)
        .defer("data")
        .first()
    )
    if asset is None or (asset.status == "ready" and file_segment(asset) != name):
        return f"Asset {asset_id} not found (it is not one of this API key's assets)"
    asset = refresh(asset, clock.now())
    if asset.status == "pending_upload":
        return f"Asset {asset_id} is still pending_upload: upload its file and complete it first"
    if asset.status != "ready":
        reason = f" ({asset.failure_message})" if asset.failure_message else ""
        return f"Asset {asset_id} failed{reason}; it cannot be a run input"
    prefix, words = _KINDS.get(kind, ("", ""))
    if prefix and not asset.content_type.startswith(prefix):
        return f"Asset {asset_id} is {asset.content_type}, not {words}"
    return None
