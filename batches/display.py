"""A batch's rows as the page shows them: run status, progress, thumbnails, and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch

from batches.models import Batch, BatchRow, RowState
from runs.display import ThumbTile, thumb_tile
from runs.models import RunOutput, RunStatus


@dataclass
class RowView:
    row: BatchRow
    label: str  # the inputs in a line
    status: str
    status_class: str
    progress: int
    thumbs: list[ThumbTile] = field(default_factory=list)


def label_of(inputs: list[dict[str, str]]) -> str:
    """One run's inputs in a line: the values, or the kept file's ref."""
    return " · ".join(item.get("value") or item.get("ref") or "" for item in inputs)[:160]


def _label(row: BatchRow) -> str:
    return label_of(row.inputs)


def rows_of(batch: Batch) -> list[RowView]:
    outputs = RunOutput.objects.order_by("position")
    rows = batch.rows.select_related("run").prefetch_related(
        Prefetch("run__outputs", queryset=outputs)
    )
    views = []
    for row in rows:
        run = row.run
        if run is None:
            status = row.get_state_display()
            if row.state == RowState.QUEUED and batch.status != "active":
                status = "Not started"
            views.append(RowView(row, _label(row), status, row.state, 0))
            continue
        thumbs = [thumb_tile(run, output) for output in run.outputs.all()]
        css = {RunStatus.COMPLETED: "done", RunStatus.FAILED: "failed"}.get(run.status, "live")
        if run.status == RunStatus.FAILED_TO_START:
            css = "failed"
        views.append(
            RowView(row, _label(row), run.get_status_display(), css, run.progress_percent, thumbs)
        )
    return views


def outputs_of(batch: Batch) -> list[RunOutput]:
    """Every output of the batch's runs, in row order (the zip's and the board's order)."""
    return list(
        RunOutput.objects.filter(run__batch_rows__batch=batch)
        .select_related("run")
        .defer("text", "run__outputs_raw")
        .order_by("run__batch_rows__position", "position")
    )
