"""The nightly check: balances, ledger and runs agree, or each disagreement is named."""

from __future__ import annotations

import pytest

import flora
from budgets import check
from budgets.models import Balance, LedgerEntry
from florasite import periodic
from runs.models import Run, RunStatus
from runs.state import apply_remote
from tests.budgets.helpers import reserved_run

pytestmark = pytest.mark.django_db


def _complete(run, charged=0.06):
    apply_remote(
        run,
        flora.Run.model_validate(
            {
                "run_id": f"run_{run.code}",
                "status": "completed",
                "progress": 100,
                "created_at": 1_790_000_000,
                "charged_cost": charged,
            }
        ),
    )


def test_a_consistent_ledger_has_no_mismatch(team_a, bob, team_budget):
    _complete(reserved_run(team_a, bob))
    reserved_run(team_a, bob)  # in flight
    assert check.check_all() == []


def test_a_balance_changed_behind_the_ledgers_back_is_named(team_a, bob, team_budget, caplog):
    run = reserved_run(team_a, bob)
    Balance.objects.filter(member__isnull=True).update(reserved=0)
    [mismatch] = check.check_team(team_a)
    assert "the balance of the team says reserved 0, spent 0" in str(mismatch)
    assert "the ledger sums to reserved 600, spent 0" in str(mismatch)
    assert "Budget ledger check: team acme" in caplog.text
    assert run.code not in str(mismatch)


def test_a_run_that_ended_without_its_ending_is_named(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)  # behind state.py's back
    found = [str(m) for m in check.check_team(team_a)]
    assert found == [
        f"team acme, {LedgerEntry.objects.get().month}: run {run.code} ended (failed) but its "
        "reservation was never settled or released"
    ]


def test_a_settlement_that_differs_from_the_charge_is_named(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    _complete(run, 0.06)
    Run.objects.filter(pk=run.pk).update(charged_cost="0.05")
    [mismatch] = check.check_team(team_a)
    assert f"run {run.code} was charged 500 but settled at 600" in str(mismatch)


def test_a_charged_run_missing_from_the_ledger_is_named(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    _complete(run)
    LedgerEntry.objects.filter(run=run).delete()
    Balance.objects.update(reserved=0, spent=0)
    [mismatch] = check.check_team(team_a)
    assert f"run {run.code} was charged 0.0600 and is not in the ledger" in str(mismatch)


def test_the_check_is_a_nightly_periodic_job():
    job = periodic._JOBS["budgets.check"]
    assert job.every.total_seconds() == 24 * 3600
    assert job.task.name == "check_ledger"
