"""Starting the rows of batches, from the worker: a few per team at a time, never twice.

    start_due()   # the periodic job "batches.start" (every 2 s), and a task after a batch is made

Each pass, per team with rows due (one pass per team at a time: TeamPass): count the team's
batch runs in flight, claim up to FLORASITE_BATCH_CONCURRENCY minus that many queued rows (a
conditional UPDATE: any number of workers may run this), and start each through
runs.submit.submit, the one path that creates runs, with the row's intent key. That writes
the Run row before the create and sends the intent as FLORA's Idempotency-Key, so:

- a worker killed after the Run row was written finds it on the next pass (the claim runs out
  after CLAIM_FOR) and links it: submit() answers "already submitted" and calls nothing;
- a worker killed between FLORA's create and recording its answer leaves the Run
  ``submitting``: runs.reconcile finds it in FLORA's history, or resends the SAME key.

FLORA's 429 (or our own bulkhead refusing to send) started nothing: that row gets a new key,
goes back to the queue, and every queued row of the team waits out ``Retry-After``. A refusal
every later row would get too (401, 402, 403) stops the batch's queued rows: they are marked
failed, not sent, and "Retry failed" sends them when the cause is fixed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from batches.models import Batch, BatchRow, BatchStatus, RowState, TeamPass
from batches.services import row_intent
from flora import Flora, Technique
from runs.inputs import record_links
from runs.models import IN_FLIGHT_STATUSES, RunStatus
from runs.submit import submit
from runs.tasks import reconcile_soon
from teams.models import FloraConnection, SecretUnavailable, Team
from teams.services import NoConnection, flora_client, get_connection
from techniques.media import choice_for, kind_of
from uploads.services import AssetFailed, asset_for, upload_client

__all__ = ["CLAIM_FOR", "start_due"]

logger = logging.getLogger(__name__)

# Longer than a create call can take (the worker's deadline), so a live worker's claim never
# runs out under it; short enough that a dead worker's rows start again soon.
CLAIM_FOR = timedelta(seconds=90)
DEFAULT_RETRY_AFTER = 2
# Rounds of one team's pass when other passes asked for more (TeamPass.wanted).
MAX_ROUNDS = 20
# Our answers that mean "nothing was sent or started, try later": FLORA's 429, our bulkhead.
BUSY = {429, 503}
# Refusals every later row of the batch would get too (the key, the credits, the workspace):
# those rows are not sent; "Retry failed" sends them once the cause is fixed.
STOPS_THE_BATCH = {401, 402, 403}


def _due(now: datetime) -> Q:
    queued = Q(state=RowState.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    abandoned = Q(state=RowState.STARTING, claimed_until__lt=now)
    return (queued | abandoned) & Q(batch__status=BatchStatus.ACTIVE)


def start_due(now: datetime | None = None) -> int:
    """One pass over every team with rows due; returns how many rows were started."""
    now = now or timezone.now()
    team_ids = set(BatchRow.objects.filter(_due(now)).values_list("batch__team_id", flat=True))
    started = 0
    for team in Team.objects.filter(pk__in=team_ids):
        started += _start_for_team(team, now)
    return started


def in_flight(team: Team, now: datetime) -> int:
    running = BatchRow.objects.filter(
        batch__team=team, state=RowState.STARTED, run__status__in=IN_FLIGHT_STATUSES
    ).count()
    starting = BatchRow.objects.filter(
        batch__team=team, state=RowState.STARTING, claimed_until__gte=now
    ).count()
    return running + starting


def _start_for_team(team: Team, now: datetime) -> int:
    TeamPass.objects.get_or_create(team=team)
    won = (
        TeamPass.objects.filter(team=team)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now))
        .update(busy_until=now + CLAIM_FOR)
    )
    if not won:
        # Another worker is starting this team's rows: it goes round once more for us.
        TeamPass.objects.filter(team=team).update(wanted=True)
        return 0
    started = 0
    try:
        for _ in range(MAX_ROUNDS):
            TeamPass.objects.filter(team=team).update(wanted=False)
            started += _start_slots(team, now)
            if not TeamPass.objects.filter(team=team, wanted=True).exists():
                break
    finally:
        TeamPass.objects.filter(team=team).update(busy_until=None)
    return started


def _start_slots(team: Team, now: datetime) -> int:
    slots = settings.FLORASITE_BATCH_CONCURRENCY - in_flight(team, now)
    if slots <= 0:
        return 0
    try:
        connection = get_connection(team)
        client = flora_client(team)
    except (NoConnection, SecretUnavailable) as exc:
        logger.warning("Batches of team %s wait: %s", team.slug, exc)
        return 0
    candidates = list(
        BatchRow.objects.filter(_due(now), batch__team=team)
        .select_related("batch")
        .order_by("batch__created_at", "batch_id", "position")[:slots]
    )
    started = 0
    for row in candidates:
        if not _claim(row, now):
            continue
        busy_for = _start(client, connection, team, row)
        if busy_for is not None:
            # Every queued row of the team waits, not only this one.
            until = timezone.now() + timedelta(seconds=busy_for)
            BatchRow.objects.filter(batch__team=team, state=RowState.QUEUED).update(
                not_before=until
            )
            break
        started += 1
    return started


def _claim(row: BatchRow, now: datetime) -> bool:
    claimed = BatchRow.objects.filter(
        Q(state=RowState.QUEUED) | Q(state=RowState.STARTING, claimed_until__lt=now),
        pk=row.pk,
        intent_key=row.intent_key,
    ).update(state=RowState.STARTING, claimed_until=now + CLAIM_FOR)
    return claimed == 1


def _with_files(
    team: Team, batch: Batch, row: BatchRow
) -> tuple[list[dict[str, str]], list[tuple[str, int]]]:
    """The row's inputs with each kept file made an asset of the workspace (at most once
    per content: uploads.services.asset_for); AssetFailed when one cannot be sent."""
    inputs, links = [], []
    for item in row.inputs:
        ref = item.get("ref")
        if not ref:
            inputs.append(item)
            continue
        choice = choice_for(team, ref, kind_of(item["type"]))
        if choice is None or choice.source is None:
            raise AssetFailed(f"The file {ref} is no longer kept by the team.")
        asset = asset_for(
            upload_client(team, choice.source.size),
            team=team,
            workspace_id=batch.workspace_id,
            source=choice.source,
        )
        inputs.append({"id": item["id"], "type": item["type"], "value": asset.url})
        if choice.output_pk is not None:
            links.append((item["id"], choice.output_pk))
    return inputs, links


def _start(client: Flora, connection: FloraConnection, team: Team, row: BatchRow) -> int | None:
    """Start one claimed row; the seconds to wait when FLORA asked us to slow down."""
    batch = row.batch
    try:
        inputs, links = _with_files(team, batch, row)
    except (AssetFailed, NoConnection, SecretUnavailable) as exc:
        BatchRow.objects.filter(pk=row.pk).update(state=RowState.FAILED, note=str(exc)[:300])
        return None
    outcome = submit(
        client=client,
        connection=connection,
        team=team,
        user=batch.created_by,
        technique=Technique.model_validate(batch.technique),
        workspace_id=batch.workspace_id,
        intent_key=row.intent_key,
        plan=[inputs],
    )
    if outcome.blocked is not None:
        # A budget said no (nothing was written or sent): this row and the queued rest fail
        # with its words; "Retry failed" sends them once the budget allows.
        note = f"Not started: {outcome.blocked}"[:300]
        BatchRow.objects.filter(pk=row.pk).update(state=RowState.FAILED, note=note)
        batch.rows.filter(state=RowState.QUEUED).update(state=RowState.FAILED, note=note)
        return None
    reconcile_soon(outcome)
    run = outcome.runs[0]
    refusal = outcome.refusal
    if refusal is not None and refusal.status_code in BUSY:
        # Nothing started: the next attempt is a new intent (this one's row says why it
        # failed to start, in the history).
        attempt = row.attempt + 1
        BatchRow.objects.filter(pk=row.pk).update(
            state=RowState.QUEUED,
            attempt=attempt,
            intent_key=row_intent(batch, row.position, attempt),
            claimed_until=None,
            note=f"FLORA asked to slow down; tried again later ({refusal.code}).",
        )
        return refusal.retry_after or DEFAULT_RETRY_AFTER
    if refusal is not None and refusal.status_code in STOPS_THE_BATCH:
        batch.rows.filter(state=RowState.QUEUED).update(
            state=RowState.FAILED,
            note=f"Not started: FLORA refused run {row.position} ({refusal.message})"[:300],
        )
    if not outcome.already_submitted and links:
        record_links([run], [links])
    note = "" if run.status != RunStatus.FAILED_TO_START else run.error_message[:300]
    BatchRow.objects.filter(pk=row.pk).update(
        state=RowState.STARTED, run=run, claimed_until=None, note=note
    )
    return None
