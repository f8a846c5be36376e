"""Background work of budgets (the nightly ledger check), run by the worker."""

from __future__ import annotations

from django_tasks import task

from budgets import alerts, check


@task()
def check_ledger() -> None:
    """Compare the balances, the ledger and the runs of every team; log what disagrees."""
    check.check_all()


@task()
def send_alerts(team_id: int, member_id: int | None, month: str) -> None:
    """The threshold emails due after a reservation or an ending (budgets.alerts): in the
    worker, so that no page waits on an SMTP server."""
    alerts.check_thresholds(team_id, member_id, month)
