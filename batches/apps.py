from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "batches"
    verbose_name = "Batches"

    def ready(self) -> None:
        from batches import tasks
        from florasite import periodic

        # Rows of every batch are started here, a few per team at a time (batches.worker).
        periodic.register("batches.start", timedelta(seconds=2), tasks.start_batch_rows)
