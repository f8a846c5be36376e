"""The upload endpoint the run form's script posts a file to, and kept uploads as files.

POST /uploads/ (multipart: file, kind, workspace) validates the file (uploads.validation),
keeps it (once per content), sends it to FLORA in that workspace (once per content and
workspace) and answers JSON: the reference the form submits, the asset's URL and a
preview. The browser only ever talks to the dashboard: the team's key stays here.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST, require_safe

from florasite.lib import media, ratelimit, thumbs
from teams.access import get_for_team_or_404, require_membership, require_role
from teams.models import Role, SecretUnavailable
from teams.services import NoConnection, get_connection
from uploads.models import Upload
from uploads.services import AssetFailed, Source, asset_for, keep_upload, upload_client
from uploads.tasks import thumbs_soon
from uploads.validation import MAX_VIDEO_BYTES, Refused, prepare

_KINDS = {"image", "video"}
# Uploads per member and team: enough for any person choosing files, not for a script
# filling the storage or the team's FLORA quota.
UPLOADS_PER_WINDOW = 60
UPLOAD_WINDOW = timedelta(minutes=10)


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "error": message}, status=status)


def describe(upload: Upload) -> dict[str, object]:
    return {
        "ref": upload.ref,
        "upload_id": str(upload.public_id),
        "name": upload.original_name,
        "kind": upload.kind,
        "content_type": upload.content_type,
        "size": upload.size,
        "width": upload.width,
        "height": upload.height,
        "sha256": upload.sha256,
        "preview_url": reverse("uploads:file", args=[upload.public_id]),
        "location_removed": upload.location_removed,
    }


@require_POST
def upload_file(request: HttpRequest) -> JsonResponse:
    membership = require_membership(request)
    team = membership.team
    try:
        connection = get_connection(team)
    except NoConnection as exc:
        return _refused(str(exc), 409)
    workspace_id = (request.POST.get("workspace") or "").strip()
    workspace_id = workspace_id or connection.default_workspace_id or connection.workspace_ids[0]
    if workspace_id not in connection.workspace_ids:
        raise Http404("This workspace is not one of your team's.")
    require_role(request, Role.MEMBER)
    slot = ratelimit.hit(f"upload:{team.pk}:{request.user.pk}", UPLOADS_PER_WINDOW, UPLOAD_WINDOW)
    if not slot.allowed:
        response = _refused(
            f"That is a lot of uploads at once: wait {slot.retry_after} s and try again.", 429
        )
        response["Retry-After"] = str(slot.retry_after)
        return response
    kind = request.POST.get("kind", "")
    if kind not in _KINDS:
        return _refused("Say whether this is an image or a video.")
    handle = request.FILES.get("file")
    if handle is None:
        return _refused("Choose a file to upload.")
    if handle.size is not None and handle.size > MAX_VIDEO_BYTES:
        # Refused before reading it into memory.
        return _refused(f"This file is too large (at most {MAX_VIDEO_BYTES // 2**20} MB).", 413)
    try:
        prepared = prepare(handle.read(), name=handle.name or "", kind=kind)
    except Refused as exc:
        return _refused(str(exc))
    reused = Upload.objects.filter(team=team, sha256=prepared.sha256).exists()
    upload = keep_upload(team, request.user, prepared)
    if not reused:
        thumbs_soon(upload.pk)
    try:
        client = upload_client(team, upload.size)
        asset = asset_for(
            client, team=team, workspace_id=workspace_id, source=Source.of_upload(upload)
        )
    except (NoConnection, SecretUnavailable):
        return _refused("The team's FLORA connection cannot be used right now.", 503)
    except AssetFailed as exc:
        # The file is kept: choosing it again from "Recent" retries without re-sending it.
        return JsonResponse({"ok": False, "error": str(exc), **describe(upload)}, status=502)
    return JsonResponse(
        {
            "ok": True,
            **describe(upload),
            "reused": reused,
            "asset_id": asset.asset_id,
            "asset_url": asset.url,
        }
    )


@require_safe
def upload_content(request: HttpRequest, public_id: str) -> HttpResponse:
    """The kept file, to the team's members only (any role)."""
    upload = get_for_team_or_404(request, Upload, public_id=public_id)
    as_attachment = request.GET.get("download") == "1"
    cache_control = "private, max-age=3600"
    if url := media.signed_url(
        upload.file.name,
        filename=upload.original_name,
        content_type=upload.content_type,
        as_attachment=as_attachment,
        cache_control=cache_control,
    ):
        return media.redirect(url)
    try:
        handle = media.open_range(upload.file.name)
    except OSError as exc:
        raise Http404("This upload is missing from storage.") from exc
    response = FileResponse(handle, content_type=upload.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment, upload.original_name
    )
    if "Content-Length" not in response:  # a bucket's body cannot say it by seeking
        response["Content-Length"] = str(upload.size)
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def upload_thumb(request: HttpRequest, public_id: str, size: str) -> HttpResponse:
    """One of an upload's thumbnails (uploads.thumbnails: "small" or "large"), as WebP."""
    upload = get_for_team_or_404(request, Upload, public_id=public_id)
    cache_control = "private, max-age=31536000, immutable"
    return thumbs.serve_row(request, upload, size, cache_control=cache_control, what="upload")
