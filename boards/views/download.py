"""A board as a zip: its kept files in the board's order and a manifest.csv.

Streamed while it is written (runs.serving.stream_zip: constant memory whatever the size)
and built in the web process, not the worker: nothing is stored, the download starts at
once, and the cost is one web thread for as long as the transfer takes. That is why it is
bounded: at most MAX_ITEMS items and MAX_BYTES of files; a bigger board gets a page that
says so, and how to split it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from boards.access import get_board
from boards.display import safe_name
from boards.models import Board, BoardItem, Review
from runs.csv_export import csv_cell
from runs.display import input_items
from runs.models import OutputKeepStatus, RunOutput
from runs.serving import ZipEntry, stream_zip

MAX_ITEMS = 500
MAX_BYTES = 2 * 1024**3  # 2 GiB of files
MANIFEST_HEADER = ["file", "run", "technique", "inputs", "status", "note", "review"]
_KEEP_WORDS = {
    OutputKeepStatus.PENDING: "not kept yet: not in the zip",
    OutputKeepStatus.FAILED: "could not be kept: not in the zip",
}


def _items(board: Board) -> list[BoardItem]:
    # The text of text outputs is read one at a time while the zip is written.
    return list(
        board.items.select_related("output__run")
        .defer("output__text", "output__run__outputs_raw")
        .order_by("position", "id")
    )


def _entries(numbered: list[tuple[int, BoardItem]]) -> Iterator[ZipEntry]:
    for number, item in numbered:
        output = item.output
        if output.keep_status != OutputKeepStatus.KEPT:
            continue
        if output.type == "text":
            output = RunOutput.objects.get(pk=output.pk)
        yield safe_name(number, item), output


def manifest_csv(lines: list[tuple[str, RunOutput, str, str]], lost: set[int]) -> str:
    """The manifest.csv that ends a zip of outputs (boards', batches'): one line per
    (name in the zip, output, note, review), saying whether and why a file is not in it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_HEADER)
    for name, output, note, review in lines:
        run = output.run
        status = _KEEP_WORDS.get(output.keep_status, "included")
        if output.pk in lost:
            status = "missing from storage: not in the zip"
        included = status == "included"
        row = [
            name if included else "",
            run.code,
            run.technique_name,
            "; ".join(f"{i.label}: {i.value}" for i in input_items(run)),
            status,
            note,
            review,
        ]
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def _manifest(numbered: list[tuple[int, BoardItem]], lost: set[int]) -> str:
    lines = [
        (safe_name(number, item), item.output, item.note, Review(item.review).label)
        for number, item in numbered
    ]
    return manifest_csv(lines, lost)


@require_safe
def board_zip(request: HttpRequest, code: str) -> HttpResponse:
    board = get_board(request, code)
    items = _items(board)
    size = (
        board.items.filter(output__keep_status=OutputKeepStatus.KEPT).aggregate(
            total=Sum("output__size")
        )["total"]
        or 0
    )
    if len(items) > MAX_ITEMS or size > MAX_BYTES:
        ctx = {
            "board": board,
            "count": len(items),
            "size": size,
            "max_items": MAX_ITEMS,
            "max_bytes": MAX_BYTES,
        }
        return render(request, "boards/zip_too_big.html", ctx, status=413)
    numbered = list(enumerate(items, start=1))
    stream = stream_zip(
        _entries(numbered), lambda lost: [("manifest.csv", _manifest(numbered, lost))]
    )
    response = StreamingHttpResponse(stream, content_type="application/zip")
    name = (slugify(board.name) or "board")[:60]
    response["Content-Disposition"] = content_disposition_header(True, f"{name}-{board.code}.zip")
    response["Cache-Control"] = "private, no-store"
    return response
