"""The FLORA API, simulated: the seeds' endpoints under /sandbox/api/v1/, plus output media.

Every API view is wrapped by sandbox.api.api_view (auth, rate limit, request-id, error
envelope) and receives the caller's ApiKey after the request.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse

from sandbox import api, catalog, clock, files, lifecycle, media, runs
from sandbox.api import api_view
from sandbox.auth import ApiKey
from sandbox.errors import ApiError, validation_error
from sandbox.models import SandboxRequestLog, SandboxRun
from sandbox.validation import validate_run_request

STATUSES = ("pending", "running", "completed", "failed")


def _technique_for_key(key: ApiKey, technique_id: str) -> catalog.Technique:
    """The technique by id or slug if any of the key's workspaces has it, else 404."""
    technique = catalog.find(technique_id)
    if technique is None or technique not in catalog.visible(key.workspaces):
        raise ApiError(404, "not_found", f"Technique {technique_id} not found.")
    return technique


def _log_create(
    request: HttpRequest, key: ApiKey, technique_id: str, status: int, error_code: str, run_id: str
) -> None:
    idempotency_key = request.headers.get("Idempotency-Key", "")
    if not idempotency_key:
        try:
            body = json.loads(request.body or b"{}")
            value = body.get("idempotency_key") if isinstance(body, dict) else None
            idempotency_key = value if isinstance(value, str) else ""
        except (ValueError, UnicodeDecodeError):
            pass
    SandboxRequestLog.objects.create(
        api_key=key.key,
        technique_id=technique_id,
        idempotency_key=idempotency_key[:255],
        status_code=status,
        error_code=error_code,
        run_id=run_id,
        request_id=request.sandbox_request_id,  # type: ignore[attr-defined]
    )


# -- catalog -----------------------------------------------------------------------------


@api_view("GET")
def technique_list(request: HttpRequest, key: ApiKey) -> HttpResponse:
    """GET /techniques: the key's techniques (one workspace's with workspace_id), searchable."""
    workspaces = api.workspace_filter(request, key)
    limit = api.parse_limit(request)
    offset = api.decode_cursor(request, "offset") or 0
    techniques = catalog.visible(workspaces)
    terms = request.GET.get("query", "").casefold().split()
    if terms:
        techniques = [
            t for t in techniques if all(w in f"{t.name} {t.description}".casefold() for w in terms)
        ]
    page = techniques[offset : offset + limit]
    end = offset + limit
    next_cursor = api.encode_cursor({"offset": end}) if end < len(techniques) else None
    return api.ok(
        {
            "techniques": [technique.to_api() for technique in page],
            "meta": {"next_cursor": next_cursor, "total_estimate": len(techniques)},
        }
    )


@api_view("GET")
def technique_detail(request: HttpRequest, key: ApiKey, technique_id: str) -> HttpResponse:
    """GET /techniques/{techniqueId}: id or slug."""
    return api.ok(_technique_for_key(key, technique_id).to_api())


@api_view("GET")
def workspace_list(request: HttpRequest, key: ApiKey) -> HttpResponse:
    """GET /workspaces: the key's workspaces (not paginated)."""
    return api.ok({"workspaces": [workspace.to_api() for workspace in key.workspaces]})


# -- runs --------------------------------------------------------------------------------


@api_view("POST")
def run_create(request: HttpRequest, key: ApiKey, technique_id: str) -> HttpResponse:
    """POST /techniques/{techniqueId}/runs: validate, then start a run (idempotently)."""
    try:
        technique = _technique_for_key(key, technique_id)
        body = api.json_body(request)
        run_request = validate_run_request(
            key,
            technique,
            body,
            request.headers.get("Idempotency-Key"),
            origin=request.build_absolute_uri("/"),
        )
        if key.broke:
            raise ApiError(
                402, "insufficient_credits", "Insufficient credits: top up to start more runs."
            )
        run = runs.start_run(
            key, run_request, runs.request_hash(technique, body), settings.FLORA_SANDBOX_SPEEDUP
        )
    except ApiError as exc:
        _log_create(request, key, technique_id, exc.status, exc.code, "")
        raise
    _log_create(request, key, technique_id, 201, "", run.run_id)
    return api.ok(runs.run_to_api(request, run, clock.now()), status=201)


@api_view("GET")
def run_detail(request: HttpRequest, key: ApiKey, technique_id: str, run_id: str) -> HttpResponse:
    """GET /techniques/{techniqueId}/runs/{runId}: 404 for other keys' or techniques' runs."""
    technique = _technique_for_key(key, technique_id)
    run = SandboxRun.objects.filter(
        run_id=run_id, technique_id=technique.technique_id, workspace_id__in=key.workspace_ids
    ).first()
    if run is None:
        raise ApiError(404, "not_found", f"Run {run_id} not found.")
    return api.ok(runs.run_to_api(request, run, clock.now()))


@api_view("GET")
def run_list(request: HttpRequest, key: ApiKey) -> HttpResponse:
    """GET /technique-runs: newest first, filtered, cursor-paginated."""
    workspaces = api.workspace_filter(request, key)
    limit = api.parse_limit(request)
    before = api.decode_cursor(request, "before")
    status = request.GET.get("status", "").strip()
    if status and status not in STATUSES:
        raise validation_error(
            [{"field": "status", "message": "Expected one of " + ", ".join(STATUSES)}]
        )
    selected = SandboxRun.objects.filter(
        workspace_id__in=[workspace.workspace_id for workspace in workspaces]
    ).order_by("-id")
    if project_id := request.GET.get("project_id", "").strip():
        selected = selected.filter(project_id=project_id)
    if technique_id := request.GET.get("technique_id", "").strip():
        technique = catalog.find(technique_id)
        selected = selected.filter(
            technique_id=technique.technique_id if technique else technique_id
        )
    now = clock.now()
    matching = list(selected)
    if status:
        # Status is derived from the clock, so it is filtered here rather than in SQL.
        matching = [run for run in matching if lifecycle.state_at(run, now).status == status]
    remaining = [run for run in matching if before is None or run.id < before]
    page = remaining[:limit]
    has_more = len(remaining) > limit
    return api.ok(
        {
            "technique_runs": [runs.run_to_api(request, run, now, list_item=True) for run in page],
            "meta": {
                "next_cursor": api.encode_cursor({"before": page[-1].id}) if has_more else None,
                "total_estimate": len(matching),
            },
        }
    )


# -- media -------------------------------------------------------------------------------


@login_not_required
def media_file(request: HttpRequest, run_id: str, filename: str) -> HttpResponse:
    """An output file of a completed run. No auth: the random run id is the capability,
    as FLORA's media URLs are (they must open in a browser or an <img>/<video> tag)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    run = SandboxRun.objects.filter(run_id=run_id).first()
    if run is None or lifecycle.state_at(run, clock.now()).status != "completed":
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    rendered = media.render(run, filename)
    if rendered is None:
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    data, content_type = rendered
    return files.serve(request, data, content_type, filename)


@login_not_required
def index(request: HttpRequest) -> HttpResponse:
    """A label for people who open /sandbox/ in a browser."""
    return JsonResponse(
        {
            "sandbox": "FLORA API simulator for development and tests; not FLORA.",
            "base_url": request.build_absolute_uri("/sandbox/api/v1"),
            "keys": [
                "sk_sandbox_demo",
                "sk_sandbox_other",
                "sk_sandbox_broke",
                "sk_sandbox_limited",
            ],
        }
    )
