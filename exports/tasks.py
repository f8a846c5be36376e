"""The exports app's background work; the one module of exports that queues.

Exports run on the outputs queue (runs.tasks.OUTPUTS_QUEUE, named here as uploads names
it): the copier's worker, several threads, where long CPU work never delays a run's status,
a sweep or a reconciliation on the default queue.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

from exports import services

logger = logging.getLogger(__name__)

EXPORTS_QUEUE = "outputs"


@task(queue_name=EXPORTS_QUEUE)
def build_export(export_pk: int) -> str:
    """Write one export's file (exports.services.build)."""
    return services.build(export_pk)


@task()
def resume_exports() -> None:
    """Exports whose task was lost or whose worker died, queued again."""
    for pk in services.due_for_resume():
        _enqueue(pk)


@task()
def expire_exports() -> None:
    """Files of exports past their time deleted (FLORASITE_EXPORT_KEEP_DAYS)."""
    services.expire()


def _enqueue(export_pk: int) -> None:
    try:
        build_export.enqueue(export_pk)
    except Exception:
        # The row stays queued; exports.resume queues it once its grace has run out.
        logger.exception("Could not queue export %s; the periodic job will", export_pk)


def build_soon(export_pk: int) -> None:
    """After the export's row is committed: its task."""
    transaction.on_commit(lambda: _enqueue(export_pk))
