"""The batches list, a batch's page and its one live fragment, and what a batch page does:
approve, cancel, retry failed, download all, add all to a board."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HTMX_STOP_POLLING

from batches import display, services
from batches.access import get_batch
from batches.models import Batch, BatchStatus
from batches.tasks import start_soon
from boards import services as boards
from boards.models import Board
from boards.views.download import MAX_ITEMS, manifest_csv
from runs.display import extension, technique_slug
from runs.models import OutputKeepStatus, RunOutput
from runs.serving import ZipEntry, stream_zip
from teams.access import require_membership, require_role
from teams.models import Membership, Role


def _ctx(batch: Batch, membership: Membership) -> dict[str, Any]:
    totals = services.totals(batch)
    rows = display.rows_of(batch)
    return {
        "nav": "batches",
        "batch": batch,
        "rows": rows,
        "totals": totals,
        "polling": not totals.finished and batch.status == BatchStatus.ACTIVE,
        "outputs": [thumb for view in rows for thumb in view.thumbs] if totals.finished else [],
        "can_change": membership.has_role(Role.MEMBER),
        "is_manager": membership.has_role(Role.MANAGER),
        "boards": Board.objects.filter(team=batch.team).order_by("name"),
    }


@require_safe
def batch_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    batches = list(Batch.objects.filter(team=membership.team).select_related("created_by")[:100])
    items = [(batch, services.totals(batch)) for batch in batches]
    return render(request, "batches/list.html", {"nav": "batches", "items": items})


@require_safe
def batch_detail(request: HttpRequest, code: str) -> HttpResponse:
    batch = get_batch(request, code)
    ctx = _ctx(batch, require_membership(request))
    ctx["approval_over"] = settings.FLORASITE_BATCH_APPROVAL_OVER
    return render(request, "batches/detail.html", ctx)


@require_safe
def batch_live(request: HttpRequest, code: str) -> HttpResponse:
    """The rows and totals: the batch page's ONE poll (every row at once, 286 when done)."""
    batch = get_batch(request, code)
    if not request.htmx:
        return redirect("batches:detail", code=batch.code)
    ctx = _ctx(batch, require_membership(request))
    status = 200 if ctx["polling"] else HTMX_STOP_POLLING
    return render(request, "batches/detail.html#live", ctx, status=status)


@require_POST
def approve(request: HttpRequest, code: str) -> HttpResponse:
    batch = get_batch(request, code)
    membership = require_role(request, Role.MANAGER)
    try:
        services.approve(batch, membership)
    except services.BatchError as exc:
        messages.error(request, str(exc))
    else:
        start_soon()
        messages.success(request, "Approved: the runs start in the background.")
    return redirect("batches:detail", code=batch.code)


@require_POST
def cancel(request: HttpRequest, code: str) -> HttpResponse:
    batch = get_batch(request, code)
    require_role(request, Role.MEMBER)
    cancelled = services.cancel(batch)
    messages.success(
        request,
        f"Cancelled {cancelled} run{'s' if cancelled != 1 else ''} not started yet. Runs "
        "already started go on to their end (FLORA cannot stop them).",
    )
    return redirect("batches:detail", code=batch.code)


@require_POST
def retry_failed(request: HttpRequest, code: str) -> HttpResponse:
    batch = get_batch(request, code)
    require_role(request, Role.MEMBER)
    try:
        retried = services.retry_failed(batch)
    except services.BatchError as exc:
        messages.error(request, str(exc))
        return redirect("batches:detail", code=batch.code)
    if retried:
        start_soon()
        messages.success(
            request, f"Trying {retried} failed run{'s' if retried != 1 else ''} again."
        )
    else:
        messages.info(request, "No run of this batch has failed.")
    return redirect("batches:detail", code=batch.code)


def _zip_name(output: RunOutput, number: int) -> str:
    # Every part a slug or a number: no separator, no "..", whatever the technique's name.
    return f"{number:03d}-{technique_slug(output.run)}-{output.position + 1}.{extension(output)}"


@require_safe
def download(request: HttpRequest, code: str) -> HttpResponse:
    batch = get_batch(request, code)
    outputs = display.outputs_of(batch)[:MAX_ITEMS]
    lines = [(_zip_name(o, n), o, "", "") for n, o in enumerate(outputs, start=1)]

    def entries() -> Iterator[ZipEntry]:
        for name, output, _, _ in lines:
            if output.keep_status != OutputKeepStatus.KEPT:
                continue
            yield name, RunOutput.objects.get(pk=output.pk) if output.type == "text" else output

    stream = stream_zip(entries(), lambda lost: [("manifest.csv", manifest_csv(lines, lost))])
    response = StreamingHttpResponse(stream, content_type="application/zip")
    name = (slugify(batch.technique_name) or "batch")[:60]
    response["Content-Disposition"] = content_disposition_header(True, f"{name}-{batch.code}.zip")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def add_to_board(request: HttpRequest, code: str) -> HttpResponse:
    batch = get_batch(request, code)
    require_role(request, Role.MEMBER)
    board = Board.objects.filter(team=batch.team, code=request.POST.get("board", "")).first()
    if board is None:
        messages.error(request, "Choose one of the team's boards.")
        return redirect("batches:detail", code=batch.code)
    added = 0
    for output in display.outputs_of(batch):
        try:
            boards.add_output(board, output, request.user)
        except boards.BoardError:
            continue  # on the board already
        added += 1
    messages.success(request, f"Added {added} output{'s' if added != 1 else ''} to “{board.name}”.")
    return redirect("batches:detail", code=batch.code)
