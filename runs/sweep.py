"""The background sweep: refresh the in-flight runs nobody watches, flag runs that never end.

The periodic job "runs.sweep" (every 5 s) asks FLORA about each run whose next refresh is
overdue, through runs.refresh, so it takes its turn with the status fragment's viewers and
the webhook's refresh: each run is claimed before FLORA is asked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from runs.jobs import savepoint
from runs.models import IN_FLIGHT_STATUSES, Run
from runs.refresh import REFRESHABLE_STATUSES, STALE_REFRESH_INTERVAL, refresh_in_background

__all__ = ["SweepReport", "sweep"]

logger = logging.getLogger(__name__)

# One sweep refreshes at most this many runs and stops after this long; the next sweep
# (every 5 s) carries on, so a backlog drains without one task running for minutes.
SWEEP_BATCH = 100
SWEEP_BUDGET_SECONDS = 20.0


@dataclass
class SweepReport:
    flagged_stale: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_early: bool = False

    def count(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)


def _flag_stale(now: datetime) -> list[str]:
    """Flag runs unfinished after FLORA_RUN_STALE_AFTER; they are then asked about rarely."""
    cutoff = now - timedelta(seconds=settings.FLORA_RUN_STALE_AFTER)
    overdue = Run.objects.filter(
        status__in=IN_FLIGHT_STATUSES, stale=False, created_at__lte=cutoff
    ).values_list("pk", "code")[:500]
    rows = list(overdue)
    if not rows:
        return []
    Run.objects.filter(pk__in=[pk for pk, _ in rows], stale=False).update(
        stale=True, next_refresh_at=now + STALE_REFRESH_INTERVAL
    )
    codes = [code for _, code in rows]
    logger.warning(
        "%d run(s) still unfinished after %d s, flagged stale: %s",
        len(codes),
        settings.FLORA_RUN_STALE_AFTER,
        ", ".join(codes[:20]) + (" ..." if len(codes) > 20 else ""),
    )
    return codes


def sweep(
    now: datetime | None = None,
    *,
    batch: int = SWEEP_BATCH,
    budget_seconds: float = SWEEP_BUDGET_SECONDS,
) -> SweepReport:
    """Refresh in-flight runs whose next refresh is overdue, and flag runs that never end.

    Safe with any number of workers at once: each run is claimed before FLORA is asked. A run
    whose refresher died is picked up as soon as its lease runs out.
    """
    now = now or timezone.now()
    report = SweepReport(flagged_stale=_flag_stale(now))
    due = (
        Run.objects.filter(status__in=REFRESHABLE_STATUSES, flora_run_id__isnull=False)
        .filter(Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
        .filter(Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lte=now))
        .order_by(F("next_refresh_at").asc(nulls_first=True), "pk")
        .values_list("pk", "code")[:batch]
    )
    deadline = time.monotonic() + budget_seconds
    for run_pk, code in list(due):
        if time.monotonic() > deadline:
            report.stopped_early = True
            break
        try:
            with savepoint():
                outcome = refresh_in_background(run_pk)
        except Exception:
            # One run must not keep every other team's runs from being refreshed.
            logger.exception("Sweep: refreshing run %s failed; going on with the others", code)
            outcome = "error"
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    if report.outcomes or report.flagged_stale:
        # Routine refreshes are debug noise; failures, stale runs and backlogs are news.
        notable = (
            report.count("failed")
            or report.count("error")
            or report.flagged_stale
            or report.stopped_early
        )
        logger.log(
            logging.INFO if notable else logging.DEBUG,
            "Sweep: %s; %d flagged stale%s",
            ", ".join(f"{n} {what}" for what, n in sorted(report.outcomes.items()))
            or "nothing due",
            len(report.flagged_stale),
            " (stopped at the time budget)" if report.stopped_early else "",
        )
    return report
