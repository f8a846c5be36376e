"""What budgets hangs on runs: the submission guard and the ending of a run."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from budgets.services import end_run, guard_submission
from runs.models import Run

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
