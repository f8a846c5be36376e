"""What the run page and its fragments show, built for the views that render them.

The page (runs:detail) and each fragment that re-renders a part of it (runs:outputs,
runs:aside, runs:status, the share link answers) take their context from here, so every
query and permission decision is made once, in Python, and the templates only format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.urls import reverse

from runs import shares
from runs.display import OutputItem, input_items, member_items
from runs.explanations import explain_error
from runs.forms import ShareForm
from runs.models import Run, RunOrigin, RunStatus
from runs.money import attach_reservations
from teams.models import Membership
from teams.permissions import can_share, can_start_runs
from techniques.services import is_valid_technique_id

__all__ = [
    "aside_context",
    "detail_context",
    "no_store_if_tokens",
    "outputs_context",
    "shares_context",
]

# How often the outputs section asks again while copies are being kept (seconds).
OUTPUTS_POLL_SECONDS = 2
# ...and while every copy still missing waits for its retry after a failure.
OUTPUTS_RETRY_POLL_SECONDS = 20


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _timings(run: Run) -> dict[str, float | None]:
    """Waiting (queued at FLORA), running, and total, in seconds; None when unknown yet."""
    queued = run.flora_created_at or run.submitted_at or run.created_at
    end = run.completed_at if run.is_terminal else None
    return {
        # A run that ended without ever running waited all its life.
        "waiting": _seconds(queued, run.started_at or end),
        "running": _seconds(run.started_at, end),
        "total": run.duration_seconds,
    }


def _technique_url(run: Run) -> str:
    # A run started outside the dashboard carries whatever id FLORA gave its technique.
    if not is_valid_technique_id(run.technique_id):
        return ""
    return reverse("techniques:detail", args=[run.technique_id])


def _started_by(run: Run) -> str:
    if run.created_by is not None:
        return run.created_by.get_full_name() or run.created_by.get_username()
    if run.origin == RunOrigin.EXTERNAL:
        return "Started outside the dashboard"
    return "A former member"


def _outputs_poll_seconds(items: list[OutputItem]) -> int:
    """How often the outputs section asks again; 0 when nothing is left to wait for.

    Fast while a first copy is under way, slow while a failed copy waits for its retry.
    """
    pending = [item for item in items if item.is_pending]
    if not pending:
        return 0
    if all(item.is_retrying for item in pending):
        return OUTPUTS_RETRY_POLL_SECONDS
    return OUTPUTS_POLL_SECONDS


def _share_rows(run: Run, membership: Membership) -> list[dict[str, Any]]:
    return shares.share_rows(
        run.share_links.select_related("created_by", "revoked_by"),
        membership,
        revoke_url=lambda link: reverse("runs:share_revoke", args=[run.code, link.code]),
        public_url=shares.public_url,
    )


def no_store_if_tokens(response: HttpResponse, ctx: dict[str, Any]) -> HttpResponse:
    """Mark an answer that shows a share link's token no-store, so no cache keeps it."""
    if ctx.get("created") or any(row["url"] for row in ctx.get("share_rows", ())):
        response["Cache-Control"] = "no-store"
    return response


def outputs_context(
    run: Run, membership: Membership, *, aside_stale: bool = False
) -> dict[str, Any]:
    """What runs/_outputs.html needs.

    `aside_stale`: the page around it was rendered before the run ended (the section came
    through the status poll, or through its own poll started that way), so once nothing is
    left to wait for, the section asks once for a fresh side column (runs:aside).
    """
    items = member_items(run)
    return {
        "run": run,
        "items": items,
        "kept": sum(1 for item in items if item.is_kept),
        "outputs_poll": _outputs_poll_seconds(items),
        "aside_stale": aside_stale,
        "failure": {
            "code": run.error_code,
            "message": run.error_message,
            "explanation": explain_error(run.error_code, run.status),
        },
        "can_run_again": can_start_runs(membership) and is_valid_technique_id(run.technique_id),
    }


def shares_context(
    run: Run, membership: Membership, *, form: ShareForm | None = None
) -> dict[str, Any]:
    """What runs/_shares.html needs (run page, side column, create and revoke answers)."""
    return {
        "run": run,
        "share_rows": _share_rows(run, membership),
        "can_share": can_share(membership, run.created_by_id),
        "shareable": run.status == RunStatus.COMPLETED,
        "share_form": form or ShareForm(),
    }


def aside_context(run: Run, membership: Membership) -> dict[str, Any]:
    """What the side column (runs/detail.html#aside) needs: details, inputs, share links."""
    attach_reservations([run])
    return {
        "run": run,
        "nav": "runs",
        "technique_url": _technique_url(run),
        "started_by": _started_by(run),
        "timings": _timings(run),
        "inputs": input_items(run),
        **chain_context(run),
        **shares_context(run, membership),
    }


def chain_context(run: Run) -> dict[str, Any]:
    """Where this run's inputs came from, and what was made from its outputs (issue 15)."""
    links = run.input_links.select_related("source_output__run")
    sources = {link.source_output.run for link in links}
    used_in = (
        Run.objects.filter(team_id=run.team_id, input_links__source_output__run=run)
        .distinct()
        .order_by("created_at", "id")
    )
    return {
        "input_from": sorted(sources, key=lambda r: (r.created_at, r.pk)),
        "used_in": list(used_in[:50]),
    }


def detail_context(run: Run, membership: Membership) -> dict[str, Any]:
    """The whole run page: the side column and the outputs section."""
    return {**aside_context(run, membership), **outputs_context(run, membership)}
