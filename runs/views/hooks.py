"""FLORA's signed run webhooks: POST /hooks/flora/<team webhook token>.

The token names the team (it is random and unguessable, but the signature is what proves the
delivery came from FLORA). A delivery carries no outputs, only "this run ended", so the
receiver records it, makes the run due and enqueues a refresh: the background worker asks
FLORA for the full run within about a second. Refreshing inline instead would tie the
answer to FLORA (which waits for it, and retries on a slow one) to a second call back to
FLORA, and a burst of runs ending together would hold that many web threads.

Every rejection is logged with its reason; the token and the secret never are (the request
log redacts the token in paths).
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from flora import webhooks
from runs.models import Run, WebhookDelivery
from runs.refresh import request_immediate_refresh
from teams.models import FloraConnection, SecretUnavailable, Team

logger = logging.getLogger(__name__)

# A burst of deliveries for runs we do not know yet triggers one history sync, not many.
SYNC_COALESCE_SECONDS = 30


def _answer(status: int, code: str, message: str) -> JsonResponse:
    if status >= 400:
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return JsonResponse({"ok": True, "result": code}, status=status)


def _enqueue_refresh(run_pk: int) -> None:
    from runs.tasks import refresh_run

    refresh_run.enqueue(run_pk)


def _enqueue_sync(team: Team) -> bool:
    from runs.tasks import sync_team_history

    if not cache.add(f"runs:webhook-sync:v1:{team.pk}", 1, SYNC_COALESCE_SECONDS):
        return False
    sync_team_history.enqueue(team.pk)
    return True


@csrf_exempt
@login_not_required
@require_POST
def flora_webhook(request: HttpRequest, token: str) -> JsonResponse:
    team = Team.objects.select_related("connection").filter(webhook_token=token).first()
    if team is None:
        logger.warning("Webhook rejected: unknown receiver token (404)")
        return _answer(404, "unknown_receiver", "No webhook receiver here.")
    try:
        secret = team.connection.decrypt_webhook_secret()
    except FloraConnection.DoesNotExist:
        secret = ""
    except SecretUnavailable:
        # Our configuration problem, not FLORA's: a 5xx makes FLORA deliver again later.
        logger.error("Webhook for team %s not verified: its secret cannot be decrypted", team.slug)
        return _answer(503, "secret_unavailable", "The receiver cannot verify deliveries now.")

    try:
        event = webhooks.verify(request.body, request.headers, secrets=[secret] if secret else [])
    except webhooks.WebhookVerificationError as exc:
        logger.warning(
            "Webhook for team %s rejected (400): %s: %s", team.slug, exc.reason, exc.message
        )
        return _answer(400, exc.reason, "The delivery could not be verified.")

    data = event.data
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                team=team,
                delivery_id=event.id[:200],
                event_type=event.type[:50],
                flora_run_id=data.run_id[:200],
            )
    except IntegrityError:
        # At-least-once delivery: this one was handled already.
        logger.info("Webhook %s for team %s is a repeat; ignored", event.id, team.slug)
        return _answer(200, "duplicate", "Already received.")

    run = Run.objects.filter(team=team, flora_run_id=data.run_id).only("pk", "code").first()
    if run is None:
        # Not linked yet (a create whose answer is still on its way) or started outside the
        # dashboard: the history sync imports it, and the reconciler links ours.
        queued = _enqueue_sync(team)
        logger.info(
            "Webhook %s for team %s: FLORA run %s is not known yet; history sync %s",
            event.id,
            team.slug,
            data.run_id,
            "queued" if queued else "already queued",
        )
        return _answer(200, "unknown_run", "Recorded; the run will be imported.")

    if request_immediate_refresh(run):
        transaction.on_commit(lambda: _enqueue_refresh(run.pk))
        logger.info(
            "Webhook %s: run %s is %s at FLORA; refresh queued", event.id, run.code, data.status
        )
        return _answer(200, "refresh_queued", "Recorded; the run is being refreshed.")
    logger.info("Webhook %s: run %s had already ended here", event.id, run.code)
    return _answer(200, "already_final", "Recorded.")
