"""django-tasks-db's `db_worker`, plus a heartbeat and the periodic-job ticker.

This command shadows django_tasks_db's own (florasite comes first in INSTALLED_APPS), so
`manage.py db_worker` is still the one command to run; it behaves exactly as upstream, and a
daemon thread beats and ticks every TICK_SECONDS. Every worker beats, even one that runs no
periodic jobs: a task result left RUNNING by a worker with no fresh heartbeat is taken for a
dead worker's and marked failed (florasite.tasks.fail_orphaned_tasks).

Unlike upstream, a worker serves every queue of the backend unless told otherwise
(`--queue-name`), so one `manage.py db_worker` does all the work; `make run` runs two, one
for output copies alone (bin/serve.py). `--threads N` runs N of upstream's worker loops in
one process (the copier uses 4: copies mostly wait on the network), under one worker id and
one heartbeat; SIGINT/SIGTERM lets each finish its task, a second one stops at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import CommandError
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as UpstreamCommand
from django_tasks_db.management.commands.db_worker import Worker

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
        parser.set_defaults(queue_name="*")
        parser.add_argument(
            "--no-periodic",
            action="store_false",
            dest="periodic",
            help="Do not run periodic jobs from this worker (it still beats).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="Worker loops in this process (default 1); each runs one task at a time.",
        )

    def handle(self, *args: Any, periodic: bool = True, threads: int = 1, **options: Any) -> None:
        if threads < 1:
            raise CommandError("--threads must be at least 1")
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
            if threads == 1:
                super().handle(*args, **options)
            else:
                self._run_threads(threads, **options)
        finally:
            stop.set()

    def _run_threads(self, count: int, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        workers = [
            Worker(
                queue_names=queue_names,
                interval=options["interval"],
                batch=options["batch"],
                backend_name=options["backend_name"],
                startup_delay=options["startup_delay"],
                max_tasks=options["max_tasks"],
                worker_id=options["worker_id"],
                excluded_queue_names=excluded,
            )
            for _ in range(count)
        ]
        stopping = threading.Event()

        def shutdown(signum: int, frame: FrameType | None) -> None:
            if stopping.is_set():
                logger.warning("Received %s again: stopping now.", signal.strsignal(signum))
                os._exit(1)
            logger.warning("Received %s: letting running tasks finish.", signal.strsignal(signum))
            for worker in workers:
                worker.running = False
            stopping.set()

        signals = [
            getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGQUIT") if hasattr(signal, n)
        ]
        previous = {number: signal.signal(number, shutdown) for number in signals}

        def loop(worker: Worker) -> None:
            try:
                worker.run()
            finally:
                connection.close()

        running = [
            threading.Thread(target=loop, args=(w,), name=f"worker-{i}", daemon=True)
            for i, w in enumerate(workers)
        ]
        for thread in running:
            thread.start()
        try:
            while any(thread.is_alive() for thread in running):
                for thread in running:
                    thread.join(0.5)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
