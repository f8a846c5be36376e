"""Starting runs from the run form, so that no intent ever starts or charges twice.

    outcome = submit(team=..., user=..., technique=..., workspace_id=..., intent_key=..., plan=...)

1. The Run rows are written first (status ``submitting``), unique per team and intent key:
   a double click, a resubmitted form or a retried request finds them and goes no further.
   The key is techniques.forms.intent_key_for(token, technique, workspace, inputs), so the
   same rendered form posted with other inputs (Back, edit, Run) is a new intent.
2. FLORA is called once per row with the row's intent key as its idempotency key, from the
   request thread, with no retries (nobody waits through a backoff).
3. The answer is recorded: ``apply_remote`` for a started run; ``failed_to_start`` with the
   error when FLORA refused it (nothing was started, nothing charged); ``checking`` when the
   outcome is unknown (timeout, dropped connection, 5xx, 409 "already submitted"), for the
   background worker to reconcile (runs.reconcile; the view queues a first pass through
   runs.tasks). Nothing is ever re-sent on a new key. Which failure is which is decided in
   runs.outcomes, the rule the reconciler follows too.

Guards (``register_guard``) run in the transaction that writes the rows, before any FLORA
call: budgets registers its reservation there. A guard that raises ``SubmissionBlocked``
rolls the rows back and nothing is sent to FLORA; the outcome carries its message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flora import AuthenticationError, Flora
from florasite.lib.flora_words import Refusal
from runs.callbacks import callback_url_for
from runs.columns import to_decimal
from runs.models import Run, RunStatus
from runs.outcomes import CREATE_ERRORS, create_failure, create_remote
from runs.state import apply_remote, failed_to_start, mark_checking
from teams.services import mark_failing

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from flora import Technique
    from teams.models import FloraConnection, Team

__all__ = ["SubmissionBlocked", "SubmitOutcome", "existing_runs", "register_guard", "submit"]

logger = logging.getLogger(__name__)


class SubmissionBlocked(Exception):
    """A guard said no: nothing of the submission is written or sent. The message is for
    the person who submitted (what remains, who can change it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# guard(team=..., user=..., runs=[...]) with the rows just written, in their transaction.
# Registered by other apps in their AppConfig.ready (budgets).
Guard = Callable[..., None]
_GUARDS: list[Guard] = []


def register_guard(guard: Guard) -> None:
    if guard not in _GUARDS:
        _GUARDS.append(guard)


@dataclass
class SubmitOutcome:
    runs: list[Run]
    # True when the rows already existed: this request started nothing.
    already_submitted: bool = False
    # Set when FLORA refused the first run: nothing of this submission started.
    refusal: Refusal | None = None
    # Set when a guard (a budget) refused the submission: no row, no FLORA call.
    blocked: str | None = None

    @property
    def started(self) -> list[Run]:
        return [run for run in self.runs if run.status != RunStatus.FAILED_TO_START]


def existing_runs(team: Team, intent_key: str) -> list[Run]:
    """The runs of one intent (one run, or every run of an allow_multiple batch)."""
    return list(
        Run.objects.filter(team=team)
        .filter(Q(intent_key=intent_key) | Q(batch_key=intent_key))
        .order_by("created_at", "id")
    )


def submit(
    *,
    client: Flora,
    connection: FloraConnection,
    team: Team,
    user: AbstractBaseUser | None,
    technique: Technique,
    workspace_id: str,
    intent_key: str,
    plan: list[list[dict[str, str]]],
) -> SubmitOutcome:
    """Write the rows of this intent, then start each run in FLORA (see module docstring)."""
    existing = existing_runs(team, intent_key)
    if existing:
        return SubmitOutcome(existing, already_submitted=True)

    names = {io.id: io.name for io in technique.inputs}
    batch = len(plan) > 1
    now = timezone.now()
    try:
        with transaction.atomic():
            runs = [
                Run.objects.create(
                    team=team,
                    created_by=user,
                    technique_id=technique.technique_id,
                    technique_name=technique.name[:300],
                    # None ("unknown") for a price no column holds (NaN, absurdly large).
                    price_quoted=to_decimal(technique.run_cost),
                    inputs=[{**item, "name": names.get(item["id"], item["id"])} for item in inputs],
                    workspace_id=workspace_id,
                    intent_key=f"{intent_key}:{position}" if batch else intent_key,
                    batch_key=intent_key if batch else "",
                    status=RunStatus.SUBMITTING,
                    created_at=now,
                    submitted_at=now,
                )
                for position, inputs in enumerate(plan, start=1)
            ]
            for guard in _GUARDS:
                guard(team=team, user=user, runs=runs)
    except SubmissionBlocked as exc:
        return SubmitOutcome([], blocked=exc.message)
    except IntegrityError:
        # A concurrent request with the same intent won the insert and is starting the runs.
        return SubmitOutcome(existing_runs(team, intent_key), already_submitted=True)

    callback_url = callback_url_for(team)
    for position, run in enumerate(runs):
        refusal = _start(client, connection, run, callback_url)
        if refusal is None:
            continue
        if position == 0:
            # Nothing of this submission started: the rest would be refused alike.
            for other in runs[1:]:
                failed_to_start(other, _not_attempted(refusal, 1))
            return SubmitOutcome(runs, refusal=refusal)
        for other in runs[position + 1 :]:
            failed_to_start(other, _not_attempted(refusal, position + 1))
        break
    return SubmitOutcome(runs)


def _not_attempted(refusal: Refusal, refused_position: int) -> Refusal:
    return Refusal(
        "not_attempted",
        f"Not started: FLORA refused run {refused_position} of this batch ({refusal.message})",
        refusal.status_code,
        refusal.request_id,
    )


def _start(
    client: Flora, connection: FloraConnection, run: Run, callback_url: str | None
) -> Refusal | None:
    """One create call for the row; returns the refusal when FLORA definitively said no."""
    try:
        remote = create_remote(client, run, callback_url)
    except CREATE_ERRORS as exc:
        failure = create_failure(exc)
        if failure.kind == "key_seen":
            # The worker finds the run in FLORA's history (runs.reconcile).
            mark_checking(run, exc, note=failure.code)
            return None
        if failure.kind == "unknown":
            logger.warning("Create of run %s: outcome unknown (%s)", run.code, exc)
            mark_checking(run, exc)
            return None
        assert failure.refusal is not None
        if isinstance(exc, AuthenticationError):
            mark_failing(connection, exc)
        failed_to_start(run, failure.refusal)
        return failure.refusal
    apply_remote(run, remote)
    return None
