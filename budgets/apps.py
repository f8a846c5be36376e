from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = "Budgets and spend"

    def ready(self) -> None:
        from budgets import hooks, tasks
        from florasite import periodic
        from runs.money import register_reservations
        from runs.state import run_ended
        from runs.submit import register_guard

        # Before any FLORA create, the runs' prices are reserved (runs.submit's guards run
        # in the transaction that writes the rows); when a run ends it is settled.
        register_guard(hooks.reserve_for_submission)
        register_reservations(hooks.reservations_of)
        run_ended.connect(hooks.settle_ended_run, dispatch_uid="budgets.settle")
        periodic.register("budgets.check", timedelta(hours=24), tasks.check_ledger)
