"""What the sandbox has seen, for tests elsewhere ("FLORA received exactly one create call").

from sandbox import stats
assert stats.create_calls("sk_sandbox_demo") == 2   # a double submission reached FLORA
assert stats.runs_created("sk_sandbox_demo") == 1   # ...and started one run
"""

from __future__ import annotations

from sandbox.models import SandboxRequestLog, SandboxRun


def create_calls(
    api_key: str | None = None,
    *,
    technique_id: str | None = None,
    idempotency_key: str | None = None,
    status_code: int | None = None,
) -> int:
    """POST /techniques/{id}/runs calls received, whatever their answer (201, 400, 409, ...).

    Counted once the key is authenticated and not rate-limited. `technique_id` is matched as
    sent in the path (id or slug).
    """
    calls = SandboxRequestLog.objects.all()
    if api_key is not None:
        calls = calls.filter(api_key=api_key)
    if technique_id is not None:
        calls = calls.filter(technique_id=technique_id)
    if idempotency_key is not None:
        calls = calls.filter(idempotency_key=idempotency_key)
    if status_code is not None:
        calls = calls.filter(status_code=status_code)
    return calls.count()


def runs_created(api_key: str | None = None) -> int:
    """Runs the sandbox started (what FLORA would have charged for)."""
    runs = SandboxRun.objects.all()
    if api_key is not None:
        runs = runs.filter(api_key=api_key)
    return runs.count()
