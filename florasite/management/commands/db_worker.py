"""django-tasks-db's `db_worker`, plus a heartbeat and the periodic-job ticker.

This command shadows django_tasks_db's own (florasite comes first in INSTALLED_APPS), so
`manage.py db_worker` is still the one command to run; it behaves exactly as upstream, and a
daemon thread beats and ticks every TICK_SECONDS. Every worker beats, even one that runs no
periodic jobs: a task result left RUNNING by a worker with no fresh heartbeat is taken for a
dead worker's and marked failed (florasite.tasks.fail_orphaned_tasks).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as UpstreamCommand

from florasite import periodic

logger = logging.getLogger("florasite.worker")

TICK_SECONDS = 5.0


def _ticker(worker_id: str, stop: threading.Event, *, jobs: bool = True) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            periodic.beat(worker_id)
            if jobs:
                periodic.tick(worker_id)
        except Exception:  # a failed tick must not kill the worker; the next one retries
            logger.exception("Periodic tick failed")
        finally:
            connection.close()
        stop.wait(TICK_SECONDS)


class Command(UpstreamCommand):
    help = "Run a background worker (django-tasks database backend) with periodic jobs"

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--no-periodic",
            action="store_false",
            dest="periodic",
            help="Do not run periodic jobs from this worker (it still beats).",
        )

    def handle(self, *args: Any, periodic: bool = True, **options: Any) -> None:
        stop = threading.Event()
        thread = threading.Thread(
            target=_ticker,
            args=(options["worker_id"], stop),
            kwargs={"jobs": periodic and not options.get("batch")},
            name="periodic",
            daemon=True,
        )
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
