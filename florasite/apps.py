from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class FlorasiteConfig(AppConfig):
    name = "florasite"
    verbose_name = "florasite processes"

    def ready(self) -> None:
        from florasite import periodic, tasks

        periodic.register("florasite.housekeeping", timedelta(hours=6), tasks.housekeeping)
        # A task whose worker died is marked failed about a minute after its last beat.
        periodic.register(
            "florasite.dead_workers", timedelta(minutes=1), tasks.fail_dead_workers_tasks
        )
        # Files of deleted teams (florasite.discards), deleted from storage within a minute.
        periodic.register("florasite.discards", timedelta(minutes=1), tasks.delete_discarded_files)
