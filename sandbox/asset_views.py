"""The assets resource over HTTP: /assets, /assets/{id}, complete, retry, and the files.

Also the signed upload target (/sandbox/uploads/{token}), which, like a storage service's
presigned POST, takes no API key: the random token in its URL is the capability.
"""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth.decorators import login_not_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from sandbox import api, asset_render, assets, clock, files
from sandbox.api import api_view
from sandbox.auth import ApiKey
from sandbox.errors import ApiError, validation_error
from sandbox.models import SandboxAsset
from sandbox.validation import _validate_idempotency_key

logger = logging.getLogger("sandbox")


def _is_multipart(request: HttpRequest) -> bool:
    return request.content_type == "multipart/form-data"


def _form_fields(request: HttpRequest) -> dict:
    # The first value of each text field, as a JSON body would have it.
    return {name: request.POST.get(name) for name in request.POST}


def _read(upload: UploadedFile) -> bytes:
    return b"".join(upload.chunks())


@api_view("GET", "POST")
def asset_collection(request: HttpRequest, key: ApiKey) -> HttpResponse:
    """POST /assets (create, three modes) and GET /assets (list)."""
    if request.method == "GET":
        return _asset_list(request, key)
    header_key = request.headers.get("Idempotency-Key")
    if _is_multipart(request):
        upload = request.FILES.get("file")
        fields = _form_fields(request)
        if upload is None:
            raise validation_error(
                [{"field": "file", "message": 'Required: a "file" part (or JSON with a source)'}]
            )
        if upload.size is not None and upload.size > assets.MAX_DIRECT_BYTES:
            # The fields are checked first, the bytes never read.
            assets.parse_create(key, fields, upload.name, "unread", header_key)
            raise assets.too_large(upload.size)
        data = _read(upload)
        file_hash = hashlib.sha256(data).hexdigest()
        parsed = assets.parse_create(key, fields, upload.name, file_hash, header_key)
        asset = assets.create_direct(key, parsed, data)
        return api.ok(asset_render.reservation_to_api(request, asset, created=True), status=201)
    body = api.json_body(request)
    if "file" in body:
        raise validation_error(
            [{"field": "file", "message": "A file must be sent as multipart/form-data"}]
        )
    parsed = assets.parse_create(key, body, None, None, header_key)
    if parsed.source == assets.SIGNED_URL:
        asset, token = assets.create_signed(key, parsed)
        return api.ok(
            asset_render.reservation_to_api(request, asset, token, created=True), status=201
        )
    asset = assets.create_from_url(key, parsed)
    return api.ok(asset_render.reservation_to_api(request, asset, created=True), status=201)


def _asset_list(request: HttpRequest, key: ApiKey) -> HttpResponse:
    workspaces = api.workspace_filter(request, key)
    limit = api.parse_limit(request)
    before = api.decode_cursor(request, "before")
    selected = SandboxAsset.objects.filter(
        workspace_id__in=[workspace.workspace_id for workspace in workspaces]
    ).defer("data")
    if project_id := request.GET.get("project_id", "").strip():
        selected = selected.filter(project_id=project_id)
    matching = list(selected.order_by("-id"))
    if terms := request.GET.get("query", "").casefold().split():
        matching = [
            a for a in matching if all(t in f"{a.name} {a.folder}".casefold() for t in terms)
        ]
    remaining = [a for a in matching if before is None or a.id < before]
    page = remaining[:limit]
    now = clock.now()
    return api.ok(
        {
            "assets": [
                asset_render.asset_to_api(request, assets.refresh(a, now), list_item=True)
                for a in page
            ],
            "meta": {
                "next_cursor": api.encode_cursor({"before": page[-1].id})
                if len(remaining) > limit
                else None,
                "total_estimate": len(matching),
            },
        }
    )


@api_view("GET")
def asset_detail(request: HttpRequest, key: ApiKey, asset_id: str) -> HttpResponse:
    """GET /assets/{id}: another key's asset is 404, like a missing one."""
    return api.ok(asset_render.asset_to_api(request, assets.find(key, asset_id)))


def _step_key(request: HttpRequest) -> str:
    problems: list[dict[str, str]] = []
    body_key = None
    if request.body.strip():
        body_key = api.json_body(request).get("idempotency_key")
    key = _validate_idempotency_key(body_key, request.headers.get("Idempotency-Key"), problems)
    if problems:
        raise validation_error(problems)
    return key


@api_view("POST")
def asset_complete(request: HttpRequest, key: ApiKey, asset_id: str) -> HttpResponse:
    """POST /assets/{id}/complete: the signed upload's bytes are checked; ready or failed."""
    idempotency_key = _step_key(request)
    asset = assets.complete(key, assets.find(key, asset_id, with_data=True), idempotency_key)
    return api.ok(asset_render.reservation_to_api(request, asset))


@api_view("POST")
def asset_retry(request: HttpRequest, key: ApiKey, asset_id: str) -> HttpResponse:
    """POST /assets/{id}/retry: a fresh upload URL for a failed or expired signed upload."""
    idempotency_key = _step_key(request)
    asset, token = assets.retry(key, assets.find(key, asset_id), idempotency_key)
    return api.ok(asset_render.reservation_to_api(request, asset, token))


@login_not_required
@csrf_exempt
def upload_target(request: HttpRequest, token: str) -> HttpResponse:
    """POST <sandbox>/uploads/{token}: the presigned form (its fields, then `file`)."""
    request_id = api.new_id("req_")
    try:
        if request.method != "POST":
            raise ApiError(405, "method_not_allowed", "Use POST.", headers={"Allow": "POST"})
        if not _is_multipart(request):
            raise validation_error(
                [{"field": "file", "message": "Expected multipart/form-data with a file part"}]
            )
        upload = request.FILES.get("file")
        data = _read(upload) if upload is not None else None
        assets.receive_upload(token, request.POST.get("key"), data)
        response = HttpResponse(status=204)
    except ApiError as exc:
        response = exc.response()
    except Exception:
        logger.exception("sandbox: unexpected error in the upload target")
        response = ApiError(500, "unknown_error", "An unknown error occurred.").response()
    response["request-id"] = request_id
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
def asset_file(request: HttpRequest, asset_id: str, filename: str) -> HttpResponse:
    """A ready asset's bytes. No auth: the random asset id is the capability, as for outputs."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    asset = SandboxAsset.objects.filter(asset_id=asset_id, status="ready").first()
    if asset is None or asset.data is None or asset_render.file_segment(asset) != filename:
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    return files.serve(request, bytes(asset.data), asset.content_type, filename)
