"""Keeping uploaded files, and turning bytes into FLORA assets at most once.

    upload = keep_upload(team, user, prepared)            # stored once per content
    asset = asset_for(client, team=team, workspace_id=ws, source=Source.of_upload(upload))

`asset_for` reuses the team's ready asset for the same bytes in the same workspace; only
otherwise does it call FLORA (`client.assets.upload`: multipart up to 4 MB, the signed-url
flow above, polled until ready). The FloraAsset row is written first, with the create's
idempotency key: a retry after a lost answer or a slow upload resends the same key, and when
FLORA says it saw it, the asset is found by its content-tagged name (GET /assets?query=),
so one content never becomes two assets of one workspace.

The caller passes the client (teams.services.interactive_client while a person waits:
the team's bulkhead and breaker). The bytes of a large file take longer than a page's
deadline to send, so `upload_client` gives that one call a longer deadline, bounded by
MAX_UPLOAD_DEADLINE and scaled by size (a floor of UPLOAD_RATE_FLOOR bytes per second).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from flora import (
    AssetFailedError,
    AssetNotReadyError,
    FloraError,
    IdempotencyDuplicateError,
)
from florasite import discards
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


def _tagged(file_name: str, sha256: str) -> str:
    """The name FLORA is given: the file's, tagged with the content, so that an asset made
    by a create whose answer was lost can be found again (GET /assets?query=<tag>)."""
    stem, dot, extension = file_name.rpartition(".")
    if not dot:
        stem, extension = file_name, "bin"
    return f"{stem[:60]}-{sha256[:12]}.{extension}"


def _assets(client: Flora) -> Any:
    """The client's assets resource (the seam tests replace with a fake)."""
    return client.assets


def new_idempotency_key() -> str:
    return f"fs-asset-{secrets.token_hex(16)}"


def _pending_row(team: Team, workspace_id: str, source: Source) -> FloraAsset:
    row, _ = FloraAsset.objects.get_or_create(
        team=team,
        workspace_id=workspace_id,
        sha256=source.sha256,
        defaults={
            "status": AssetStatus.PENDING,
            "idempotency_key": new_idempotency_key(),
            "upload": source.upload,
        },
    )
    if row.status == AssetStatus.FAILED:
        # FLORA refused that asset: a new attempt is a new create, with a new key.
        row.status, row.asset_id, row.url = AssetStatus.PENDING, "", ""
        row.idempotency_key = new_idempotency_key()
        row.save(update_fields=["status", "asset_id", "url", "idempotency_key"])
    return row


def _record(row: FloraAsset, asset: Any) -> FloraAsset:
    status = str(getattr(asset.status, "value", asset.status))
    row.asset_id = asset.asset_id or row.asset_id
    row.url = asset.url or ""
    row.status = status if status in AssetStatus.values else AssetStatus.PENDING
    row.failure_message = (asset.failure_message or "")[:500]
    row.save(update_fields=["asset_id", "url", "status", "failure_message"])
    return row


def _found(resource: Any, row: FloraAsset, tag: str) -> Any | None:
    """The asset an earlier create with this row's key made (its answer was lost)."""
    if row.asset_id:
        # GET /assets/{id}
        return resource.retrieve(row.asset_id)
    # GET /assets?workspace_id=&query=<tag>
    page = resource.list(workspace_id=row.workspace_id, query=tag, limit=5)
    return next((asset for asset in page.items if (asset.name or "") == tag), None)


def asset_for(client: Flora, *, team: Team, workspace_id: str, source: Source) -> FloraAsset:
    """A ready FLORA asset of these bytes in this workspace; AssetFailed otherwise.

    One row per team, workspace and content holds the create's idempotency key until FLORA
    made the asset, so a retry after a lost answer or a slow upload never makes a second one.
    """
    row = _pending_row(team, workspace_id, source)
    if row.status == AssetStatus.READY and row.url:
        return row
    resource = _assets(client)
    tag = _tagged(source.file_name, source.sha256)
    try:
        asset = _found(resource, row, tag) if row.asset_id else None
        if asset is not None and str(asset.status) == "failed":
            # The asset an earlier attempt made failed after all: a new create, a new key.
            row.idempotency_key = new_idempotency_key()
            row.save(update_fields=["idempotency_key"])
            asset = None
        if asset is None:
            # POST /assets (multipart up to 4 MB, else signed-url + POST /assets/{id}/complete),
            # then GET /assets/{id} until ready: the client picks by size.
            asset = resource.upload(
                source.read(),
                workspace_id=workspace_id,
                file_name=tag,
                content_type=source.content_type,
                idempotency_key=row.idempotency_key,
                poll_interval=POLL_INTERVAL,
                poll_timeout=POLL_TIMEOUT,
            )
    except IdempotencyDuplicateError:
        asset = _after_duplicate(resource, row, tag, team)
    except AssetFailedError as exc:
        row.status, row.asset_id = AssetStatus.FAILED, exc.asset_id
        row.failure_message = str(exc)[:500]
        row.save(update_fields=["status", "asset_id", "failure_message"])
        raise AssetFailed(f"FLORA could not use this file: {_reason(exc)}") from exc
    except AssetNotReadyError as exc:
        row.asset_id = exc.asset_id
        row.save(update_fields=["asset_id"])
        raise AssetFailed(
            "FLORA is still processing this file. Press the button again in a moment."
        ) from exc
    except FloraError as exc:
        # Outcome unknown (a timeout, a dropped answer) or refused: the row keeps its key,
        # so the next attempt is the same create.
        logger.warning(
            "Upload of %s to FLORA for team %s failed: %s",
            source.sha256[:12],
            team.slug,
            exc.__class__.__name__,
        )
        raise AssetFailed(f"The file was not sent to FLORA: {problem_for(exc).message}") from exc
    except ValueError as exc:
        raise AssetFailed(f"The file was not sent to FLORA: {exc}") from exc
    row = _record(row, asset)
    if row.status == AssetStatus.FAILED:
        raise AssetFailed(f"FLORA could not use this file: {row.failure_message or 'unreadable'}.")
    if row.status != AssetStatus.READY or not row.url:
        raise AssetFailed(
            "FLORA is still processing this file. Press the button again in a moment."
        )
    return row


def _reason(exc: AssetFailedError) -> str:
    message = str(exc)
    return message.split(": ", 1)[1] if ": " in message else "it could not be processed."


def _after_duplicate(resource: Any, row: FloraAsset, tag: str, team: Team) -> Any:
    """FLORA saw this key: an earlier attempt made the asset. Find it by its name."""
    try:
        asset = _found(resource, row, tag)
    except FloraError as exc:
        raise AssetFailed(f"The file was not sent to FLORA: {problem_for(exc).message}") from exc
    if asset is None:
        # Not findable: the next attempt is a new create (at worst one unused asset).
        row.idempotency_key = new_idempotency_key()
        row.save(update_fields=["idempotency_key"])
        logger.warning("Asset of key %s for team %s not found", row.idempotency_key, team.slug)
        raise AssetFailed("FLORA did not finish taking this file. Press the button again.")
    return asset


# Thumbnails are stored once per content (florasite.lib.thumbs): another team's may be ours.
THUMBS_IN_USE = discards.held_in(Upload, "thumb_small", "thumb_large", prefix="thumbs/")


def discard_team_files(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_delete of a Team: its uploads and their thumbnails, for the worker to delete."""
    discards.discard_columns(
        Upload.objects.filter(team=instance), "file", "thumb_small", "thumb_large"
    )
