"""The batches app's background work; the one module of batches that queues."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django_tasks import task

from batches import worker
from batches.models import BatchRow, RowState

logger = logging.getLogger(__name__)


@task()
def start_batch_rows() -> None:
    """Start the due rows of every team's batches (batches.worker.start_due)."""
    worker.start_due()


def start_soon() -> None:
    """After a batch is made or approved: a pass now, not at the next periodic tick."""

    def enqueue() -> None:
        try:
            start_batch_rows.enqueue()
        except Exception:
            logger.exception("Could not queue a batch pass; the periodic job will start it")

    transaction.on_commit(enqueue)


def run_ended(sender: Any, *, run_pk: int, **kwargs: Any) -> None:
    """runs.state.outputs_waiting (a run completed): a batch's slot is free, so start the
    next row now rather than at the next batches.start tick."""
    if BatchRow.objects.filter(run_id=run_pk, state=RowState.STARTED).exists():
        try:
            start_batch_rows.enqueue()
        except Exception:
            logger.exception("Could not queue a batch pass; the periodic job will start it")
