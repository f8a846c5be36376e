"""Every way a run ends settles or releases its reservation, once; `checking` keeps it."""

from __future__ import annotations

from decimal import Decimal

import pytest

import flora
from budgets.models import EntryKind, LedgerEntry
from budgets.services import end_run, scope_figures
from florasite.lib.flora_words import Refusal
from runs.models import Run, RunOrigin, RunStatus
from runs.state import apply_remote, failed_to_start, mark_checking
from tests.budgets.helpers import reserved_run

pytestmark = pytest.mark.django_db


def _answer(status: str, charged=None, **extra) -> flora.Run:
    return flora.Run.model_validate(
        {
            "run_id": "run_x1",
            "status": status,
            "progress": 100,
            "created_at": 1_790_000_000,
            "charged_cost": charged,
            **extra,
        }
    )


def _figures(run):
    month = LedgerEntry.objects.filter(run=run).first().month
    return scope_figures(run.team, None, month), scope_figures(run.team, run.created_by_id, month)


def _kinds(run):
    return list(LedgerEntry.objects.filter(run=run).values_list("kind", flat=True))


def test_a_completed_run_settles_to_what_flora_charged(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    apply_remote(run, _answer("running"))
    assert _kinds(run) == [EntryKind.RESERVE]  # in flight: still reserved

    apply_remote(run, _answer("completed", charged=0.05))

    assert _kinds(run) == [EntryKind.RESERVE, EntryKind.SETTLE]
    settle = LedgerEntry.objects.get(run=run, kind=EntryKind.SETTLE)
    assert (settle.amount, settle.reserved_delta, settle.spent_delta) == (500, -600, 500)
    team, member = _figures(run)
    assert (team.reserved, team.spent) == (0, 500) and (member.reserved, member.spent) == (0, 500)
    assert team.remaining == 2500  # $0.30 - $0.05


def test_a_failed_run_releases_its_reservation(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    apply_remote(run, _answer("failed", error_code="nsfw"))
    release = LedgerEntry.objects.get(run=run, kind=EntryKind.RELEASE)
    assert (release.amount, release.reserved_delta, release.spent_delta) == (600, -600, 0)
    team, _ = _figures(run)
    assert (team.reserved, team.spent) == (0, 0)


def test_a_failed_run_that_flora_charged_settles_to_the_charge(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    apply_remote(run, _answer("failed", charged=0.02))
    assert LedgerEntry.objects.get(run=run, kind=EntryKind.SETTLE).spent_delta == 200


def test_a_run_that_failed_to_start_releases(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    failed_to_start(run, Refusal("insufficient_credits", "No credits.", 402, "req_1"))
    assert _kinds(run) == [EntryKind.RESERVE, EntryKind.RELEASE]
    assert _figures(run)[0].reserved == 0


def test_a_refunded_run_charged_nothing_releases(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    apply_remote(run, _answer("completed", charged=0))
    assert _kinds(run) == [EntryKind.RESERVE, EntryKind.RELEASE]
    assert _figures(run)[0].spent == 0


def test_a_completed_run_whose_charge_is_unknown_counts_its_quote(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    apply_remote(run, _answer("completed"))
    settle = LedgerEntry.objects.get(run=run, kind=EntryKind.SETTLE)
    assert settle.spent_delta == 600 and "quoted price counts" in settle.note


def test_a_run_stuck_in_checking_keeps_its_reservation(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    mark_checking(run, TimeoutError("lost"))
    assert _kinds(run) == [EntryKind.RESERVE]
    assert _figures(run)[0].reserved == 600
    # The reconciler gives up (runs.reconcile._wait_or_give_up): the run failed to start.
    failed_to_start(run, Refusal("not_found", "FLORA never started it.", 0, ""))
    assert _kinds(run) == [EntryKind.RESERVE, EntryKind.RELEASE]


def test_an_ending_is_recorded_once(team_a, bob, team_budget):
    run = reserved_run(team_a, bob)
    apply_remote(run, _answer("completed", charged=0.06))
    apply_remote(run, _answer("completed", charged=0.06))  # a late repeat: not an ending
    assert end_run(Run.objects.get(pk=run.pk)) is None  # a direct repeat writes nothing
    assert _kinds(run) == [EntryKind.RESERVE, EntryKind.SETTLE]
    assert _figures(run)[0].spent == 600


def test_an_imported_run_counts_toward_spend_without_a_reservation(team_a, team_budget):
    run = Run.objects.create(
        team=team_a,
        origin=RunOrigin.EXTERNAL,
        technique_id="tech_x",
        technique_name="X",
        flora_run_id="run_outside",
        status=RunStatus.PENDING,
    )
    apply_remote(run, _answer("completed", charged=0.25))
    [entry] = LedgerEntry.objects.filter(run=run)
    assert entry.kind == EntryKind.SETTLE and entry.spent_delta == 2500
    assert entry.reserved_delta == 0 and entry.member_id is None
    figures = scope_figures(team_a, None, entry.month)
    assert (figures.spent, figures.remaining) == (2500, 500)


def test_an_imported_free_run_leaves_no_entry(team_a):
    run = Run.objects.create(
        team=team_a,
        origin=RunOrigin.EXTERNAL,
        technique_id="tech_x",
        technique_name="X",
        flora_run_id="run_free",
        status=RunStatus.PENDING,
    )
    apply_remote(run, _answer("failed"))
    assert not LedgerEntry.objects.filter(run=run).exists()


def test_a_failure_in_the_ledger_does_not_undo_the_runs_ending(team_a, bob, monkeypatch, caplog):
    run = reserved_run(team_a, bob)

    def broken(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr("budgets.hooks.end_run", broken)
    apply_remote(run, _answer("completed", charged=0.06))
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED
    assert f"the ending of run {run.code} was not recorded" in caplog.text
    assert Decimal(Run.objects.get(pk=run.pk).charged_cost) == Decimal("0.06")
