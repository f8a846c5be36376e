from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from exports import services, tasks
        from florasite import periodic

        # An export whose worker died (its claim ran out) or whose task was lost is queued
        # again; ready files past their time are deleted.
        periodic.register("exports.resume", timedelta(seconds=30), tasks.resume_exports)
        periodic.register("exports.expire", timedelta(hours=1), tasks.expire_exports)
        # A deleted team's export files leave storage (florasite.discards).
        pre_delete.connect(
            services.discard_team_files, sender="teams.Team", dispatch_uid="exports.discard"
        )
