"""Runs started with the team's key elsewhere count toward its spend once the sync imports
them (a settle entry without a reservation); the admin shows budgets and the ledger."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from budgets.models import EntryKind, LedgerEntry, to_units
from budgets.services import scope_figures
from runs import sync
from runs.models import Run, RunStatus
from tests.runs.live_helpers import start_flora_run

pytestmark = pytest.mark.django_db


def test_a_synced_outside_run_counts_toward_spend(team_a, upstream, clock, team_budget):
    done = start_flora_run(team_a, question="Finished elsewhere")
    clock.advance_past(done.run_id)
    running = start_flora_run(team_a, question="Still going [slow]")
    clock.advance(3)

    assert len(sync.sync_team(team_a.pk).imported) == 2

    completed = Run.objects.get(flora_run_id=done.run_id)
    assert completed.status == RunStatus.COMPLETED and completed.charged_cost
    [entry] = LedgerEntry.objects.filter(team=team_a)
    assert (entry.run, entry.kind, entry.reserved_delta) == (completed, EntryKind.SETTLE, 0)
    assert entry.spent_delta == to_units(completed.charged_cost)
    assert entry.note == "no reservation (imported or earlier run)"
    figures = scope_figures(team_a, None, entry.month)
    assert figures.spent == entry.spent_delta and figures.reserved == 0
    # The one still running counts once it ends.
    assert not LedgerEntry.objects.filter(run__flora_run_id=running.run_id).exists()


def test_the_admin_lists_budgets_and_the_ledger(team_a, bob, team_budget):
    from tests.budgets.helpers import reserved_run

    reserved_run(team_a, bob)
    staff = get_user_model().objects.create_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    for path in (
        "/admin/budgets/budget/",
        f"/admin/budgets/budget/{team_budget.pk}/change/",
        "/admin/budgets/ledgerentry/",
        "/admin/budgets/balance/",
        "/admin/budgets/sentalert/",
        f"/admin/teams/team/{team_a.pk}/change/",
    ):
        assert client.get(path).status_code == 200, path
    assert "reserve" in client.get("/admin/budgets/ledgerentry/").content.decode()
    assert client.get("/admin/budgets/ledgerentry/add/").status_code == 403
