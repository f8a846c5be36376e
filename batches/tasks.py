"""The batches app's background work; the one module of batches that queues."""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

from batches import worker

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
