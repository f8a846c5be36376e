"""Background work of budgets (the nightly ledger check), run by the worker."""

from __future__ import annotations

from django_tasks import task

from budgets import check


@task()
def check_ledger() -> None:
    """Compare the balances, the ledger and the runs of every team; log what disagrees."""
    check.check_all()
