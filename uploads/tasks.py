"""Background work of uploads (django-tasks): an upload's thumbnails, soon after it is kept.

A failure to queue is harmless: the periodic runs.thumbs job also makes what is due.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

from uploads import thumbnails

logger = logging.getLogger(__name__)

# The outputs queue (runs.tasks.OUTPUTS_QUEUE, named here: uploads import no runs), where
# every thumbnail is made: their CPU never delays a run's status.
THUMBS_QUEUE = "outputs"


@task(queue_name=THUMBS_QUEUE)
def make_upload_thumbnail(upload_pk: int) -> None:
    thumbnails.make_upload_thumbnail(upload_pk)


def thumbs_soon(upload_pk: int) -> None:
    """Queue an upload's thumbnails after the commit; a failure is left to the periodic job."""

    def enqueue() -> None:
        try:
            make_upload_thumbnail.enqueue(upload_pk)
        except Exception:
            logger.exception("Could not queue the thumbnails of upload %s", upload_pk)

    transaction.on_commit(enqueue)
