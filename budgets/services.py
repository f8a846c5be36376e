"""Reserve before a run starts, settle or release when it ends: the ledger's only writers.

    reserve_many(team, member, amounts, runs=...)   all or nothing, or BudgetRefused
    end_run(run)                                      settle to charged_cost, or release

A reservation is a conditional UPDATE of the scope's Balance row for the month
(``reserved <= limit - amount - spent``), for the team and then for the member, in one
transaction with the ledger entries. On PostgreSQL the second of two concurrent UPDATEs waits
for the first's row lock and re-checks its condition against the committed row; on SQLite the
project's transactions are BEGIN IMMEDIATE (florasite.settings), so writers queue. Either
way no two reservations can both take the last dollars. Amounts are whole UNITS ($0.0001).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum, Value
from django.utils import timezone

from budgets.models import Balance, Budget, EntryKind, LedgerEntry, to_dollars, to_units
from budgets.months import local_day, month_key, month_of
from runs.models import Run, RunStatus
from runs.submit import SubmissionBlocked
from teams.models import Membership, Role, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "BudgetRefused",
    "Scope",
    "end_run",
    "check_total",
    "guard_submission",
    "managers_of",
    "reserve_many",
    "scope_figures",
]

logger = logging.getLogger(__name__)


class BudgetRefused(SubmissionBlocked):
    """Nothing was reserved: the message says what remains and who can raise the budget."""


@dataclass(frozen=True)
class Scope:
    """The figures of one budget scope (the team, or one member) for one month, in UNITS."""

    month: str
    limit: int | None  # None: no budget set
    reserved: int
    spent: int

    @property
    def committed(self) -> int:
        return self.reserved + self.spent

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.committed)

    @property
    def percent(self) -> int | None:
        if not self.limit:
            return None
        return round(100 * self.committed / self.limit)


def _scope_filter(member_id: int | None) -> Q:
    return Q(member__isnull=True) if member_id is None else Q(member_id=member_id)


def limits_of(team: Team, member_id: int | None) -> dict[int | None, int | None]:
    """{None: the team's limit, member_id: the member's} in UNITS; None where no budget."""
    budgets = {
        b.member_id: to_units(b.monthly_amount)
        for b in Budget.objects.filter(team=team).filter(
            Q(member__isnull=True) | Q(member_id=member_id)
        )
    }
    scopes: list[int | None] = [None] if member_id is None else [None, member_id]
    return {scope: budgets.get(scope) for scope in scopes}


def scope_figures(team: Team, member_id: int | None, month: str) -> Scope:
    row = Balance.objects.filter(team=team, month=month).filter(_scope_filter(member_id)).first()
    limit = limits_of(team, member_id)[member_id]
    return Scope(month, limit, row.reserved if row else 0, row.spent if row else 0)


def managers_of(team: Team) -> list[str]:
    """The managers' names, as the over-budget message and the alerts name them."""
    users = [
        m.user
        for m in Membership.objects.filter(team=team, role=Role.MANAGER).select_related("user")
    ]
    return sorted((u.get_full_name() or u.get_username()) for u in users)


def _ensure_rows(team: Team, month: str, scopes: Sequence[int | None]) -> None:
    # ON CONFLICT DO NOTHING: two first reservations of a month may race to create the row.
    Balance.objects.bulk_create(
        [Balance(team=team, member_id=scope, month=month) for scope in scopes],
        ignore_conflicts=True,
    )


def _refusal(
    team: Team,
    member: AbstractBaseUser | None,
    scope: int | None,
    asked: int,
    month: str,
    unknown: bool,
) -> BudgetRefused:
    figures = scope_figures(team, scope, month)
    whose = "the team's budget" if scope is None else "your own budget"
    names = managers_of(team)
    who = f" Managers who can raise it: {', '.join(names)}." if names else ""
    if unknown:
        return BudgetRefused(
            f"FLORA did not say what this costs, so it cannot be checked against {whose} "
            f"({_usd(figures.remaining or 0)} left this month).{who}"
        )
    return BudgetRefused(
        f"Over budget: this needs {_usd(asked)} and {whose} has {_usd(figures.remaining or 0)} "
        f"left this month (of {_usd(figures.limit or 0)}; {_usd(figures.reserved)} reserved "
        f"for runs in progress). Nothing was started.{who}"
    )


def _usd(units: int) -> str:
    return f"${to_dollars(units).quantize(Decimal('0.01'))}"


def reserve_many(
    team: Team,
    member: AbstractBaseUser | None,
    amounts: Sequence[Decimal | None],
    *,
    runs: Sequence[Run] | None = None,
    when: datetime | None = None,
) -> list[LedgerEntry]:
    """Reserve every amount (a price; None when unknown) or none: raises BudgetRefused.

    ``runs``, when given, are the rows the amounts belong to (one each). Runs of a batch are
    reserved by one call, so a batch that does not fit is refused whole.
    """
    if runs is not None and len(runs) != len(amounts):
        raise ValueError("reserve_many: one amount per run")
    units = [to_units(a) for a in amounts]
    unknown = any(a is None for a in amounts)
    total = sum(units)
    when = when or timezone.now()
    month, day = month_key(team, when), local_day(team, when)
    member_id = member.pk if member is not None else None
    limits = limits_of(team, member_id)
    with transaction.atomic():
        _ensure_rows(team, month, list(limits))
        for scope, limit in limits.items():
            rows = Balance.objects.filter(team=team, month=month).filter(_scope_filter(scope))
            if limit is not None:
                if unknown:
                    raise _refusal(team, member, scope, total, month, unknown=True)
                rows = rows.filter(reserved__lte=Value(limit - total) - F("spent"))
            if not rows.update(reserved=F("reserved") + total):
                raise _refusal(team, member, scope, total, month, unknown=False)
        entries = LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    team=team,
                    member_id=member_id,
                    run=run,
                    run_code=run.code if run else "",
                    technique_name=run.technique_name if run else "",
                    kind=EntryKind.RESERVE,
                    amount=amount,
                    reserved_delta=amount,
                    month=month,
                    day=day,
                    note="price unknown" if runs and run.price_quoted is None else "",
                    created_at=when,
                )
                for amount, run in zip(units, runs or [None] * len(units), strict=True)
            ]
        )
    _after_commit(team, member_id, month)
    return entries


def check_total(
    team: Team,
    member: AbstractBaseUser | None,
    amounts: Sequence[Decimal | None],
    *,
    when: datetime | None = None,
) -> None:
    """Would these amounts fit now? BudgetRefused (the same words as reserve_many) if not.

    Reserves nothing: a batch (batches.services.create_batch) is checked whole when it is
    made, and each of its runs is reserved by the guard when the worker starts it.
    """
    member = member if member is not None and member.is_authenticated else None
    units = [to_units(a) for a in amounts]
    unknown = any(a is None for a in amounts)
    total = sum(units)
    month = month_key(team, when or timezone.now())
    member_id = member.pk if member is not None else None
    for scope, limit in limits_of(team, member_id).items():
        if limit is None:
            continue
        figures = scope_figures(team, scope, month)
        if unknown or total > limit - figures.committed:
            raise _refusal(team, member, scope, total, month, unknown=unknown)


def guard_submission(*, team: Team, user: AbstractBaseUser | None, runs: Sequence[Run]) -> None:
    """runs.submit's guard: the runs' quoted prices, reserved together (budgets.apps)."""
    member = user if user is not None and user.is_authenticated else None
    reserve_many(
        team,
        member,
        [run.price_quoted for run in runs],
        runs=runs,
        when=runs[0].created_at if runs else None,
    )


def charged_units(run: Run) -> tuple[int, str]:
    """What the run cost, in UNITS, and a note when that is a guess."""
    if run.status == RunStatus.COMPLETED and run.charged_cost is None:
        return to_units(run.price_quoted), "charged cost unknown: the quoted price counts"
    return to_units(run.charged_cost), ""


def end_run(run: Run) -> LedgerEntry | None:
    """Settle the run's reservation to what FLORA charged, or release it when nothing was
    charged (failed, failed to start, refunded). A run never reserved (imported, or started
    before budgets) is settled without one. Once per run: a repeat writes nothing."""
    reserve = LedgerEntry.objects.filter(run=run, kind=EntryKind.RESERVE).first()
    charged, note = charged_units(run)
    if charged == 0 and reserve is None:
        return None  # nothing was reserved and nothing spent: no entry to explain
    kind = EntryKind.SETTLE if charged else EntryKind.RELEASE
    if reserve is not None:
        month, day, member_id = reserve.month, reserve.day, reserve.member_id
        held = reserve.amount
    else:
        day = local_day(run.team, run.created_at)
        month, member_id, held = month_of(day), run.created_by_id, 0
    entry = LedgerEntry(
        team_id=run.team_id,
        member_id=member_id,
        run=run,
        run_code=run.code,
        technique_name=run.technique_name,
        kind=kind,
        amount=charged if kind == EntryKind.SETTLE else held,
        reserved_delta=-held,
        spent_delta=charged if kind == EntryKind.SETTLE else 0,
        month=month,
        day=day,
        note=note or ("" if reserve else "no reservation (imported or earlier run)"),
    )
    try:
        with transaction.atomic():
            entry.save()
            scopes: list[int | None] = [None] if member_id is None else [None, member_id]
            _ensure_rows(run.team, month, scopes)
            for scope in scopes:
                Balance.objects.filter(team_id=run.team_id, month=month).filter(
                    _scope_filter(scope)
                ).update(
                    reserved=F("reserved") + entry.reserved_delta,
                    spent=F("spent") + entry.spent_delta,
                )
    except IntegrityError:
        return None  # this run's ending is already in the ledger
    _after_commit(run.team, member_id, month)
    return entry


def ledger_sums(team: Team, month: str, member_id: int | None = None) -> tuple[int, int]:
    """(reserved, spent) of the team (member_id None) or one member for the month, summed
    from the ledger itself."""
    entries = LedgerEntry.objects.filter(team=team, month=month)
    if member_id is not None:
        entries = entries.filter(member_id=member_id)
    sums = entries.aggregate(reserved=Sum("reserved_delta"), spent=Sum("spent_delta"))
    return sums["reserved"] or 0, sums["spent"] or 0


def _after_commit(team: Team, member_id: int | None, month: str) -> None:
    """Once committed, the worker sends the threshold emails now due (budgets.alerts)."""
    from budgets.alerts import any_due
    from budgets.tasks import send_alerts

    team_id = team.pk

    def enqueue_if_due() -> None:
        if any_due(team_id, member_id, month):
            send_alerts.enqueue(team_id, member_id, month)

    transaction.on_commit(enqueue_if_due)
