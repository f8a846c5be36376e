from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "batches"
    verbose_name = "Batches"

    def ready(self) -> None:
        from batches import tasks
        from batches.views.start import batch_of_form
        from florasite import periodic
        from runs.multi import register_batch_maker
        from runs.state import outputs_waiting

        # The run form's several runs (allow_multiple) become a batch.
        register_batch_maker(batch_of_form)

        # Rows of every batch are started here, a few per team at a time (batches.worker).
        periodic.register("batches.start", timedelta(seconds=2), tasks.start_batch_rows)
        # A batch run that completed frees a slot: the next row starts at once.
        outputs_waiting.connect(tasks.run_ended, dispatch_uid="batches.run_ended")
