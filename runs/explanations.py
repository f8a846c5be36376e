"""Why a run failed, in words: one wording everywhere (the run page, history rows)."""

from __future__ import annotations

from runs.models import RunStatus

__all__ = ["explain_error"]

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
