"""Every change to a batch: made (rows and their intent keys, no FLORA call), approved,
cancelled, its failed rows retried; and its totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from batches.models import Batch, BatchRow, BatchSource, BatchStatus, RowState
from budgets.services import check_total
from runs.columns import to_decimal
from runs.models import IN_FLIGHT_STATUSES, RunStatus
from teams.models import Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from flora import Technique

__all__ = [
    "BatchError",
    "Totals",
    "approve",
    "cancel",
    "create_batch",
    "needs_approval",
    "retry_failed",
    "row_intent",
    "totals",
]

FAILED = (RunStatus.FAILED, RunStatus.FAILED_TO_START)


class BatchError(Exception):
    """A change that cannot be made, in words for the person who asked."""


def row_intent(batch: Batch, position: int, attempt: int) -> str:
    # Unique across teams (the batch code is), and the Run's intent key as it is.
    return f"batch:{batch.code}:{position}:{attempt}"


def needs_approval(size: int, membership: Membership) -> bool:
    return size > settings.FLORASITE_BATCH_APPROVAL_OVER and not membership.has_role(Role.MANAGER)


def create_batch(
    *,
    membership: Membership,
    user: AbstractBaseUser | None,
    technique: Technique,
    workspace_id: str,
    intent_key: str,
    plan: list[list[dict[str, str]]],
    source: str = BatchSource.FORM,
) -> tuple[Batch, bool]:
    """The batch of this intent and whether this call made it. Only rows are written: the
    worker starts them (batches.worker). Over the approval limit, a member's batch waits."""
    team = membership.team
    if existing := Batch.objects.filter(team=team, intent_key=intent_key).first():
        return existing, False
    # The whole batch must fit the budgets left now, or none of it is made (BudgetRefused,
    # with what remains and who can raise it). Each run is still reserved when it starts.
    check_total(team, user, [to_decimal(technique.run_cost)] * len(plan))
    status = BatchStatus.AWAITING_APPROVAL
    if not needs_approval(len(plan), membership):
        status = BatchStatus.ACTIVE
    try:
        with transaction.atomic():
            batch = Batch.objects.create(
                team=team,
                created_by=user,
                approved_by=user if status == BatchStatus.ACTIVE else None,
                intent_key=intent_key,
                source=source,
                technique_id=technique.technique_id,
                technique_name=technique.name[:300],
                technique=technique.model_dump(mode="json"),
                workspace_id=workspace_id,
                size=len(plan),
                price_each=to_decimal(technique.run_cost),
                status=status,
            )
            BatchRow.objects.bulk_create(
                BatchRow(
                    batch=batch,
                    position=position,
                    inputs=inputs,
                    intent_key=row_intent(batch, position, 1),
                )
                for position, inputs in enumerate(plan, start=1)
            )
    except IntegrityError:
        # The same form, posted twice at once: the other request made it.
        return Batch.objects.get(team=team, intent_key=intent_key), False
    return batch, True


def approve(batch: Batch, membership: Membership) -> None:
    if not membership.has_role(Role.MANAGER):
        raise BatchError("Only a manager can approve a batch this large.")
    updated = Batch.objects.filter(pk=batch.pk, status=BatchStatus.AWAITING_APPROVAL).update(
        status=BatchStatus.ACTIVE, approved_by=membership.user
    )
    if not updated:
        raise BatchError("This batch is not waiting for approval.")
    batch.refresh_from_db()


def cancel(batch: Batch) -> int:
    """Cancel the rows not started yet; started ones run to their end (FLORA has no
    cancel). Returns how many rows were cancelled."""
    with transaction.atomic():
        cancelled = batch.rows.filter(state=RowState.QUEUED).update(
            state=RowState.CANCELLED, note="Cancelled before it started."
        )
        Batch.objects.filter(pk=batch.pk).exclude(status=BatchStatus.CANCELLED).update(
            status=BatchStatus.CANCELLED, cancelled_at=timezone.now()
        )
    batch.refresh_from_db()
    return cancelled


def retry_failed(batch: Batch) -> int:
    """Queue again every row whose run failed, each on a NEW intent key (the failed run
    stays in the history); rows that completed or still run are left alone."""
    if batch.status != BatchStatus.ACTIVE:
        raise BatchError("Only a running batch can retry its failed runs.")
    retried = 0
    with transaction.atomic():
        rows = batch.rows.select_for_update(of=("self",)).filter(
            Q(state=RowState.STARTED, run__status__in=FAILED) | Q(state=RowState.FAILED)
        )
        for row in rows:
            row.attempt += 1
            row.intent_key = row_intent(batch, row.position, row.attempt)
            row.state = RowState.QUEUED
            row.note = f"Attempt {row.attempt} (run {row.run.code} failed)." if row.run else ""
            row.run = None
            row.claimed_until = row.not_before = None
            row.save()
            retried += 1
    return retried


@dataclass(frozen=True)
class Totals:
    size: int
    done: int
    running: int
    failed: int
    waiting: int
    cancelled: int
    cost: Decimal | None

    @property
    def finished(self) -> bool:
        return self.running == 0 and self.waiting == 0


def totals(batch: Batch) -> Totals:
    rows = list(batch.rows.select_related("run").only("state", "run__status"))
    done = running = failed = waiting = cancelled = 0
    for row in rows:
        status = row.run.status if row.run else None
        if row.state == RowState.FAILED:
            failed += 1
        elif row.state == RowState.CANCELLED:
            cancelled += 1
        elif row.state == RowState.QUEUED:
            waiting += 1
        elif status == RunStatus.COMPLETED:
            done += 1
        elif status in FAILED:
            failed += 1
        elif status in IN_FLIGHT_STATUSES or row.state == RowState.STARTING:
            running += 1
    cost = batch.rows.aggregate(total=Sum("run__charged_cost"))["total"]
    return Totals(len(rows), done, running, failed, waiting, cancelled, cost)
