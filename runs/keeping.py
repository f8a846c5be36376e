"""Keeping run outputs: copy FLORA's media files into the dashboard's own storage.

FLORA's output URLs are long-lived but not permanent, so when a run completes the worker
copies each media output into Django's default storage (a local folder, or S3 and the like
through django-storages) and records its size, content type and checksum. Result pages and
share links serve that copy; FLORA's URL is only ever read here, through
florasite.lib.download (public addresses only, a size limit, a deadline and a rate floor)
with the content types of runs.content_types.

Failures are retried with exponential backoff up to MAX_ATTEMPTS; refusals (unsafe URL, too
large, wrong type) are final at once. Each output is claimed with a conditional UPDATE
before it is fetched, so several workers never copy the same one; the claim is a short lease
the copying worker renews, so one that dies mid-copy is replaced in a minute.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from florasite import discards
from florasite.lib.download import download
from florasite.lib.public_http import DownloadFailed, DownloadRefused
from runs import content_types
from runs.jobs import savepoint
from runs.models import OutputKeepStatus, Run, RunOutput

__all__ = [
    "MAX_ATTEMPTS",
    "keep_output",
    "keep_run_outputs",
    "reset_failed_outputs",
    "retry_due_outputs",
]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Backoff after attempt n (1-based): 1, 2, 4, 8, 16 minutes... capped.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# A claimed output is left alone by other workers this long. The worker copying it renews
# the claim every LEASE_RENEWAL for as long as the copy runs (_renewing_claim), so the lease
# need not outlast the longest download, only a dead worker: one killed mid-copy leaves the
# output to the retry job (runs.apps) about a minute later, not after fifteen.
CLAIM_LEASE = timedelta(seconds=60)
LEASE_RENEWAL = CLAIM_LEASE / 3
# The periodic retry handles at most this many outputs per tick, and stops starting new
# copies after this many seconds, so ticks never pile up behind a slow server.
RETRY_BATCH = 20
RETRY_BUDGET_SECONDS = 45.0
# At most this many of one team's copies run at once in one worker process; one more is left
# pending, unclaimed, for the periodic retry. The copier runs several threads (bin/serve.py),
# so a team whose file server drips holds at most this many of them, never all.
TEAM_COPIES_AT_ONCE = 2

_team_copies: dict[int, int] = {}
_team_copies_lock = threading.Lock()


def _described_url(url: str) -> str:
    """Host and path only: signed URLs carry secrets in their query string."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}{parts.path}"


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1, 2, 4, 8... minutes, at most BACKOFF_MAX."""
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def _due(now: datetime) -> Q:
    return Q(keep_status=OutputKeepStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _claim(output_pk: int, now: datetime) -> datetime | None:
    """Take the output for this worker: the claim's end, or None when someone else has it
    or it is not due. A claim is an attempt: a later claim by anyone has a higher count."""
    until = now + CLAIM_LEASE
    claimed = RunOutput.objects.filter(_due(now), pk=output_pk).update(
        attempts=F("attempts") + 1, next_attempt_at=until
    )
    return until if claimed == 1 else None


def _still_ours(output: RunOutput) -> QuerySet[RunOutput]:
    """The output's row, as long as no other worker claimed it after this one."""
    return RunOutput.objects.filter(
        pk=output.pk, keep_status=OutputKeepStatus.PENDING, attempts=output.attempts
    )


@contextlib.contextmanager
def _renewing_claim(output: RunOutput, until: datetime) -> Iterator[None]:
    """Keep this worker's claim on `output` alive while the block runs.

    A thread renews it every LEASE_RENEWAL, whether or not bytes are arriving, with an UPDATE
    that matches only the lease this worker last wrote: it never renews a claim another
    worker took once ours ran out, nor overwrites the retry time of an outcome already
    recorded. The thread uses its own database connection and closes it when the block ends.
    """
    stop = threading.Event()

    def renew(until: datetime) -> None:
        try:
            while not stop.wait(LEASE_RENEWAL.total_seconds()):
                renewed = timezone.now() + CLAIM_LEASE
                mine = _still_ours(output).filter(next_attempt_at=until)
                try:
                    if not mine.update(next_attempt_at=renewed):
                        return
                    until = renewed
                except Exception:  # the database may be back by the next renewal
                    logger.exception("Could not renew the claim on output %s", output.pk)
        finally:
            connection.close()

    thread = threading.Thread(
        target=renew, args=(until,), name=f"keep-lease-{output.pk}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _record_failure(output: RunOutput, message: str, *, final: bool) -> str:
    now = timezone.now()
    give_up = final or output.attempts >= MAX_ATTEMPTS
    _still_ours(output).update(
        keep_status=OutputKeepStatus.FAILED if give_up else OutputKeepStatus.PENDING,
        next_attempt_at=None if give_up else now + backoff(output.attempts),
        last_error=message[:500],
    )
    logger.warning(
        "Output %s of run %s not kept (attempt %s, %s): %s [%s]",
        output.output_id,
        output.run.code,
        output.attempts,
        "giving up" if give_up else "will retry",
        message,
        _described_url(output.source_url),
    )
    return OutputKeepStatus.FAILED if give_up else OutputKeepStatus.PENDING


def _storage_name(output: RunOutput, extension: str) -> str:
    name = f"{output.run.code}-{output.position + 1}.{extension}"
    return output.file.field.generate_filename(output, name)


def keep_output(output_pk: int, *, client: httpx.Client | None = None) -> str:
    """Copy one pending media output into storage, if it is due and this worker claims it.

    Returns the output's keep status afterwards, "skipped" when it was not claimed, or
    "deferred" when its team already has TEAM_COPIES_AT_ONCE copies running here (it stays
    due, for the periodic retry).
    """
    team_id = RunOutput.objects.filter(pk=output_pk).values_list("run__team_id", flat=True).first()
    if team_id is None:
        return "skipped"
    with _team_slot(team_id) as slot:
        if not slot:
            return "deferred"
        until = _claim(output_pk, timezone.now())
        if until is None:
            return "skipped"
        output = RunOutput.objects.select_related("run").get(pk=output_pk)
        with _renewing_claim(output, until):
            return _copy(output, client)


@contextlib.contextmanager
def _team_slot(team_id: int) -> Iterator[bool]:
    """One of the team's copy slots in this process, if one is free (see TEAM_COPIES_AT_ONCE)."""
    with _team_copies_lock:
        busy = _team_copies.get(team_id, 0)
        if busy >= TEAM_COPIES_AT_ONCE:
            got = False
        else:
            _team_copies[team_id] = busy + 1
            got = True
    try:
        yield got
    finally:
        if got:
            with _team_copies_lock:
                _team_copies[team_id] -= 1
                if not _team_copies[team_id]:
                    del _team_copies[team_id]


def _copy(output: RunOutput, client: httpx.Client | None) -> str:
    """keep_output's work once the output is claimed: fetch, store, record the outcome."""
    if not output.source_url:
        return _record_failure(output, "FLORA gave no URL for this output.", final=True)
    try:
        fetched = download(
            output.source_url,
            allowed=content_types.allowed_types(output.type),
            expected=content_types.described(output.type),
            max_bytes=settings.FLORASITE_OUTPUT_MAX_BYTES,
            client=client,
        )
    except DownloadRefused as exc:
        return _record_failure(output, str(exc), final=True)
    except DownloadFailed as exc:
        return _record_failure(output, str(exc), final=False)
    except Exception:
        # A bug or a storage outage must not stop the other outputs; it is logged in full.
        logger.exception("Unexpected error copying output %s of run %s", output.pk, output.run)
        return _record_failure(output, "An unexpected error stopped the copy.", final=False)

    try:
        stored = default_storage.save(
            _storage_name(output, content_types.extension(fetched.content_type)),
            File(fetched.file, name="output"),
        )
    except Exception:
        logger.exception("Could not write output %s of run %s to storage", output.pk, output.run)
        return _record_failure(output, "The copy could not be written to storage.", final=False)
    finally:
        fetched.file.close()

    updated = _still_ours(output).update(
        file=stored,
        content_type=fetched.content_type,
        size=fetched.size,
        sha256=fetched.sha256,
        keep_status=OutputKeepStatus.KEPT,
        kept_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    if not updated:
        # The row changed under us (deleted, reset by an admin, or claimed by another worker
        # after our lease ran out): do not leave an orphan.
        default_storage.delete(stored)
        return "skipped"
    logger.info(
        "Kept output %s of run %s (%s bytes, %s)",
        output.output_id,
        output.run.code,
        fetched.size,
        fetched.content_type,
    )
    return OutputKeepStatus.KEPT


def keep_run_outputs(run_pk: int) -> dict[str, int]:
    """Copy every due media output of one run (the task enqueued when a run completes)."""
    now = timezone.now()
    rows = list(
        RunOutput.objects.filter(_due(now), run_id=run_pk)
        .order_by("position")
        .values_list("pk", "run__code")
    )
    outcome: dict[str, int] = {}
    for pk, code in rows:
        status = _keep_isolated(pk, code)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def _keep_isolated(output_pk: int, run_code: str) -> str:
    """keep_output, with a failure logged and contained: the other outputs are still kept."""
    try:
        with savepoint():
            return keep_output(output_pk)
    except Exception:
        logger.exception("Keeping output %s of run %s failed", output_pk, run_code)
        return "error"


def _fair_order(now: datetime) -> list[tuple[int, str]]:
    """The due outputs one retry tick tries, in turn: the least failed first, teams by turns.

    An output that keeps failing (a stuck server costs up to STALL_GRACE each time) goes
    after outputs that failed less or were never tried, and every team's best candidate
    comes before any team's second: however many bad outputs one team has, another team's
    output waits behind at most one of them per round.
    """
    rows = (
        RunOutput.objects.filter(_due(now))
        .order_by("attempts", F("next_attempt_at").asc(nulls_first=True), "pk")
        .values_list("pk", "run__team_id", "run__code")[: RETRY_BATCH * 5]
    )
    by_team: dict[int, list[tuple[int, str]]] = {}
    for pk, team_id, code in rows:
        by_team.setdefault(team_id, []).append((pk, code))
    turns = itertools.zip_longest(*by_team.values())
    return [item for turn in turns for item in turn if item is not None][:RETRY_BATCH]


def retry_due_outputs(now: datetime | None = None) -> int:
    """Copy outputs whose retry is due, or whose copy was never attempted (the periodic job).

    Returns how many were attempted.
    """
    now = now or timezone.now()
    started = time.monotonic()
    pks = _fair_order(now)
    attempted = 0
    for pk, code in pks:
        if time.monotonic() - started > RETRY_BUDGET_SECONDS:
            break
        if _keep_isolated(pk, code) not in ("skipped", "deferred"):
            attempted += 1
    return attempted


def reset_failed_outputs(runs: QuerySet[Run]) -> int:
    """Give outputs that could not be kept a fresh set of attempts (admin action).

    Text outputs are left alone: they are refused for their size, which another attempt
    cannot change (and they have no URL to fetch again).
    """
    failed = RunOutput.objects.filter(run__in=runs, keep_status=OutputKeepStatus.FAILED)
    count = failed.exclude(type="text").update(
        keep_status=OutputKeepStatus.PENDING, attempts=0, next_attempt_at=None, last_error=""
    )
    return count


# Thumbnails are stored once per content (florasite.lib.thumbs): another team's may be ours.
THUMBS_IN_USE = discards.held_in(RunOutput, "thumb_small", "thumb_large", prefix="thumbs/")


def discard_team_files(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_delete of a Team: its kept outputs and thumbnails, for the worker to delete."""
    discards.discard_columns(
        RunOutput.objects.filter(run__team=instance), "file", "thumb_small", "thumb_large"
    )
