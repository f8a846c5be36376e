"""The exports pages: ask for one (the Runs page's "Export CSV"), watch it in place, the
team's recent exports, download, retry a failed one.

Every member may export, as every member could download the CSV before (require_membership:
viewers too). Another team's export is 404, never 403.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HTMX_STOP_POLLING

from exports import services, tasks
from exports.models import Export, ExportStatus
from florasite.lib import media
from runs import history
from teams.access import get_for_team_or_404, require_membership

logger = logging.getLogger(__name__)

LIST_SIZE = 50
PLACES = ("inline", "row")


def new_intent() -> str:
    return secrets.token_urlsafe(16)


def state_context(export: Export, place: str) -> dict[str, Any]:
    """What templates/exports/_state.html's `place` partial shows of an export."""
    ctx: dict[str, Any] = {
        "export": export,
        "place": place,
        "downloadable": services.downloadable(export),
    }
    if place == "inline":
        # The Runs page's button's intent: this export's while it is under way, so that a
        # second click lands on it; a new one once it has ended, for a new export.
        active = export.is_active and export.intent_key
        ctx["intent"] = export.intent_key if active else new_intent()
    return ctx


def _fragment(request: HttpRequest, export: Export, place: str) -> HttpResponse:
    # A poll (GET) of an export that has ended is the last: 286 stops htmx polling.
    done = request.method == "GET" and not export.is_active
    status = HTMX_STOP_POLLING if done else 200
    return render(
        request, f"exports/_state.html#{place}", state_context(export, place), status=status
    )


@require_safe
def export_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    exports = list(
        Export.objects.filter(team=membership.team).select_related("requested_by", "team")[
            :LIST_SIZE
        ]
    )
    for export in exports:
        export.downloadable = services.downloadable(export)
    ctx = {"nav": "runs", "exports": exports, "keep_days": services.keep_for().days}
    return render(request, "exports/list.html", ctx)


@require_http_methods(["GET", "HEAD", "POST"])
def new_export(request: HttpRequest) -> HttpResponse:
    """GET: what would be exported, and a button (old links to runs:export land here).
    POST: the export for this intent, made or found; htmx gets its state in place."""
    membership = require_membership(request)
    if request.method != "POST":
        query = history.filter_query(request.GET)
        form = services.filters_form(request.GET, membership.team)
        ctx = {
            "nav": "runs",
            "query": services.canonical_query(request.GET, form),
            "description": services.describe(form, membership.team),
            "intent": new_intent(),
            "history_query": query,
        }
        return render(request, "exports/new.html", ctx)
    try:
        export, made = services.request_export(
            membership,
            raw_query=request.POST.get("query", ""),
            intent=request.POST.get("intent", ""),
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
    except services.ExportRefused as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "exports/_state.html#refused", {"message": str(exc)}, status=400)
        messages.error(request, str(exc))
        return redirect("exports:list")
    if made:
        tasks.build_soon(export.pk)
    if request.htmx:  # type: ignore[attr-defined]
        return _fragment(request, export, "inline")
    if made:
        messages.success(request, "Export started: it appears below, with its link once ready.")
    else:
        messages.info(request, "This export was already asked for: here it is.")
    return redirect("exports:list")


@require_safe
def export_state(request: HttpRequest, code: str) -> HttpResponse:
    """The export's state (htmx polls it while it is queued or being written; 286 then)."""
    export = get_for_team_or_404(request, Export.objects.select_related("team"), code=code)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("exports:list")
    place = request.GET.get("place", "inline")
    return _fragment(request, export, place if place in PLACES else "inline")


@require_safe
def download(request: HttpRequest, code: str) -> HttpResponse:
    export = get_for_team_or_404(request, Export.objects.select_related("team"), code=code)
    if not services.downloadable(export):
        status = 410 if export.status in (ExportStatus.EXPIRED, ExportStatus.READY) else 409
        return render(request, "exports/unavailable.html", {"export": export}, status=status)
    # On a bucket: a signed URL after the check above (or, with the proxy delivery, the
    # object read in ranges), never django-storages' open(), which fetches it whole first.
    if url := media.signed_url(
        export.file.name,
        filename=export.filename,
        content_type="text/csv; charset=utf-8",
        as_attachment=True,
        cache_control="private, no-store",
    ):
        return media.redirect(url)
    try:
        handle = media.open_range(export.file.name)
    except FileNotFoundError:
        # Deleted from storage behind our back (a bucket's lifecycle rule, a person).
        logger.warning("Export %s: its file %s is missing from storage", code, export.file.name)
        export.status = ExportStatus.EXPIRED
        return render(request, "exports/unavailable.html", {"export": export}, status=410)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export.filename,
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def retry(request: HttpRequest, code: str) -> HttpResponse:
    export = get_for_team_or_404(request, Export.objects.select_related("team"), code=code)
    if export.status == ExportStatus.FAILED:
        export = services.retry(export)
        if export.status == ExportStatus.QUEUED:
            tasks.build_soon(export.pk)
    if request.htmx:  # type: ignore[attr-defined]
        place = request.POST.get("place", "inline")
        return _fragment(request, export, place if place in PLACES else "inline")
    messages.info(request, "Export queued again.")
    return redirect("exports:list")
