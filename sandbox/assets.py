"""Assets: the three ways in (multipart bytes, a source URL, a signed upload), as JSON.

Views (sandbox.asset_views) parse the request and call these; every problem is an ApiError
in FLORA's envelope. Choices the SDK leaves open are listed in sandbox/README.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction

from sandbox import asset_fetch, asset_types, clock
from sandbox.api import new_id
from sandbox.asset_render import form_fields
from sandbox.auth import ApiKey, Workspace, visible_workspace
from sandbox.errors import ApiError, validation_error
from sandbox.models import SandboxAsset
from sandbox.runs import _claim_idempotency_key
from sandbox.validation import MAX_URL, _validate_idempotency_key

MAX_DIRECT_BYTES = 4 * 1024 * 1024
MAX_SOURCE_BYTES = 50 * 1024 * 1024
# The SDK names no limit for signed uploads; the sandbox keeps the source URL's.
MAX_SIGNED_BYTES = 50 * 1024 * 1024
UPLOAD_URL_SECONDS = 60 * 60
SIGNED_URL = "signed-url"
MAX_TEXT_FIELD = 255
EXPIRED_MESSAGE = (
    "The upload URL expired before the upload was completed; call POST /assets/{id}/retry "
    "for a new one"
)


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class CreateRequest:
    workspace: Workspace
    project_id: str
    folder: str
    file_name: str
    content_type: str
    source: str  # "" for a file, SIGNED_URL, or an https URL
    idempotency_key: str
    body_hash: str


def parse_create(
    key: ApiKey, fields: dict, file_name: str | None, file_hash: str | None, header_key: str | None
) -> CreateRequest:
    """Check the fields of POST /assets (either mode); 400/403 with one entry per problem."""
    problems: list[dict[str, str]] = []
    text: dict[str, str] = {}
    for name in ("workspace_id", "project_id", "folder", "file_name", "content_type", "source"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(_problem(name, "Expected a string"))
        elif value is not None and name != "source" and len(value) > MAX_TEXT_FIELD:
            problems.append(_problem(name, f"At most {MAX_TEXT_FIELD} characters"))
        else:
            text[name] = (value or "").strip()
    workspace_id, project_id, source = (
        text.get("workspace_id"),
        text.get("project_id"),
        text.get("source", ""),
    )
    if not workspace_id:
        problems.append(_problem("workspace_id", "Required"))
    elif not workspace_id.startswith("ws_"):
        problems.append(_problem("workspace_id", "Must be a workspace id starting with ws_"))
    if project_id and not project_id.startswith("prj_"):
        problems.append(_problem("project_id", "Must be a project id starting with prj_"))
    if file_hash is not None and source:
        problems.append(_problem("source", "Send either a file (multipart) or a source, not both"))
    elif file_hash is None and not source and "source" in text:
        problems.append(_problem("source", 'Expected a public https:// URL or "signed-url"'))
    elif file_hash is None and not source:
        problems.append(_problem("file", 'Required: a multipart "file" part, or a JSON "source"'))
    elif source and source != SIGNED_URL and not source.lower().startswith("https://"):
        problems.append(_problem("source", 'Expected a public https:// URL or "signed-url"'))
    elif len(source) > MAX_URL:
        problems.append(_problem("source", f"At most {MAX_URL} characters"))
    declared = text.get("content_type", "").lower()
    if source == SIGNED_URL and declared and declared not in asset_types.ALLOWED_TYPES:
        problems.append(
            _problem("content_type", f"Unsupported type; allowed: {asset_types.ALLOWED_WORDS}")
        )
    idempotency_key = _validate_idempotency_key(fields.get("idempotency_key"), header_key, problems)
    if problems:
        raise validation_error(problems)

    workspace = visible_workspace(key, workspace_id or "")
    if project_id:
        owner = key.project_workspace(project_id)
        if owner is None:
            raise ApiError(403, "forbidden", f"This API key cannot access project {project_id}.")
        if owner != workspace:
            raise validation_error(
                [_problem("project_id", f"Project {project_id} is not in workspace {workspace_id}")]
            )
    canonical = {k: v for k, v in text.items() if v}
    digest = json.dumps(["assets.create", canonical, file_hash], sort_keys=True)
    return CreateRequest(
        workspace=workspace,
        project_id=project_id or "",
        folder=text.get("folder", ""),
        file_name=text.get("file_name") or file_name or "",
        content_type=declared,
        source=source,
        idempotency_key=idempotency_key,
        body_hash=hashlib.sha256(digest.encode()).hexdigest(),
    )


def _inspect(data: bytes, field: str) -> asset_types.Inspected:
    try:
        return asset_types.inspect(data)
    except asset_types.AssetProblem as exc:
        raise validation_error([_problem(field, str(exc))]) from None


def _save(key: ApiKey, req: CreateRequest, **values: object) -> SandboxAsset:
    now = clock.now()
    with transaction.atomic():
        if req.idempotency_key:
            _claim_idempotency_key(
                key,
                req.idempotency_key,
                req.body_hash,
                now,
                what="an asset was already created with this key",
            )
        return SandboxAsset.objects.create(
            asset_id=new_id("asset_"),
            api_key=key.key,
            workspace_id=req.workspace.workspace_id,
            project_id=req.project_id,
            folder=req.folder,
            name=req.file_name,
            upload_content_type=req.content_type,
            created_at=now,
            **values,
        )


def _ready_values(data: bytes, found: asset_types.Inspected) -> dict:
    return {
        "status": "ready",
        "data": data,
        "size_bytes": len(data),
        "content_type": found.content_type,
        "width": found.width,
        "height": found.height,
    }


def too_large(size: int) -> ApiError:
    message = (
        f"The file is {_mb(size)}; direct uploads take at most 4 MB "
        '(use source "signed-url" for larger files)'
    )
    return validation_error([_problem("file", message)])


def create_direct(key: ApiKey, req: CreateRequest, data: bytes) -> SandboxAsset:
    if len(data) > MAX_DIRECT_BYTES:
        raise too_large(len(data))
    return _save(key, req, uploaded_via="direct", **_ready_values(data, _inspect(data, "file")))


def create_from_url(key: ApiKey, req: CreateRequest) -> SandboxAsset:
    try:
        data, _served_as = asset_fetch.fetch(req.source, MAX_SOURCE_BYTES)
    except asset_fetch.FetchProblem as exc:
        raise validation_error([_problem("source", str(exc))]) from None
    found = _inspect(data, "source")
    if not req.file_name:
        req = _with_name(req, urlsplit(req.source).path.rsplit("/", 1)[-1])
    return _save(key, req, uploaded_via="url", source_url=req.source, **_ready_values(data, found))


def _with_name(req: CreateRequest, name: str) -> CreateRequest:
    return dataclasses.replace(req, file_name=name[:MAX_TEXT_FIELD])


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def create_signed(key: ApiKey, req: CreateRequest) -> tuple[SandboxAsset, str]:
    token, token_hash = _new_token()
    asset = _save(
        key,
        req,
        uploaded_via="signed_url",
        status="pending_upload",
        upload_token_hash=token_hash,
        expires_at=clock.now() + UPLOAD_URL_SECONDS,
    )
    return asset, token


# -- later steps of a signed upload ------------------------------------------------------


def refresh(asset: SandboxAsset, now: float) -> SandboxAsset:
    """A pending upload whose URL has expired is failed from then on (derived, then saved)."""
    if asset.status == "pending_upload" and asset.expires_at and now > asset.expires_at:
        asset.status, asset.failure_message, asset.upload_token_hash = "failed", EXPIRED_MESSAGE, ""
        asset.data = None
        SandboxAsset.objects.filter(pk=asset.pk, status="pending_upload").update(
            status="failed", failure_message=EXPIRED_MESSAGE, upload_token_hash="", data=None
        )
    return asset


def find(key: ApiKey, asset_id: str, *, with_data: bool = False) -> SandboxAsset:
    """The key's asset (any workspace it sees), else 404 as for a missing one."""
    found = SandboxAsset.objects.filter(asset_id=asset_id, workspace_id__in=key.workspace_ids)
    asset = (found if with_data else found.defer("data")).first()
    if asset is None:
        raise ApiError(404, "not_found", f"Asset {asset_id} not found.")
    return refresh(asset, clock.now())


def _claim_step(key: ApiKey, step: str, asset: SandboxAsset, idempotency_key: str) -> None:
    if idempotency_key:
        body_hash = hashlib.sha256(f"assets.{step}:{asset.asset_id}".encode()).hexdigest()
        what = f"{step} was already called for this asset with this key"
        _claim_idempotency_key(key, idempotency_key, body_hash, clock.now(), what=what)


def complete(key: ApiKey, asset: SandboxAsset, idempotency_key: str) -> SandboxAsset:
    """Check the uploaded bytes: ready, or failed with the reason. Repeating it changes nothing."""
    if asset.status != "pending_upload":
        with transaction.atomic():
            _claim_step(key, "complete", asset, idempotency_key)
        return asset
    if asset.data is None:
        raise validation_error(
            [_problem("asset_id", "No file has been sent to this asset's upload URL yet")]
        )
    data = bytes(asset.data)
    try:
        found = asset_types.inspect(data)
    except asset_types.AssetProblem as exc:
        # Bytes that can be no asset are not kept.
        values: dict = {"status": "failed", "failure_message": str(exc)[:500], "data": None}
    else:
        values = _ready_values(data, found)
        del values["data"]  # already stored by the upload target
    values["upload_token_hash"] = ""  # the upload URL is used up
    with transaction.atomic():
        _claim_step(key, "complete", asset, idempotency_key)
        SandboxAsset.objects.filter(pk=asset.pk).update(**values)
    asset.refresh_from_db()
    return asset


def retry(key: ApiKey, asset: SandboxAsset, idempotency_key: str) -> tuple[SandboxAsset, str]:
    """A fresh upload URL (and expiry) for a signed upload that failed or is still pending."""
    if asset.uploaded_via != "signed_url" or asset.status == "ready":
        raise validation_error(
            [_problem("asset_id", f"Asset {asset.asset_id} is {asset.status}; nothing to retry")]
        )
    token, token_hash = _new_token()
    with transaction.atomic():
        _claim_step(key, "retry", asset, idempotency_key)
        SandboxAsset.objects.filter(pk=asset.pk).update(
            status="pending_upload",
            failure_message="",
            data=None,
            size_bytes=None,
            upload_token_hash=token_hash,
            expires_at=clock.now() + UPLOAD_URL_SECONDS,
        )
    asset.refresh_from_db()
    return asset, token


def receive_upload(token: str, form_key: str | None, data: bytes | None) -> None:
    """The signed upload target: keep the bytes until complete checks them."""
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    asset = SandboxAsset.objects.filter(upload_token_hash=token_hash).defer("data").first()
    if asset is None:
        raise ApiError(404, "not_found", "Unknown or already used upload URL.")
    asset = refresh(asset, clock.now())
    if asset.status != "pending_upload":
        raise ApiError(403, "forbidden", "This upload URL has expired; call retry for a new one.")
    problems = []
    if form_key != form_fields(asset)["key"]:
        problems.append(_problem("key", "Missing or wrong: send the form_fields as given"))
    if data is None:
        problems.append(_problem("file", 'Required: a "file" part after the form fields'))
    elif len(data) > MAX_SIGNED_BYTES:
        problems.append(_problem("file", f"The file is {_mb(len(data))}; at most 50 MB"))
    if problems:
        raise validation_error(problems)
    SandboxAsset.objects.filter(pk=asset.pk).update(data=data, size_bytes=len(data))
