"""Reservations: all or nothing, the team's and the member's caps, months, unknown prices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from budgets.models import Balance, EntryKind, LedgerEntry, to_units
from budgets.services import BudgetRefused, reserve_many, scope_figures
from runs.models import Run
from tests.budgets.conftest import set_budget
from tests.budgets.helpers import reserved_run

pytestmark = pytest.mark.django_db


def _team_figures(team, month):
    return scope_figures(team, None, month)


def test_a_batch_that_does_not_fit_is_refused_whole(team_a, bob, team_budget):
    reserve_many(team_a, bob, [Decimal("0.10")])
    with pytest.raises(BudgetRefused) as refused:
        reserve_many(team_a, bob, [Decimal("0.06")] * 4)  # 0.24 > the 0.20 left

    assert "needs $0.24" in refused.value.message and "has $0.20 left" in refused.value.message
    # Nothing of the batch was reserved: one entry (the first reservation), one balance.
    assert LedgerEntry.objects.count() == 1
    month = LedgerEntry.objects.get().month
    assert _team_figures(team_a, month).reserved == to_units(Decimal("0.10"))
    # A batch that fits is reserved whole, one entry per amount.
    entries = reserve_many(team_a, bob, [Decimal("0.05")] * 4)
    assert [e.amount for e in entries] == [500] * 4
    assert _team_figures(team_a, month).remaining == 0


def test_the_refusal_says_what_remains_and_who_can_raise_it(team_a, alice, bob, team_budget):
    alice.first_name, alice.last_name = "Alice", "Manager"
    alice.save()
    with pytest.raises(BudgetRefused) as refused:
        reserve_many(team_a, bob, [Decimal("0.31")])
    message = refused.value.message
    assert "Over budget: this needs $0.31 and the team's budget has $0.30 left" in message
    assert "Nothing was started." in message
    assert "Managers who can raise it: Alice Manager." in message


def test_a_member_cap_below_the_team_cap_stops_the_member_only(team_a, alice, bob, team_budget):
    set_budget(team_a, "0.10", member=bob)

    reserved_run(team_a, bob)
    with pytest.raises(BudgetRefused) as refused:
        reserved_run(team_a, bob)  # 0.12 > bob's 0.10
    assert "your own budget has $0.04 left" in refused.value.message
    # The refused run's row was rolled back with its reservation.
    assert Run.objects.count() == 1
    # Alice has no cap of her own: the team's budget still has room for her.
    reserved_run(team_a, alice)
    reserved_run(team_a, alice)
    month = LedgerEntry.objects.first().month
    assert _team_figures(team_a, month).reserved == to_units(Decimal("0.18"))
    assert scope_figures(team_a, bob.pk, month).reserved == to_units(Decimal("0.06"))


def test_a_member_refused_by_the_team_cap_has_nothing_reserved_on_their_own(
    team_a, bob, team_budget
):
    set_budget(team_a, "5.00", member=bob)
    with pytest.raises(BudgetRefused):
        reserve_many(team_a, bob, [Decimal("0.40")])
    assert not Balance.objects.filter(reserved__gt=0).exists()


def test_a_new_month_starts_with_the_whole_budget(team_a, bob, team_budget):
    november = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    december = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    reserve_many(team_a, bob, [Decimal("0.30")], when=november)
    with pytest.raises(BudgetRefused):
        reserve_many(team_a, bob, [Decimal("0.01")], when=november)

    reserve_many(team_a, bob, [Decimal("0.30")], when=december)

    assert _team_figures(team_a, "2026-11").reserved == 3000
    assert _team_figures(team_a, "2026-12").reserved == 3000
    assert sorted(LedgerEntry.objects.values_list("month", flat=True)) == ["2026-11", "2026-12"]


def test_the_month_is_the_teams_calendar_month_in_its_time_zone(team_a, bob, team_budget):
    team_a.time_zone = "Pacific/Auckland"  # UTC+13 in December
    team_a.save()
    # 30 November 12:00 UTC is already 1 December in Auckland.
    entry = reserve_many(
        team_a, bob, [Decimal("0.10")], when=datetime(2026, 11, 30, 12, tzinfo=UTC)
    )
    assert entry[0].month == "2026-12" and str(entry[0].day) == "2026-12-01"


def test_an_unknown_price_is_refused_when_a_budget_applies(team_a, bob, team_budget):
    with pytest.raises(BudgetRefused) as refused:
        reserved_run(team_a, bob, price=None)
    assert "FLORA did not say what this costs" in refused.value.message
    assert Run.objects.count() == 0


def test_without_a_budget_everything_is_reserved_and_counted(team_a, bob):
    run = reserved_run(team_a, bob, price=None)
    reserved_run(team_a, bob, price="1000")
    entry = LedgerEntry.objects.get(run=run)
    assert entry.kind == EntryKind.RESERVE and entry.amount == 0 and entry.note == "price unknown"
    assert _team_figures(team_a, entry.month).reserved == to_units(Decimal("1000"))
    assert _team_figures(team_a, entry.month).limit is None
