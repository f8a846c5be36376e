"""Starting runs (idempotency included) and rendering them as the API does."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse

from sandbox import catalog, clock, lifecycle, media, webhooks
from sandbox.api import new_id
from sandbox.auth import ApiKey
from sandbox.errors import ApiError
from sandbox.models import SandboxIdempotencyKey, SandboxRun
from sandbox.validation import RunRequest

# The spec: "duplicate keys within two hours return idempotency_duplicate".
IDEMPOTENCY_WINDOW_SECONDS = 2 * 60 * 60


def request_hash(technique: catalog.Technique, body: dict) -> str:
    """What "the same request" means for idempotency: technique and body, minus the key."""
    canonical = {k: v for k, v in body.items() if k != "idempotency_key"}
    text = json.dumps([technique.technique_id, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def start_run(key: ApiKey, run_request: RunRequest, body_hash: str, speedup: float) -> SandboxRun:
    """Create the run, or raise 409/422 if its idempotency key was used before."""
    now = clock.now()
    with transaction.atomic():
        claim = None
        if run_request.idempotency_key:
            claim = _claim_idempotency_key(key, run_request.idempotency_key, body_hash, now)
        run = SandboxRun.objects.create(
            run_id=new_id("run_"),
            api_key=key.key,
            technique_id=run_request.technique.technique_id,
            workspace_id=run_request.workspace.workspace_id,
            project_id=run_request.project_id,
            inputs=run_request.inputs,
            callback_url=run_request.callback_url,
            created_at=now,
            speedup=speedup,
        )
        if claim is not None:
            claim.run = run
            claim.save(update_fields=["run"])
        if run.callback_url:
            # After commit, so a worker never picks up a delivery for an uncommitted run.
            transaction.on_commit(lambda: webhooks.schedule_delivery(run))
    return run


def _claim_idempotency_key(
    key: ApiKey,
    idempotency_key: str,
    body_hash: str,
    now: float,
    *,
    what: str = "a run was already started with this key",
) -> SandboxIdempotencyKey:
    """Claim the key for this request (runs and assets share one key space per API key)."""
    # Keys older than the window are forgotten, so the key may start a new run.
    SandboxIdempotencyKey.objects.filter(
        api_key=key.key, key=idempotency_key, created_at__lte=now - IDEMPOTENCY_WINDOW_SECONDS
    ).delete()
    try:
        # The unique constraint, not a prior SELECT, decides: of two simultaneous requests
        # with one key, exactly one insert succeeds.
        with transaction.atomic():
            return SandboxIdempotencyKey.objects.create(
                api_key=key.key, key=idempotency_key, request_hash=body_hash, created_at=now
            )
    except IntegrityError:
        pass
    existing = SandboxIdempotencyKey.objects.filter(api_key=key.key, key=idempotency_key).first()
    if existing is not None and existing.request_hash != body_hash:
        raise ApiError(
            422,
            "idempotency_conflict",
            "This idempotency key was already used with a different request body.",
        )
    raise ApiError(
        409,
        "idempotency_duplicate",
        f"Duplicate idempotency key: {what}.",
    )


# -- rendering ---------------------------------------------------------------------------


def poll_url(request: HttpRequest, run: SandboxRun) -> str:
    path = reverse("sandbox:run-detail", args=[run.technique_id, run.run_id])
    return request.build_absolute_uri(path)


def _outputs(request: HttpRequest, run: SandboxRun) -> list[dict]:
    if run.outputs is None:
        # Materialised once, on the first read after completion; later reads reuse it.
        described = media.describe_outputs(run)
        SandboxRun.objects.filter(pk=run.pk, outputs__isnull=True).update(outputs=described)
        run.outputs = described
    outputs = []
    for item in run.outputs:
        if "text" in item:
            url = item["text"]
        else:
            path = reverse("sandbox:media", args=[run.run_id, item["file"]])
            url = request.build_absolute_uri(path)
        outputs.append({"output_id": item["output_id"], "type": item["type"], "url": url})
    return outputs


def run_to_api(
    request: HttpRequest, run: SandboxRun, now: float, *, list_item: bool = False
) -> dict:
    state = lifecycle.state_at(run, now)
    data: dict = {
        "run_id": run.run_id,
        "status": state.status,
        "progress": state.progress,
        "created_at": int(run.created_at),
    }
    if state.started_at is not None:
        data["started_at"] = int(state.started_at)
    if state.completed_at is not None:
        data["completed_at"] = int(state.completed_at)
    if state.status == "completed":
        technique = catalog.find(run.technique_id)
        data["charged_cost"] = technique.run_cost if technique else 0
        data["outputs"] = _outputs(request, run)
    elif state.status == "failed":
        # Failed runs are refunded.
        data["charged_cost"] = 0
        data["error_code"] = "provider_error"
        data["error_message"] = lifecycle.FAILURE_MESSAGE
    data["poll_url"] = poll_url(request, run)
    if list_item:
        technique = catalog.find(run.technique_id)
        data["technique_run_id"] = run.run_id
        data["project_id"] = run.project_id
        data["workspace_id"] = run.workspace_id
        data["technique"] = (
            technique.to_ref() if technique else {"name": "", "technique_id": run.technique_id}
        )
    return data
