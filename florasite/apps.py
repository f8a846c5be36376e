from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class FlorasiteConfig(AppConfig):
    name = "florasite"
    verbose_name = "florasite processes"

    def ready(self) -> None:
        from florasite import periodic

        periodic.register(
            "florasite.housekeeping", timedelta(hours=6), "florasite.tasks.housekeeping"
        )
        # A task whose worker died is marked failed about a minute after its last beat.
        periodic.register(
            "florasite.dead_workers",
            timedelta(minutes=1),
            "florasite.tasks.fail_dead_workers_tasks",
        )
