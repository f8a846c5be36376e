from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        from florasite import periodic
        from runs import tasks

        # Runs nobody watches are refreshed by the sweep; runs started elsewhere are
        # imported by the sync; create calls whose answer was lost are reconciled.
        periodic.register("runs.sweep", timedelta(seconds=5), tasks.sweep_runs)
        periodic.register("runs.reconcile", timedelta(seconds=15), tasks.reconcile_runs)
        periodic.register("runs.sync", timedelta(minutes=2), tasks.sync_all_teams)
        periodic.register("runs.keep", timedelta(seconds=20), tasks.retry_keeping_outputs)
        periodic.register("runs.prune_webhooks", timedelta(hours=6), tasks.prune_webhook_deliveries)
