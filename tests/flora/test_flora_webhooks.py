from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

import flora
from flora import FloraError, WebhookVerificationError, webhooks

SECRET = "whsec_current_0123456789"
OLD_SECRET = "whsec_previous_9876543210"
NOW = 1_767_225_600
EVENT = {
    "id": "whd_abc123",
    "type": "run.completed",
    "api_version": "2026-06-11",
    "created_at": NOW * 1000,
    "data": {
        "run_id": "run_abc123",
        "run_type": "technique",
        "workspace_id": "ws_abc123",
        "status": "completed",
    },
}
BODY = json.dumps(EVENT, separators=(",", ":")).encode()


def _headers(signature: str, **extra: str) -> dict[str, str]:
    return {"Flora-Signature": signature, "Flora-Webhook-Id": EVENT["id"], **extra}


def _verify(
    body: bytes = BODY,
    headers: Mapping[str, Any] | None = None,
    secrets: list[str] | str | None = None,
    now: float = NOW,
) -> webhooks.WebhookEvent:
    if headers is None:
        headers = _headers(webhooks.sign(body, SECRET, NOW))
    return webhooks.verify(body, headers, [SECRET] if secrets is None else secrets, now=now)


def _reason(**kwargs: Any) -> str:
    with pytest.raises(WebhookVerificationError) as excinfo:
        _verify(**kwargs)
    return excinfo.value.reason


def test_sign_matches_a_known_vector() -> None:
    assert webhooks.sign(b'{"id":"whd_1"}', "whsec_test_secret", 1767225600) == (
        "t=1767225600,v1=c61bbf51521a4e308d3f850a27e6f2ade6b852c128f68af5cf9633b0ffc569ae"
    )


def test_a_valid_delivery_returns_the_typed_event() -> None:
    event = _verify()
    assert event.id == "whd_abc123"
    assert event.type == "run.completed"
    assert event.api_version == "2026-06-11"
    assert event.data.run_id == "run_abc123"
    assert event.data.run_type == "technique"
    assert event.data.error_code is None


def test_a_failed_run_event_carries_its_error() -> None:
    event_json = {**EVENT, "type": "run.failed"}
    event_json["data"] = {
        **EVENT["data"],  # type: ignore[dict-item]
        "status": "failed",
        "error_code": "provider_error",
        "error_message": "The provider failed.",
    }
    body = json.dumps(event_json).encode()
    event = _verify(body=body, headers={"Flora-Signature": webhooks.sign(body, SECRET, NOW)})
    assert event.type == "run.failed"
    assert event.data.error_code == "provider_error"


def test_a_wrong_secret_is_rejected() -> None:
    assert _reason(secrets=["whsec_someone_else"]) == "signature_mismatch"


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b"completed", b"failed")
    headers = _headers(webhooks.sign(BODY, SECRET, NOW))
    assert _reason(body=tampered, headers=headers) == "signature_mismatch"


def test_a_tampered_timestamp_is_rejected() -> None:
    signature = webhooks.sign(BODY, SECRET, NOW).replace(f"t={NOW}", f"t={NOW + 1}")
    assert _reason(headers=_headers(signature)) == "signature_mismatch"


def test_a_stale_timestamp_is_rejected() -> None:
    assert _reason(now=NOW + 301) == "timestamp_too_old"


def test_a_future_timestamp_is_rejected() -> None:
    assert _reason(now=NOW - 301) == "timestamp_in_future"


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_within_the_tolerance_pass(offset: int) -> None:
    assert _verify(now=NOW + offset).id == "whd_abc123"


def test_tolerance_is_configurable() -> None:
    headers = _headers(webhooks.sign(BODY, SECRET, NOW))
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, headers, [SECRET], tolerance=10, now=NOW + 11)
    assert webhooks.verify(BODY, headers, [SECRET], tolerance=10, now=NOW + 10)


def test_the_clock_defaults_to_now() -> None:
    import time

    stamp = int(time.time())
    event = webhooks.verify(BODY, _headers(webhooks.sign(BODY, SECRET, stamp)), [SECRET])
    assert event.id == "whd_abc123"


def test_any_of_two_v1_values_may_match() -> None:
    other = webhooks.sign(BODY, "whsec_unknown", NOW).split(",")[1]
    mine = webhooks.sign(BODY, SECRET, NOW).split(",")[1]
    assert _verify(headers=_headers(f"t={NOW},{other},{mine}")).id == "whd_abc123"


def test_rotation_accepts_a_delivery_signed_with_the_old_secret() -> None:
    headers = _headers(webhooks.sign(BODY, OLD_SECRET, NOW))
    assert _verify(headers=headers, secrets=[SECRET, OLD_SECRET]).id == "whd_abc123"


def test_rotation_accepts_a_header_signed_with_both_secrets() -> None:
    old = webhooks.sign(BODY, OLD_SECRET, NOW)
    new = webhooks.sign(BODY, SECRET, NOW).split(",")[1]
    assert _verify(headers=_headers(f"{old},{new}"), secrets=[SECRET]).id == "whd_abc123"


def test_a_single_secret_string_is_accepted() -> None:
    assert _verify(secrets=SECRET).id == "whd_abc123"


@pytest.mark.parametrize("secrets", [[], [""]])
def test_no_configured_secret_is_an_error(secrets: list[str]) -> None:
    assert _reason(secrets=secrets) == "no_secret"


def test_a_missing_header_is_rejected() -> None:
    assert _reason(headers={"Content-Type": "application/json"}) == "missing_header"


@pytest.mark.parametrize(
    "signature",
    [
        "garbage",
        "t=,v1=abc",
        "t=12ab,v1=abc",
        "v1=abc",
        f"t={NOW}",
        f"t={NOW},v1=",
        f"t={NOW},v0=abc",
    ],
)
def test_a_malformed_header_is_rejected(signature: str) -> None:
    assert _reason(headers=_headers(signature)) == "malformed_header"


def test_a_non_ascii_signature_does_not_crash() -> None:
    assert _reason(headers=_headers(f"t={NOW},v1=é")) == "signature_mismatch"


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda sig: {"flora-signature": sig},
        lambda sig: {"FLORA-SIGNATURE": sig},
        lambda sig: httpx.Headers({"Flora-Signature": sig}),
        lambda sig: {"HTTP_FLORA_SIGNATURE": sig, "CONTENT_TYPE": "application/json"},
    ],
    ids=["lower", "upper", "httpx", "wsgi-environ"],
)
def test_the_header_lookup_ignores_case(make_headers: Any) -> None:
    headers = make_headers(webhooks.sign(BODY, SECRET, NOW))
    assert _verify(headers=headers).id == "whd_abc123"


def test_a_str_body_is_accepted() -> None:
    event = webhooks.verify(
        BODY.decode(), {"Flora-Signature": webhooks.sign(BODY, SECRET, NOW)}, [SECRET], now=NOW
    )
    assert event.id == "whd_abc123"


def test_a_signed_body_that_is_not_json_is_rejected() -> None:
    body = b"not json"
    assert _reason(body=body, headers={"Flora-Signature": webhooks.sign(body, SECRET, NOW)}) == (
        "invalid_json"
    )


def test_a_signed_body_missing_event_fields_is_rejected() -> None:
    body = json.dumps({"id": "whd_1"}).encode()
    headers = {"Flora-Signature": webhooks.sign(body, SECRET, NOW)}
    assert _reason(body=body, headers=headers) == "invalid_payload"


def test_a_webhook_id_header_must_match_the_body() -> None:
    headers = _headers(webhooks.sign(BODY, SECRET, NOW))
    headers["Flora-Webhook-Id"] = "whd_other"
    assert _reason(headers=headers) == "webhook_id_mismatch"


def test_unknown_event_types_and_fields_are_tolerated() -> None:
    body = json.dumps({**EVENT, "type": "run.progressed", "attempt": 2}).encode()
    event = _verify(body=body, headers={"Flora-Signature": webhooks.sign(body, SECRET, NOW)})
    assert event.type == "run.progressed"
    assert event.model_extra == {"attempt": 2}


def test_the_error_is_a_flora_error_with_a_readable_message() -> None:
    with pytest.raises(FloraError) as excinfo:
        _verify(now=NOW + 1000)
    assert "old" in str(excinfo.value)
    assert SECRET not in str(excinfo.value)


def test_webhooks_is_reachable_from_the_package() -> None:
    assert flora.webhooks.verify is webhooks.verify
