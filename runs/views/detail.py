"""The run page and its kept outputs: for the team's members only (others get 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csp.constants import SELF
from csp.decorators import csp_replace
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe
from django_htmx.http import HTMX_STOP_POLLING

from runs.access import get_run_for_member
from runs.display import input_items, output_filename, technique_slug
from runs.models import OutputKeepStatus, Run, RunOrigin
from runs.serving import serve_output, zip_stream
from runs.views.shares import shares_context
from teams.permissions import can_start_runs
from techniques.services import is_valid_technique_id


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _timings(run: Run) -> dict[str, float | None]:
    """Waiting (queued at FLORA), running, and total, in seconds; None when unknown yet."""
    queued = run.flora_created_at or run.submitted_at or run.created_at
    end = run.completed_at if run.is_terminal else None
    return {
        # A run that ended without ever running waited all its life.
        "waiting": _seconds(queued, run.started_at or end),
        "running": _seconds(run.started_at, end),
        "total": run.duration_seconds,
    }


def _technique_url(run: Run) -> str:
    # A run started outside the dashboard carries whatever id FLORA gave its technique.
    if not is_valid_technique_id(run.technique_id):
        return ""
    return reverse("techniques:detail", args=[run.technique_id])


def _started_by(run: Run) -> str:
    if run.created_by is not None:
        return run.created_by.get_full_name() or run.created_by.get_username()
    if run.origin == RunOrigin.EXTERNAL:
        return "Started outside the dashboard"
    return "A former member"


def detail_context(request: HttpRequest, run: Run) -> dict[str, Any]:
    membership = request.membership  # type: ignore[attr-defined]
    return {
        "run": run,
        "nav": "runs",
        "technique_url": _technique_url(run),
        "started_by": _started_by(run),
        "timings": _timings(run),
        "inputs": input_items(run),
        "can_run_again": can_start_runs(membership) and is_valid_technique_id(run.technique_id),
        **shares_context(run, membership),
    }


@require_safe
def run_detail(request: HttpRequest, code: str) -> HttpResponse:
    run = get_run_for_member(request, code)
    if request.htmx and request.GET.get("part") == "outputs":
        # The outputs fragment polls itself while copies are being kept.
        response = render(request, "runs/_outputs.html", {"run": run})
        if not run.outputs.filter(keep_status=OutputKeepStatus.PENDING).exists():
            response.status_code = HTMX_STOP_POLLING
        return response
    if request.htmx and request.GET.get("part") == "aside":
        # Details and share links, refreshed once when the run ends while the page is open.
        return render(request, "runs/detail.html#aside", detail_context(request, run))
    return render(request, "runs/detail.html", detail_context(request, run))


@require_safe
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
def output_file(request: HttpRequest, code: str, position: int) -> HttpResponse:
    """The kept copy of one output (inline; ?download=1 for an attachment).

    Same-origin framing is allowed here only, for the inline PDF preview on the run page.
    """
    run = get_run_for_member(request, code)
    output = get_object_or_404(run.outputs, position=position)
    if output.keep_status != OutputKeepStatus.KEPT:
        raise Http404("This output has not been kept by the dashboard yet.")
    return serve_output(
        request, output, output_filename(run, output), cache_control="private, max-age=3600"
    )


@require_safe
def outputs_zip(request: HttpRequest, code: str) -> StreamingHttpResponse:
    run = get_run_for_member(request, code)
    outputs = list(run.outputs.order_by("position"))
    kept = [o for o in outputs if o.keep_status == OutputKeepStatus.KEPT]
    if not kept:
        raise Http404("No output of this run has been kept yet, so there is nothing to download.")
    missing = [o for o in outputs if o.keep_status != OutputKeepStatus.KEPT]
    response = StreamingHttpResponse(zip_stream(run, kept, missing), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(
        True, f"{technique_slug(run)}-{run.code}.zip"
    )
    response["Cache-Control"] = "private, no-store"
    return response
