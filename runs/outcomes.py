"""The create call, and what FLORA's answers mean: one rule for submission and reconciling.

Money is at stake in a create call, so the submission (runs.submit) and the reconciler
(runs.reconcile, which sends the same create again with the same key) read a failure the
same way, here (`create_failure`):

- ``key_seen``: FLORA has this idempotency key (any 409, or 422 "same key, other body"):
  the run was submitted before. Never a failure, never a reason to submit again.
- ``unknown``: the request may have landed (timeout, dropped connection, garbled answer,
  5xx, 408). The row waits in ``checking``; it is never re-sent on a new key.
- ``not_started``: nothing started, but FLORA did not refuse the run either: the request
  was never sent (this team's FLORA is not answering in time), or FLORA asked us to slow
  down (429).
- ``refused``: FLORA's definitive no (400, 401, 402, ...): nothing was started or charged.

A history item or webhook may also say "completed" without the outputs, and a completed
row is never asked about again: `with_outputs` fetches the full run first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from flora import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    BadRequestError,
    ConflictError,
    Flora,
    FloraError,
    IdempotencyConflictError,
    InternalServerError,
    RateLimitError,
    RequestNotSent,
    RunListItem,
)
from flora import Run as RemoteRun
from florasite.lib.flora_words import Refusal, refusal_from
from runs.models import Run, RunStatus

__all__ = [
    "CREATE_ERRORS",
    "CreateFailure",
    "create_failure",
    "create_remote",
    "request_inputs",
    "with_outputs",
]

logger = logging.getLogger(__name__)

# Every error a create call raises on purpose (create_failure reads each of them).
CREATE_ERRORS = (APIStatusError, APIConnectionError, APIResponseValidationError, RequestNotSent)


@dataclass(frozen=True)
class CreateFailure:
    kind: Literal["key_seen", "unknown", "not_started", "refused"]
    # key_seen: the error code the row records; not_started / refused: what to tell.
    code: str = ""
    refusal: Refusal | None = None


def create_failure(error: FloraError) -> CreateFailure:
    """What a failed create call means (see the module docstring); `error` is one of
    CREATE_ERRORS."""
    if isinstance(error, ConflictError | IdempotencyConflictError):
        # Any 409 means "key seen" (FLORA's only 409 is idempotency_duplicate), whatever its
        # body says: a proxy's page or a reworded code must not turn "already submitted"
        # into a failure that invites a second, charged, submission.
        code = "idempotency_conflict"
        if not isinstance(error, IdempotencyConflictError):
            code = "idempotency_duplicate"
        return CreateFailure("key_seen", code=code)
    if isinstance(error, RequestNotSent):
        # Refused before sending: nothing reached FLORA, the outcome is known.
        return CreateFailure(
            "not_started", refusal=Refusal("upstream_busy", f"{error} Nothing was started.", 503)
        )
    if isinstance(error, APIConnectionError | APIResponseValidationError | InternalServerError):
        return CreateFailure("unknown")
    assert isinstance(error, APIStatusError), error
    if error.status_code == 408:
        return CreateFailure("unknown")
    if isinstance(error, RateLimitError):
        return CreateFailure("not_started", refusal=refusal_from(error))
    return CreateFailure("refused", refusal=refusal_from(error))


def request_inputs(run: Run) -> list[dict[str, str]]:
    """The run's inputs as FLORA takes them (the row also keeps each input's name)."""
    return [{key: item[key] for key in ("id", "type", "value")} for item in run.inputs]


def create_remote(client: Flora, run: Run, callback_url: str | None) -> RemoteRun:
    """The create call for one row, keyed by the row's intent key. Raises flora errors.

    Notes on the row (unsaved) whether FLORA took the callback URL: a webhook is on the way.
    """
    payload = request_inputs(run)
    try:
        # POST /techniques/{technique_id}/runs (Idempotency-Key: the row's intent key)
        remote = client.techniques.runs.create(
            run.technique_id,
            inputs=payload,
            mode="async",
            callback_url=callback_url,
            idempotency_key=run.intent_key,
        )
    except BadRequestError as exc:
        only_callback = exc.fields and all(f.get("field") == "callback_url" for f in exc.fields)
        if not (callback_url and only_callback):
            raise
        # Webhooks only speed things up (polling brings every run to its end), so a callback
        # FLORA will not call must not stop the run. A refused request used no key: retry
        # once, same key, without it.
        logger.warning(
            "FLORA refused the callback URL for team %s (%s); starting run %s without it",
            run.team.slug,
            exc,
            run.code,
        )
        # POST /techniques/{technique_id}/runs (same idempotency key, no callback_url)
        remote = client.techniques.runs.create(
            run.technique_id, inputs=payload, mode="async", idempotency_key=run.intent_key
        )
        run.webhook_expected = False
        return remote
    # Saved with FLORA's answer (apply_remote): the sweep backs off for this run.
    run.webhook_expected = bool(callback_url)
    return remote


def with_outputs(
    client: Flora, item: RunListItem, *, run_id: str, technique_id: str, label: str
) -> RemoteRun | None:
    """The history item itself, or, when it says completed but leaves the outputs out, the
    full run; None when that could not be fetched (`label` names the run in the log)."""
    if item.status != RunStatus.COMPLETED or item.outputs is not None:
        return item
    try:
        # GET /techniques/{technique_id}/runs/{run_id}
        return client.techniques.runs.retrieve(run_id, technique_id=technique_id)
    except FloraError as exc:
        logger.info("Outputs of %s not fetched yet: %s", label, exc)
        return None
