"""Template helpers for result pages: {% load run_results %}.

`runs/_outputs.html` is rendered by the run page and, as an out-of-band swap, by the status
fragment's view; it gets only `run` and `request`, so everything it needs is computed here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from runs.display import OutputItem, member_items
from runs.models import RunStatus
from teams.permissions import can_start_runs
from techniques.services import is_valid_technique_id

register = template.Library()

# FLORA's error codes (and the dashboard's own, for runs that never started) in words.
ERROR_EXPLANATIONS: dict[str, str] = {
    "provider_error": (
        "The AI model behind this technique failed while making the result. This is usually "
        "temporary: running it again often works."
    ),
    "content_policy_violation": (
        "FLORA's safety checks refused the inputs or the result. Change the inputs before "
        "running it again."
    ),
    "moderation": (
        "FLORA's safety checks refused the inputs or the result. Change the inputs before "
        "running it again."
    ),
    "timeout": "The run took longer than FLORA allows and was stopped. Try again later.",
    "input_validation_error": (
        "FLORA did not accept one of the inputs (a missing value, or a file it could not "
        "open). Check the inputs and run it again."
    ),
    "invalid_input": (
        "FLORA could not use one of the inputs, for example an image URL it could not open."
    ),
    "insufficient_credits": (
        "The team's FLORA account has run out of credits. A manager needs to top it up "
        "before runs can start again."
    ),
    "rate_limited": "FLORA was busy with too many requests from the team. Try again shortly.",
    "unauthorized": (
        "FLORA did not accept the team's API key. An admin needs to check the connection."
    ),
    "invalid_api_key": (
        "FLORA did not accept the team's API key. An admin needs to check the connection."
    ),
    "forbidden": "The team's API key may not use this technique or workspace.",
    "not_found": "FLORA no longer knows this technique.",
    "unknown_error": "Something went wrong on FLORA's side. Try again in a few minutes.",
    "internal_error": "Something went wrong on FLORA's side. Try again in a few minutes.",
    "service_unavailable": "FLORA was temporarily unavailable. Try again in a few minutes.",
    "cancelled": "The run was cancelled before it finished.",
}
DEFAULT_EXPLANATION = (
    "FLORA stopped this run before it produced a result. Failed runs are generally "
    "refunded; running it again is billed as a new run."
)
NOT_STARTED_EXPLANATION = (
    "The run never started on FLORA, so nothing was charged. Check the message, then run it again."
)


def explain_error(code: str, status: str) -> str:
    if code in ERROR_EXPLANATIONS:
        return ERROR_EXPLANATIONS[code]
    if status == RunStatus.FAILED_TO_START:
        return NOT_STARTED_EXPLANATION
    return DEFAULT_EXPLANATION


@register.simple_tag
def member_output_items(run: Any) -> list[OutputItem]:
    return member_items(run)


@register.simple_tag
def run_failure(run: Any) -> dict[str, str]:
    return {
        "code": run.error_code,
        "message": run.error_message,
        "explanation": explain_error(run.error_code, run.status),
    }


@register.simple_tag(takes_context=True)
def may_run_again(context: template.Context) -> bool:
    request = context.get("request")
    run = context.get("run")
    if run is None or not is_valid_technique_id(run.technique_id):
        return False
    return can_start_runs(getattr(request, "membership", None))


@register.simple_tag
def outputs_poll_seconds(items: list[OutputItem]) -> int:
    """How often the outputs fragment asks again; 0 when nothing is left to wait for.

    Fast while a first copy is under way, slow while a failed copy waits for its retry.
    """
    pending = [item for item in items if item.is_pending]
    if not pending:
        return 0
    return 20 if all(item.is_retrying for item in pending) else 2


@register.filter
def kept_count(items: list[OutputItem]) -> int:
    return sum(1 for item in items if item.is_kept)


@register.filter
def ago(value: datetime | None) -> str:
    """'just now', '5 minutes ago', '2 days ago'."""
    if value is None:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value).split(', ')[0]} ago"


@register.simple_tag(takes_context=True)
def aside_is_stale(context: template.Context) -> bool:
    """True when the run page's side column was rendered before the run ended.

    That is when this fragment arrives through the status poll (the run just turned
    terminal while the page was open), or through its own poll started in that state.
    """
    request = context.get("request")
    if request is None or not getattr(request, "htmx", False):
        return False
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name == "runs:status":
        return True
    return request.GET.get("stale") == "1"
