"""The run page, the fragments that re-render parts of it, and its kept outputs.

For the team's members only (others get 404). The page's context is built in
runs/views/run_page.py; each fragment has a URL of its own and renders one part.
"""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_replace
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from runs.access import get_run_for_member, other_team_membership, run_page_fragment
from runs.display import output_filename, technique_slug
from runs.models import OutputKeepStatus
from runs.serving import serve_output, serve_thumb, zip_stream
from runs.views.run_page import (
    aside_context,
    detail_context,
    no_store_if_tokens,
    outputs_context,
)
from teams.access import require_membership


@require_safe
def run_detail(request: HttpRequest, code: str) -> HttpResponse:
    if request.htmx and (legacy := _LEGACY_PARTS.get(request.GET.get("part", ""))):
        return legacy(request, code)
    try:
        run = get_run_for_member(request, code)
    except Http404:
        # A link from another of the user's teams: offer the switch rather than a bare 404.
        # Non-members of the run's team get the 404 as it was (nothing confirms the run).
        membership = other_team_membership(request, code)
        if membership is None:
            raise
        ctx = {"other_team": membership.team, "run_url": request.path}
        return render(request, "runs/other_team.html", ctx)
    ctx = detail_context(run, require_membership(request))
    return no_store_if_tokens(render(request, "runs/detail.html", ctx), ctx)


@require_safe
@vary_on_headers("HX-Request")
@run_page_fragment
def run_outputs(request: HttpRequest, code: str) -> HttpResponse:
    """The outputs section, polling itself while copies are being kept (286 once done).

    ?stale=1: the page around it was rendered before the run ended (see outputs_context).
    """
    run = get_run_for_member(request, code)
    ctx = outputs_context(
        run, require_membership(request), aside_stale=request.GET.get("stale") == "1"
    )
    status = 200 if ctx["outputs_poll"] else HTMX_STOP_POLLING
    return render(request, "runs/_outputs.html", ctx, status=status)


@require_safe
@vary_on_headers("HX-Request")
@run_page_fragment
def run_aside(request: HttpRequest, code: str) -> HttpResponse:
    """Details and share links, refreshed once when the run ends while the page is open."""
    run = get_run_for_member(request, code)
    ctx = aside_context(run, require_membership(request))
    return no_store_if_tokens(render(request, "runs/detail.html#aside", ctx), ctx)


# Pages rendered before the fragments had URLs of their own poll /runs/<code>/?part=...;
# a tab left open across a deploy keeps doing so until it is reloaded.
_LEGACY_PARTS = {"outputs": run_outputs, "aside": run_aside}


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
def output_thumb(request: HttpRequest, code: str, position: int, size: str) -> HttpResponse:
    """One of an output's thumbnails (runs.thumbnails), for the team's members.

    Its URL carries the kept file's checksum (runs.display.thumb_url), so the answer may be
    kept a year: a changed file is a new URL. The ETag answers a reload without the bytes.
    """
    run = get_run_for_member(request, code, with_creator=False)
    output = get_object_or_404(run.outputs, position=position)
    return serve_thumb(request, output, size, cache_control="private, max-age=31536000, immutable")


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
