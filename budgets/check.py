"""The nightly check: the balances, the ledger and the runs must tell one story.

For each team and each month with a balance row (the current and previous by default):

- each Balance row equals its ledger sums (a row updated without its entry, or the reverse);
- every run that ended has its ending in the ledger, if it was reserved or charged anything;
- every settled amount equals what the run was charged (or its quote, when FLORA never said);
- a reservation still open belongs to a run in flight (a run stuck in `checking` keeps its
  reservation on purpose until the reconciler decides).

Mismatches are logged as warnings with the team, month and run code, and returned; the check
repairs nothing by itself, so that a person reads the explanation first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db.models import Q

from budgets.models import Balance, EntryKind, LedgerEntry
from budgets.months import month_key, shift
from budgets.services import charged_units, ledger_sums
from runs.models import TERMINAL_STATUSES, Run
from teams.models import Team

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mismatch:
    team: str
    month: str
    what: str

    def __str__(self) -> str:
        return f"team {self.team}, {self.month}: {self.what}"


def check_team(team: Team, months: list[str] | None = None) -> list[Mismatch]:
    current = month_key(team)
    months = months or [shift(current, -1), current]
    found: list[Mismatch] = []
    for month in months:
        found += _balances(team, month) + _runs(team, month)
    for mismatch in found:
        logger.warning("Budget ledger check: %s", mismatch)
    return found


def check_all() -> list[Mismatch]:
    found: list[Mismatch] = []
    for team in Team.objects.all():
        found += check_team(team)
    return found


def _balances(team: Team, month: str) -> list[Mismatch]:
    found = []
    for row in Balance.objects.filter(team=team, month=month):
        sums = ledger_sums(team, month, row.member_id)
        if (row.reserved, row.spent) != sums:
            scope = "the team" if row.member_id is None else f"member #{row.member_id}"
            found.append(
                Mismatch(
                    team.slug,
                    month,
                    f"the balance of {scope} says reserved {row.reserved}, spent {row.spent}; "
                    f"the ledger sums to reserved {sums[0]}, spent {sums[1]} (units of $0.0001)",
                )
            )
    return found


def _runs(team: Team, month: str) -> list[Mismatch]:
    found = []
    entries = LedgerEntry.objects.filter(team=team, month=month).exclude(run=None)
    by_run: dict[int, dict[str, LedgerEntry]] = {}
    for entry in entries:
        by_run.setdefault(entry.run_id, {})[entry.kind] = entry
    runs = Run.objects.filter(pk__in=by_run).in_bulk()
    for run_pk, kinds in by_run.items():
        run = runs[run_pk]
        ending = kinds.get(EntryKind.SETTLE) or kinds.get(EntryKind.RELEASE)
        if run.status in TERMINAL_STATUSES and ending is None:
            found.append(
                Mismatch(
                    team.slug,
                    month,
                    f"run {run.code} ended ({run.status}) "
                    "but its reservation was never settled or released",
                )
            )
        if run.status not in TERMINAL_STATUSES and ending is not None:
            found.append(
                Mismatch(
                    team.slug,
                    month,
                    f"run {run.code} is {run.status} but the ledger has its {ending.kind}",
                )
            )
        if ending is not None and ending.kind == EntryKind.SETTLE:
            charged, _ = charged_units(run)
            if charged != ending.spent_delta:
                found.append(
                    Mismatch(
                        team.slug,
                        month,
                        f"run {run.code} was charged {charged} but settled at {ending.spent_delta}",
                    )
                )
    # Ended runs with a cost and no entry at all (an ending missed before any reservation).
    missed = (
        Run.objects.filter(team=team, status__in=TERMINAL_STATUSES)
        .filter(Q(charged_cost__gt=0))
        .exclude(ledger__isnull=False)
        .filter(
            created_at__gte=_month_start(team, month),
            created_at__lt=_month_start(team, shift(month, 1)),
        )
    )
    for run in missed[:100]:
        found.append(
            Mismatch(
                team.slug,
                month,
                f"run {run.code} was charged {run.charged_cost} and is not in the ledger",
            )
        )
    return found


def _month_start(team: Team, month: str):
    from datetime import datetime, time

    from budgets.months import first_day

    return datetime.combine(first_day(month), time(0), tzinfo=team.zone)
