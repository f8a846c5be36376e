"""The one place that moves a Run between states from what FLORA says.

Submission (the create answer), the status fragment's refresh, the background sweep, the
history sync and the reconciler all call ``apply_remote`` with FLORA's typed answer (a
flora Run or RunListItem), so they agree on what it means and a late or repeated answer can
never move a run backwards. ``failed_to_start`` and ``mark_checking`` record a create call
that started nothing, or whose outcome is unknown.

Nothing here queues work: media outputs left to copy are announced with the
``outputs_waiting`` signal once the row is committed (runs.tasks queues the copy), and the
periodic jobs pick up whatever is due (runs.apps).
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from flora import Run as RemoteRun
from flora import RunOutput as RemoteOutput
from flora import to_datetime
from florasite.lib.flora_words import Refusal
from runs.columns import clip, fits, output_id, to_decimal
from runs.models import (
    FLORA_STATUSES,
    TERMINAL_STATUSES,
    OutputKeepStatus,
    Run,
    RunOutput,
    RunStatus,
    ThumbStatus,
)

__all__ = [
    "apply_remote",
    "background_interval",
    "failed_to_start",
    "mark_checking",
    "moment",
    "outputs_waiting",
    "refresh_interval",
    "run_ended",
    "technique_key",
]

logger = logging.getLogger(__name__)

# Sent (sender=Run, run_pk=...) after the commit that recorded media outputs to copy.
outputs_waiting = Signal()
# Sent (sender=Run, run=...) once, in the transaction that saves a run's move to a terminal
# status (completed, failed, failed to start): budgets settles or releases its reservation.
# A run in `checking` is not ended: its reservation stays until the reconciler decides.
run_ended = Signal()

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


# With a webhook on the way (FLORA took the run's callback URL), the background sweep waits
# for it: its first look is this long after submission (FLORA's technique runs rarely take
# longer; it publishes no expected duration). A run still unheard of by then has a late or
# lost webhook, and the sweep catches it up at the normal pace from then on. Viewers' polls
# (runs.refresh.claim_refresh) keep the normal pace throughout.
WEBHOOK_EXPECTED_WITHIN = timedelta(seconds=60)


def background_interval(run: Run, now: datetime | None = None) -> timedelta:
    """How long until the sweep next asks about an in-flight run (``next_refresh_at``)."""
    now = now or timezone.now()
    if run.webhook_expected:
        wait = (run.submitted_at or run.created_at) + WEBHOOK_EXPECTED_WITHIN - now
        if wait > timedelta(0):
            return wait
    return refresh_interval(run, now)


def technique_key(technique_id: str) -> str:
    """FLORA names a technique by id (tech_x) or by slug (x): one key for both."""
    return technique_id.removeprefix("tech_")


def moment(timestamp: float | None) -> datetime | None:
    """A FLORA timestamp as a datetime (flora.to_datetime). 0, the spec's placeholder in its
    examples and no moment in a run's life, is unknown too."""
    return to_datetime(timestamp) if timestamp else None


def apply_remote(
    run: Run, remote: RemoteRun, *, request_id: str = "", now: datetime | None = None
) -> Run:
    """Copy FLORA's view of a run (a flora Run, or a RunListItem of the history) onto the row.

    Saves the row. Never moves a run backwards (a stale answer after a newer one is ignored
    for status), and creates RunOutput rows once the run has completed.
    """
    now = now or timezone.now()
    new_status = _flora_status(run, remote.status)
    # Text outputs by position: FLORA sends the text itself as the output's url. It is kept
    # once, in RunOutput.text; outputs_raw keeps only its id and type.
    texts: dict[int, str] = {}
    was_terminal = run.status in TERMINAL_STATUSES

    # A history item declares these; a single run's answer may carry them as extra fields.
    ids = {
        "flora_run_id": remote.run_id or getattr(remote, "technique_run_id", None),
        "workspace_id": getattr(remote, "workspace_id", None),
        "project_id": getattr(remote, "project_id", None),
        "poll_url": remote.poll_url,
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
    run.flora_created_at = run.flora_created_at or moment(remote.created_at)
    if request_id:
        run.last_request_id = clip(Run, "last_request_id", request_id)

    if not was_terminal and _RANK[new_status] >= _RANK[RunStatus(run.status)]:
        run.status = new_status
        # FLORA's progress arrives clamped into 0..100 (flora's model); never backwards.
        run.progress = max(_stored_progress(run), remote.progress)
        run.started_at = moment(remote.started_at) or run.started_at
        if new_status in TERMINAL_STATUSES:
            run.completed_at = moment(remote.completed_at) or now
            cost = remote.charged_cost
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
            run.error_code = clip(Run, "error_code", remote.error_code)
            run.error_message = str(remote.error_message or "")
        if remote.outputs:
            run.outputs_raw = [_output_dict(o) for o in remote.outputs]
            texts = {
                position: o.url
                for position, o in enumerate(remote.outputs)
                if run.outputs_raw[position]["type"] == "text"
            }

    run.last_refreshed_at = now
    run.refresh_failures = 0
    run.next_refresh_at = None if run.is_terminal else now + background_interval(run, now)
    with transaction.atomic():
        run.save()
        if run.status == RunStatus.COMPLETED and run.outputs_raw:
            _record_outputs(run, texts)
        if not was_terminal and run.is_terminal:
            run_ended.send(sender=Run, run=run)
    return run


def failed_to_start(run: Run, refusal: Refusal, *, now: datetime | None = None) -> None:
    """FLORA refused the run: keep the row (history stays honest) with the reason."""
    was_terminal = run.is_terminal
    run.status = RunStatus.FAILED_TO_START
    run.error_code = refusal.code[:100]
    run.error_message = refusal.message
    run.last_request_id = refusal.request_id[:200]
    run.completed_at = now or timezone.now()
    run.charged_cost = Decimal("0")
    run.next_refresh_at = None
    with transaction.atomic():
        run.save()
        if not was_terminal:
            run_ended.send(sender=Run, run=run)


def mark_checking(run: Run, error: Exception, *, note: str = "") -> None:
    """The create's outcome is unknown: show "checking with FLORA"; the reconciler (a
    periodic job) finds the run or gives up."""
    run.status = RunStatus.CHECKING
    run.error_code = note
    run.last_request_id = (getattr(error, "request_id", None) or "")[:200]
    run.next_refresh_at = None
    run.save()


def _flora_status(run: Run, value: str) -> RunStatus:
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


def _output_dict(output: RemoteOutput) -> dict[str, str]:
    raw = {"output_id": output_id(output.output_id), "type": clip(RunOutput, "type", output.type)}
    if raw["type"] != "text":
        raw["url"] = output.url
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
        team_id=run.team_id,
        created_at=run.created_at,
        position=position,
        output_id=output_id,
        type="text",
        content_type="text/plain; charset=utf-8",
        thumb_status=ThumbStatus.NONE,  # a text is shown as a tile of its own
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
                team_id=run.team_id,
                created_at=run.created_at,
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
            run_pk = run.pk
            transaction.on_commit(lambda: outputs_waiting.send(sender=Run, run_pk=run_pk))
