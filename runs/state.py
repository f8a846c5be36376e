"""The one place that moves a Run between states from what FLORA says.

Submission (the create answer), the status fragment's refresh, the background sweep, the
webhook receiver and the history sync all call ``apply_remote``, so they agree on what a
FLORA answer means and a late or repeated answer can never move a run backwards.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from runs.models import (
    FLORA_STATUSES,
    TERMINAL_STATUSES,
    OutputKeepStatus,
    Run,
    RunOutput,
    RunStatus,
)

logger = logging.getLogger(__name__)

# How often an in-flight run is asked about: FLORA suggests every 2-5 s. Fast while a run is
# young (most finish within a minute), then slower, never slower than MAX_INTERVAL.
FAST_INTERVAL = timedelta(seconds=2)
FAST_PERIOD = timedelta(seconds=60)
MAX_INTERVAL = timedelta(seconds=15)

_RANK = {
    RunStatus.SUBMITTING: 0,
    RunStatus.CHECKING: 0,
    RunStatus.PENDING: 1,
    RunStatus.RUNNING: 2,
    RunStatus.COMPLETED: 3,
    RunStatus.FAILED: 3,
    RunStatus.FAILED_TO_START: 3,
}


def refresh_interval(run: Run, now: datetime | None = None) -> timedelta:
    """2 s during a run's first minute, then growing linearly up to 15 s."""
    now = now or timezone.now()
    age = now - (run.submitted_at or run.created_at)
    if age <= FAST_PERIOD:
        return FAST_INTERVAL
    extra = (age - FAST_PERIOD).total_seconds() / 30  # +1 s for every further 30 s
    return min(MAX_INTERVAL, FAST_INTERVAL + timedelta(seconds=extra))


def technique_key(technique_id: str) -> str:
    """FLORA names a technique by id (tech_x) or by slug (x): one key for both."""
    return technique_id.removeprefix("tech_")


# What FLORA says is written to columns of fixed size (runs.models): values that do not fit
# are made to fit here, in the one place they are written, so every row can be read back and
# shown. (PostgreSQL refuses a value too long or too large for its column; SQLite stores it,
# and then Django cannot read the decimal back.)
MAX_AMOUNT = Decimal("999999.9999")  # DecimalField(max_digits=10, decimal_places=4)
# No run starts or ends after 1 January 3000: a later timestamp is garbage (and one near
# datetime's limit would overflow as soon as it is shown in a local time zone).
MAX_TIMESTAMP = 32_503_680_000.0


def to_datetime(value: Any) -> datetime | None:
    """FLORA timestamps are unix seconds (some sources use milliseconds); None for a value
    that is no moment in a run's life (NaN, negative, centuries away)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    if number > 1e12:
        number /= 1000
    if number > MAX_TIMESTAMP:
        return None
    return datetime.fromtimestamp(number, tz=UTC)


def to_decimal(value: Any) -> Decimal | None:
    """An amount of money as the cost columns hold it; None for anything that is not one
    (NaN, Infinity, negative, or more than a column holds)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.0001"))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    return amount


def to_progress(value: Any) -> float | None:
    """FLORA's progress (0..1 or 0..100) clamped into 0..100; None when it is no number."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else 0.0
    if math.isnan(number):
        return None
    return max(0.0, min(100.0, number))


def _max_length(model: type[Run] | type[RunOutput], name: str) -> int:
    return model._meta.get_field(name).max_length  # type: ignore[union-attr, return-value]


def clip(model: type[Run] | type[RunOutput], name: str, value: Any) -> str:
    """A text cut to its column's length (error codes, names: a shortened one still reads)."""
    return str(value or "")[: _max_length(model, name)]


def fits(model: type[Run] | type[RunOutput], name: str, value: Any) -> bool:
    """Whether an identifier fits its column. A shortened id would name something else, so
    one that does not fit is not stored at all (the caller says so in the log)."""
    return len(str(value)) <= _max_length(model, name)


def output_id(value: str) -> str:
    """FLORA's output id as stored: one too long for the column is cut and given a short hash
    of the whole, so it stays the same on every answer and unique within its run."""
    limit = _max_length(RunOutput, "output_id")
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{value[: limit - 13]}~{digest}"


def _get(remote: Any, name: str) -> Any:
    if isinstance(remote, dict):
        return remote.get(name)
    return getattr(remote, name, None)


def apply_remote(
    run: Run, remote: Any, *, request_id: str = "", now: datetime | None = None
) -> Run:
    """Copy FLORA's view of a run (a flora Run / RunListItem model or a dict) onto the row.

    Saves the row. Never moves a run backwards (a stale answer after a newer one is ignored
    for status), and creates RunOutput rows once the run has completed.
    """
    now = now or timezone.now()
    new_status = _flora_status(run, _get(remote, "status"))
    # Text outputs by position: FLORA sends the text itself as the output's url. It is kept
    # once, in RunOutput.text; outputs_raw keeps only its id and type.
    texts: dict[int, str] = {}
    was_terminal = run.status in TERMINAL_STATUSES

    ids = {
        "flora_run_id": _get(remote, "run_id") or _get(remote, "technique_run_id"),
        "workspace_id": _get(remote, "workspace_id"),
        "project_id": _get(remote, "project_id"),
        "poll_url": _get(remote, "poll_url"),
    }
    for column, value in ids.items():
        if not value or getattr(run, column):
            continue
        if fits(Run, column, value):
            setattr(run, column, str(value))
        else:
            logger.warning(
                "Run %s: FLORA's %s is %d characters long, more than the row holds; not kept",
                run.code,
                column.removeprefix("flora_"),
                len(str(value)),
            )
    run.flora_created_at = run.flora_created_at or to_datetime(_get(remote, "created_at"))
    if request_id:
        run.last_request_id = clip(Run, "last_request_id", request_id)

    if not was_terminal and _RANK[new_status] >= _RANK[RunStatus(run.status)]:
        run.status = new_status
        progress = to_progress(_get(remote, "progress"))
        if progress is not None:
            run.progress = max(_stored_progress(run), progress)
        run.started_at = to_datetime(_get(remote, "started_at")) or run.started_at
        if new_status in TERMINAL_STATUSES:
            run.completed_at = to_datetime(_get(remote, "completed_at")) or now
            cost = _get(remote, "charged_cost")
            run.charged_cost = to_decimal(cost)
            if run.charged_cost is None and cost is not None:
                logger.warning(
                    "Run %s: FLORA reported a charged cost of %.40r, which is no amount the "
                    "dashboard records; shown as unknown",
                    run.code,
                    cost,
                )
            if run.charged_cost is None and new_status == RunStatus.FAILED:
                run.charged_cost = Decimal("0")
            run.error_code = clip(Run, "error_code", _get(remote, "error_code"))
            run.error_message = str(_get(remote, "error_message") or "")
        outputs = _get(remote, "outputs")
        if outputs:
            run.outputs_raw = [_output_dict(o) for o in outputs]
            texts = {
                position: str(_get(o, "url") or "")
                for position, o in enumerate(outputs)
                if run.outputs_raw[position]["type"] == "text"
            }

    run.last_refreshed_at = now
    run.refresh_failures = 0
    run.next_refresh_at = None if run.is_terminal else now + refresh_interval(run, now)
    with transaction.atomic():
        run.save()
        if run.status == RunStatus.COMPLETED and run.outputs_raw:
            _record_outputs(run, texts)
    return run


def _flora_status(run: Run, value: Any) -> RunStatus:
    """FLORA's status as ours. A status FLORA adds later (the client parses it on purpose)
    does not end the run: it stays in flight, and the refresh keeps asking until FLORA
    says something known."""
    text = str(value or "")
    if text in FLORA_STATUSES:
        return RunStatus(text)
    logger.warning("Run %s: FLORA reported an unknown status %r", run.code, text[:50])
    return RunStatus(run.status) if run.status in FLORA_STATUSES else RunStatus.PENDING


def _stored_progress(run: Run) -> float:
    # A row written before progress was clamped may hold NaN or Infinity.
    return run.progress if math.isfinite(run.progress) else 0.0


def _output_dict(output: Any) -> dict[str, str]:
    raw = {
        "output_id": output_id(str(_get(output, "output_id") or "")),
        "type": clip(RunOutput, "type", _get(output, "type")),
    }
    if raw["type"] != "text":
        raw["url"] = str(_get(output, "url") or "")
    return raw


def _text_too_large(size: int, limit: int) -> str:
    # As florasite.lib.download says it of media files.
    return (
        f"The text ({filesizeformat(size)}) is larger than the {filesizeformat(limit)} limit "
        "(FLORASITE_OUTPUT_MAX_BYTES); it was not kept."
    )


def _text_output(run: Run, position: int, output_id: str, text: str) -> RunOutput:
    """A text output, kept at once (it is in FLORA's answer), unless it is over the limit."""
    data = text.encode()
    limit = settings.FLORASITE_OUTPUT_MAX_BYTES
    row = RunOutput(
        run=run,
        position=position,
        output_id=output_id,
        type="text",
        content_type="text/plain; charset=utf-8",
    )
    if len(data) > limit:
        row.keep_status = OutputKeepStatus.FAILED
        row.last_error = _text_too_large(len(data), limit)
        logger.warning("Output %s of run %s not kept: %s", output_id, run.code, row.last_error)
        return row
    row.text = text
    row.size = len(data)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.keep_status = OutputKeepStatus.KEPT
    row.kept_at = timezone.now()
    return row


def _record_outputs(run: Run, texts: dict[int, str]) -> None:
    """Create one RunOutput per FLORA output; text is kept at once, media waits for a copy."""
    existing = set(run.outputs.values_list("output_id", flat=True))
    new_rows = []
    for position, output in enumerate(run.outputs_raw):
        output_id = output["output_id"] or f"output_{position + 1}"
        if output_id in existing:
            continue
        if output["type"] == "text":
            # Rows written before texts were kept once still carry the text as the url.
            text = texts.get(position, output.get("url", ""))
            new_rows.append(_text_output(run, position, output_id, text))
            continue
        new_rows.append(
            RunOutput(
                run=run,
                position=position,
                output_id=output_id,
                type=output["type"],
                source_url=output["url"],
                keep_status=OutputKeepStatus.PENDING,
            )
        )
    if new_rows:
        RunOutput.objects.bulk_create(new_rows, ignore_conflicts=True)
        if any(row.keep_status == OutputKeepStatus.PENDING for row in new_rows):
            transaction.on_commit(lambda: _schedule_keep(run.pk))


def _schedule_keep(run_pk: int) -> None:
    # Imported late: the archive module depends on storage and httpx, state must not.
    from runs.tasks import keep_outputs

    keep_outputs.enqueue(run_pk)
