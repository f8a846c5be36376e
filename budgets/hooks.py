"""What budgets hangs on runs: the submission guard and the ending of a run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from budgets.models import EntryKind, LedgerEntry, to_dollars
from budgets.services import end_run, guard_submission
from runs.models import Run
from runs.money import Reservation

logger = logging.getLogger(__name__)


def reserve_for_submission(**kwargs: Any) -> None:
    guard_submission(**kwargs)


def settle_ended_run(sender: type[Run], run: Run, **kwargs: Any) -> None:
    """Settle or release in the transaction that ends the run. A failure here must not undo
    the run's new status: it is logged, and the nightly check (budgets.check) names it."""
    try:
        with transaction.atomic():
            end_run(run)
    except Exception:
        logger.exception("Budget ledger: the ending of run %s was not recorded", run.code)


def reservations_of(runs: Sequence[Run]) -> dict[int, Reservation]:
    """runs.money's lookup: each run's reservation and what became of it."""
    entries = LedgerEntry.objects.filter(run__in=[run.pk for run in runs]).values_list(
        "run_id", "kind", "amount"
    )
    reserved: dict[int, int] = {}
    ended: dict[int, str] = {}
    for run_id, kind, amount in entries:
        if kind == EntryKind.RESERVE:
            reserved[run_id] = amount
        else:
            ended[run_id] = "settled" if kind == EntryKind.SETTLE else "released"
    return {
        run_id: Reservation(to_dollars(amount), ended.get(run_id, "held"))
        for run_id, amount in reserved.items()
    }
