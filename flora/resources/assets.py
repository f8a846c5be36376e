"""Assets: files uploaded to FLORA, whose URLs can be run inputs (`client.assets`)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from .._base import APIResource, Form, new_idempotency_key, path_segment
from .._errors import (
    APIStatusError,
    AssetFailedError,
    AssetNotReadyError,
    FloraError,
    IdempotencyDuplicateError,
    SignedUploadError,
)
from .._models import Asset, AssetReservation, AssetUploadForm
from ..pagination import CursorPage

# FLORA stores direct multipart bytes up to 4 MB; larger files go through a signed URL.
MAX_DIRECT_UPLOAD_BYTES = 4 * 1024 * 1024
SIGNED_URL = "signed-url"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

FileInput = bytes | tuple[str, bytes, str]


def _optional(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value is not None}


class Assets(APIResource):
    """Uploading files (three ways), reading them back, and finishing signed uploads."""

    def create(
        self,
        *,
        workspace_id: str,
        file: FileInput | None = None,
        source: str | None = None,
        file_name: str | None = None,
        content_type: str | None = None,
        folder: str | None = None,
        project_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> AssetReservation:
        """POST /assets: give exactly one of `file` or `source`.

        - `file` (bytes, or (file_name, bytes, content_type)), at most 4 MB: sent as
          multipart/form-data; FLORA answers with a ready asset.
        - `source` = a public https URL: FLORA fetches it (at most 50 MB).
        - `source="signed-url"`: FLORA reserves an upload target (`upload`, `expires_at`);
          send the bytes with send_to_signed_url(), then call complete().

        The idempotency key (generated if not given) is reused by every retry, so an upload
        retried after a timeout never makes two assets; a key FLORA already saw raises
        IdempotencyDuplicateError.
        """
        if (file is None) == (source is None):
            raise ValueError("Pass exactly one of file= (the bytes) or source= (a URL).")
        fields = _optional(
            workspace_id=workspace_id,
            file_name=file_name,
            content_type=content_type,
            folder=folder,
            project_id=project_id,
        )
        if source is not None:
            return self._client._post(
                "/assets",
                cast_to=AssetReservation,
                body={**fields, "source": source},
                idempotency_key=idempotency_key,
            )
        name, data, part_type = _file_part(file, file_name, content_type)
        if len(data) > MAX_DIRECT_UPLOAD_BYTES:
            raise ValueError(
                f"The file is {len(data)} bytes; direct uploads take at most "
                f"{MAX_DIRECT_UPLOAD_BYTES} bytes (4 MB). Use upload() or source='signed-url'."
            )
        form = Form(fields=fields, files={"file": (name, data, part_type)})
        return self._client._post(
            "/assets",
            cast_to=AssetReservation,
            body={},
            idempotency_key=idempotency_key,
            form=form,
        )

    def retrieve(self, asset_id: str) -> Asset:
        """GET /assets/{asset_id}: one asset; another key's asset is 404 like a missing one."""
        return self._client._get(f"/assets/{path_segment(asset_id)}", cast_to=Asset)

    def list(
        self,
        *,
        workspace_id: str | None = None,
        project_id: str | None = None,
        query: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> CursorPage[Asset]:
        """GET /assets: the key's assets, filtered and searched (`assets`, meta.next_cursor)."""
        params = {
            "workspace_id": workspace_id,
            "project_id": project_id,
            "query": query,
            "cursor": cursor,
            "limit": limit,
        }
        return self._client._get_page("/assets", key="assets", model=Asset, params=params)

    def complete(self, asset_id: str, *, idempotency_key: str | None = None) -> AssetReservation:
        """POST /assets/{asset_id}/complete: the signed upload's bytes are there."""
        return self._client._post(
            f"/assets/{path_segment(asset_id)}/complete",
            cast_to=AssetReservation,
            body={},
            idempotency_key=idempotency_key,
        )

    def retry(self, asset_id: str, *, idempotency_key: str | None = None) -> AssetReservation:
        """POST /assets/{asset_id}/retry: a fresh upload target for a failed or expired one."""
        return self._client._post(
            f"/assets/{path_segment(asset_id)}/retry",
            cast_to=AssetReservation,
            body={},
            idempotency_key=idempotency_key,
        )

    def send_to_signed_url(
        self, upload: AssetUploadForm, data: bytes, *, file_name: str, content_type: str
    ) -> None:
        """POST the bytes to a presigned upload target: its form fields first, then the file.

        The API key is never sent there (the target is a storage host, not FLORA's API).
        Retried like any call (the same bytes, to the same object), within the deadline; a
        non-2xx answer raises SignedUploadError.
        """
        if (upload.method or "POST").upper() != "POST":
            raise ValueError(f"Unsupported upload method {upload.method!r}; expected POST.")
        form = Form(
            fields=dict(upload.form_fields),
            files={upload.file_field or "file": (file_name, data, content_type)},
        )
        host = upload.url.split("?", 1)[0]
        try:
            # Logged as "upload to <host/path>": a presigned URL's query is a credential.
            self._client._request("POST", f"upload to {host}", form=form, url=upload.url)
        except APIStatusError as exc:
            raise SignedUploadError(
                exc.message, response=exc.response, code=exc.code, fields=exc.fields
            ) from None

    def upload(
        self,
        data: bytes,
        *,
        workspace_id: str,
        file_name: str,
        content_type: str,
        project_id: str | None = None,
        idempotency_key: str | None = None,
        poll_interval: float = 1.0,
        poll_timeout: float = 60.0,
    ) -> Asset:
        """Upload a file the best way for its size and wait until FLORA says it is ready.

        At most 4 MB: one multipart create. Larger: reserve a signed URL, send the bytes
        there, complete. Then retrieve every `poll_interval` seconds until the asset is
        ready (returned), failed (AssetFailedError) or `poll_timeout` passes
        (AssetNotReadyError). One key (given or generated) covers the intent: the create
        uses it and complete uses a key derived from it.
        """
        key = idempotency_key or new_idempotency_key()
        common: dict[str, Any] = {
            "workspace_id": workspace_id,
            "file_name": file_name,
            "content_type": content_type,
            "project_id": project_id,
            "idempotency_key": key,
        }
        if len(data) <= MAX_DIRECT_UPLOAD_BYTES:
            created = self.create(file=(file_name, data, content_type), **common)
            return self._wait(created.asset_id, poll_interval, poll_timeout)
        reservation = self.create(source=SIGNED_URL, **common)
        if reservation.upload is None:
            raise FloraError(
                f"Asset {reservation.asset_id} came without an upload target; "
                "the file cannot be sent."
            )
        self.send_to_signed_url(
            reservation.upload, data, file_name=file_name, content_type=content_type
        )
        # A duplicate means an earlier attempt of this very call completed it (its answer was
        # lost); the poll says how it went.
        with contextlib.suppress(IdempotencyDuplicateError):
            self.complete(reservation.asset_id, idempotency_key=f"{key}-complete")
        return self._wait(reservation.asset_id, poll_interval, poll_timeout)

    def _wait(self, asset_id: str, interval: float, timeout: float) -> Asset:
        # Time waited is what the clock says or what was slept, whichever is more, so a
        # patched sleep (tests, callers with their own scheduling) still reaches the limit.
        started = time.monotonic()
        slept = 0.0
        while True:
            asset = self.retrieve(asset_id)
            if asset.status == "ready":
                return asset
            if asset.status == "failed":
                raise AssetFailedError(asset_id, asset.failure_message)
            waited = max(time.monotonic() - started, slept)
            if waited >= timeout:
                raise AssetNotReadyError(asset_id, str(asset.status), timeout)
            pause = min(interval, timeout - waited)
            self._client._sleep(pause)
            slept += pause


def _file_part(
    file: FileInput | None, file_name: str | None, content_type: str | None
) -> tuple[str, bytes, str]:
    if isinstance(file, bytes | bytearray | memoryview):
        return file_name or "file", bytes(file), content_type or DEFAULT_CONTENT_TYPE
    if isinstance(file, tuple) and len(file) == 3 and isinstance(file[1], bytes | bytearray):
        name, data, part_type = file
        return file_name or name or "file", bytes(data), content_type or part_type
    raise TypeError("file= takes bytes or a (file_name, bytes, content_type) tuple.")
