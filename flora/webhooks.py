"""Verify FLORA's signed run webhooks (`callback_url` deliveries).

FLORA sends `Flora-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each v1 being
HMAC-SHA256 keyed by the workspace's signing secret (`whsec_...`) over
`b"<t>." + raw_body`. Several v1 values appear while a secret is being rotated.

    event = flora.webhooks.verify(request.body, request.headers, [secret])

Pass the exact raw bytes received: re-serialised JSON will not match. Deliveries are
at-least-once, so deduplicate on `event.id`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import pydantic

from ._errors import FloraError
from ._models import FloraModel, to_datetime

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "WEBHOOK_ID_HEADER",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookVerificationError",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "Flora-Signature"
WEBHOOK_ID_HEADER = "Flora-Webhook-Id"
DEFAULT_TOLERANCE = 300

Reason = Literal[
    "missing_header",
    "malformed_header",
    "no_secret",
    "timestamp_too_old",
    "timestamp_in_future",
    "signature_mismatch",
    "invalid_json",
    "invalid_payload",
    "webhook_id_mismatch",
]


class WebhookVerificationError(FloraError):
    """The delivery is not provably from FLORA (or is malformed); answer 400, not 500."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class WebhookEventData(FloraModel):
    run_id: str
    run_type: Literal["technique", "generation"] | str
    workspace_id: str
    status: Literal["completed", "failed"] | str
    error_code: str | None = None
    error_message: str | None = None


class WebhookEvent(FloraModel):
    id: str
    type: Literal["run.completed", "run.failed"] | str
    api_version: str
    # Unix milliseconds.
    created_at: float
    data: WebhookEventData

    @property
    def created_datetime(self) -> datetime.datetime | None:
        return to_datetime(self.created_at)


def verify(
    raw_body: bytes | str,
    headers: Mapping[str, Any],
    secrets: Iterable[str] | str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery's signature and age, then return the parsed event.

    `headers` may be any mapping (Django's request.headers or request.META, httpx.Headers,
    a dict); the lookup ignores case. `secrets` lists every currently valid signing
    secret, so a rotation can overlap. Raises WebhookVerificationError with a `.reason`.
    """
    body = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    # A lone string would otherwise be iterated character by character.
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    keys = [key for key in keys if key]
    if not keys:
        raise WebhookVerificationError("no_secret", "No webhook signing secret is configured.")

    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise WebhookVerificationError("missing_header", f"No {SIGNATURE_HEADER} header.")
    timestamp, signatures = _parse_signature_header(header)

    signed = timestamp.encode() + b"." + body
    expected = [_hmac_hex(key, signed).encode() for key in keys]
    # Compare every pair so the time taken does not depend on which one matched.
    matched = False
    for candidate in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(digest, candidate.encode("utf-8", "replace"))
    if not matched:
        raise WebhookVerificationError(
            "signature_mismatch", "Webhook signature does not match any configured secret."
        )

    # Checked after the signature, so a stale timestamp means a genuine but replayed or
    # delayed delivery rather than a forgery.
    age = (time.time() if now is None else now) - int(timestamp)
    if age > tolerance:
        raise WebhookVerificationError(
            "timestamp_too_old", f"Webhook timestamp is {age:.0f} s old (limit {tolerance} s)."
        )
    if age < -tolerance:
        raise WebhookVerificationError(
            "timestamp_in_future",
            f"Webhook timestamp is {-age:.0f} s in the future (limit {tolerance} s).",
        )

    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("invalid_json", "Webhook body is not valid JSON.") from None
    try:
        event = WebhookEvent.model_validate(payload)
    except pydantic.ValidationError as exc:
        raise WebhookVerificationError(
            "invalid_payload",
            f"Webhook body does not match the event schema ({exc.error_count()} errors).",
        ) from None

    delivery_id = _header(headers, WEBHOOK_ID_HEADER)
    if delivery_id is not None and delivery_id.strip() != event.id:
        raise WebhookVerificationError(
            "webhook_id_mismatch", f"{WEBHOOK_ID_HEADER} header does not match the body id."
        )
    return event


def sign(raw_body: bytes | str, secret: str, timestamp: int) -> str:
    """The `Flora-Signature` header value FLORA would send for this body.

    For tests and simulators (the sandbox) only: a receiver calls verify(), never this.
    """
    body = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    signed = f"{int(timestamp)}.".encode() + body
    return f"t={int(timestamp)},v1={_hmac_hex(secret, signed)}"


def _hmac_hex(secret: str, message: bytes) -> str:
    # The whole secret string, prefix included, is the key: that is what FLORA does.
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        # Also matches WSGI environ keys such as HTTP_FLORA_SIGNATURE.
        normalised = str(key).lower().replace("_", "-").removeprefix("http-")
        if normalised == wanted:
            if isinstance(value, list | tuple):
                return ",".join(str(item) for item in value)
            return str(value)
    return None


def _parse_signature_header(header: str) -> tuple[str, list[str]]:
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = value.strip()
        elif key == "v1" and value.strip():
            signatures.append(value.strip())
    if timestamp is None or not timestamp.isdigit():
        raise WebhookVerificationError(
            "malformed_header", f"{SIGNATURE_HEADER} header has no valid t= timestamp."
        )
    if not signatures:
        raise WebhookVerificationError(
            "malformed_header", f"{SIGNATURE_HEADER} header has no v1= signature."
        )
    return timestamp, signatures
