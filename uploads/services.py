"""Keeping uploaded files, and turning bytes into FLORA assets at most once.

    upload = keep_upload(team, user, prepared)            # stored once per content
    asset = asset_for(client, team=team, workspace_id=ws, source=Source.of_upload(upload))

`asset_for` reuses the team's ready asset for the same bytes in the same workspace; only
otherwise does it call FLORA (`client.assets.upload`: multipart up to 4 MB, the signed-url
flow above, polled until ready), with an idempotency key derived from the content, so a
retry after a lost answer does not make a second asset where FLORA honours keys.

The caller passes the client (teams.services.interactive_client while a person waits:
the team's bulkhead and breaker). The bytes of a large file take longer than a page's
deadline to send, so `upload_client` gives that one call a longer deadline, bounded by
MAX_UPLOAD_DEADLINE and scaled by size (a floor of UPLOAD_RATE_FLOOR bytes per second).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from flora import FloraError
from florasite.lib.flora_words import problem_for
from teams.services import interactive_client
from uploads.models import AssetStatus, FloraAsset, Upload

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from flora import Flora
    from teams.models import Team
    from uploads.validation import Prepared

__all__ = [
    "MAX_UPLOAD_DEADLINE",
    "AssetFailed",
    "Source",
    "asset_for",
    "keep_upload",
    "read_upload",
    "upload_client",
]

logger = logging.getLogger(__name__)

# A person waits for the upload: at most this long, however large the file.
MAX_UPLOAD_DEADLINE = 120.0
UPLOAD_RATE_FLOOR = 2 * 1024 * 1024
POLL_TIMEOUT = 30.0
POLL_INTERVAL = 0.5


class AssetFailed(Exception):
    """FLORA did not make a usable asset; str() says why, in words for the field."""


@dataclass(frozen=True)
class Source:
    """Bytes to make an asset of: their checksum, and how to read them when needed."""

    sha256: str
    file_name: str
    content_type: str
    size: int
    read: Callable[[], bytes]
    upload: Upload | None = None

    @classmethod
    def of_upload(cls, upload: Upload) -> Source:
        return cls(
            sha256=upload.sha256,
            file_name=upload.original_name,
            content_type=upload.content_type,
            size=upload.size,
            read=lambda: read_upload(upload),
            upload=upload,
        )


def read_upload(upload: Upload) -> bytes:
    with default_storage.open(upload.file.name, "rb") as handle:
        return handle.read()


def keep_upload(team: Team, user: AbstractBaseUser | None, prepared: Prepared) -> Upload:
    """The team's Upload of these bytes: the one already kept, or a new one."""
    existing = Upload.objects.filter(team=team, sha256=prepared.sha256).first()
    if existing is not None:
        return existing
    upload = Upload(
        team=team,
        uploaded_by=user if user is not None and user.is_authenticated else None,
        sha256=prepared.sha256,
        size=prepared.size,
        content_type=prepared.content_type,
        kind=prepared.kind,
        width=prepared.width,
        height=prepared.height,
        original_name=prepared.name[:120],
        location_removed=prepared.location_removed,
    )
    upload.file.save(prepared.name, ContentFile(prepared.data), save=False)
    try:
        with transaction.atomic():
            upload.save()
    except IntegrityError:
        # The same bytes uploaded at the same moment by another request: keep theirs.
        default_storage.delete(upload.file.name)
        return Upload.objects.get(team=team, sha256=prepared.sha256)
    return upload


def upload_client(team: Team, size: int) -> Flora:
    """The interactive client (the team's bulkhead and breaker), with a deadline long
    enough to send `size` bytes at the rate floor, never more than MAX_UPLOAD_DEADLINE."""
    deadline = min(MAX_UPLOAD_DEADLINE, settings.FLORA_PAGE_DEADLINE + size / UPLOAD_RATE_FLOOR)
    return interactive_client(team).with_options(deadline=deadline)


def _idempotency_key(team: Team, workspace_id: str, sha256: str, after: str) -> str:
    # The same bytes for the same workspace are one intent; after a failed asset, a new one.
    raw = f"asset:{team.pk}:{workspace_id}:{sha256}:{after}"
    return "fs-asset-" + hashlib.sha256(raw.encode()).hexdigest()[:48]


def _assets(client: Flora) -> Any:
    """The client's assets resource (the seam tests replace with a fake)."""
    return client.assets  # type: ignore[attr-defined]


def asset_for(client: Flora, *, team: Team, workspace_id: str, source: Source) -> FloraAsset:
    """A ready FLORA asset of these bytes in this workspace; AssetFailed otherwise."""
    known = FloraAsset.objects.filter(
        team=team, workspace_id=workspace_id, sha256=source.sha256
    ).first()
    if known is not None and known.status == AssetStatus.READY:
        return known
    after = known.asset_id if known is not None else ""
    try:
        # POST /assets (multipart or signed-url + POST /assets/{id}/complete), then
        # GET /assets/{id} until ready: the client picks by size.
        asset = _assets(client).upload(
            source.read(),
            workspace_id=workspace_id,
            file_name=source.file_name,
            content_type=source.content_type,
            idempotency_key=_idempotency_key(team, workspace_id, source.sha256, after),
            poll_interval=POLL_INTERVAL,
            poll_timeout=POLL_TIMEOUT,
        )
    except FloraError as exc:
        logger.warning(
            "Upload of %s to FLORA for team %s failed: %s",
            source.sha256[:12],
            team.slug,
            exc.__class__.__name__,
        )
        raise AssetFailed(f"The file was not sent to FLORA: {problem_for(exc).message}") from exc
    except ValueError as exc:
        raise AssetFailed(f"The file was not sent to FLORA: {exc}") from exc
    status = str(getattr(asset.status, "value", asset.status))
    url = asset.url or ""
    row, _ = FloraAsset.objects.update_or_create(
        team=team,
        workspace_id=workspace_id,
        sha256=source.sha256,
        defaults={
            "asset_id": asset.asset_id,
            "url": url,
            "status": status if status in AssetStatus.values else AssetStatus.FAILED,
            "upload": source.upload,
        },
    )
    if row.status != AssetStatus.READY or not url:
        reason = asset.failure_message or "it could not be processed"
        raise AssetFailed(f"FLORA did not accept the file: {reason}.")
    return row
