"""The signed-url flow over HTTP: reserve, POST the form to the sandbox's own upload target
(no API key), complete; expiry, retry, and everything that can go wrong on the way."""

from __future__ import annotations

import httpx
import pytest

from sandbox.models import SandboxAsset
from tests.sandbox.asset_helpers import image

API = "/sandbox/api/v1"
AUTH = {"Authorization": "Bearer sk_sandbox_demo"}
BIG_PNG = image("PNG", (2400, 1800))  # raw noise would be larger; a flat image is enough


def _reserve(http: httpx.Client, **body) -> dict:
    body = {"workspace_id": "ws_demo", "source": "signed-url", "file_name": "big.png", **body}
    response = http.post(f"{API}/assets", json=body, headers=AUTH)
    assert response.status_code == 201, response.json()
    return response.json()


def _send(http: httpx.Client, upload: dict, data: bytes, **overrides: str) -> httpx.Response:
    fields = {**upload["form_fields"], **overrides}
    return http.post(upload["url"], data=fields, files={"file": ("big.png", data, "image/png")})


def _complete(http: httpx.Client, asset_id: str, **headers: str) -> httpx.Response:
    return http.post(f"{API}/assets/{asset_id}/complete", headers={**AUTH, **headers})


def test_reserve_upload_complete_end_to_end(sandbox_http, upstream, clock):
    data = BIG_PNG + b"\0" * (5 * 1024 * 1024)  # over 4 MB; trailing bytes after IEND
    reservation = _reserve(sandbox_http, content_type="image/png")

    assert reservation["status"] == "pending_upload"
    assert reservation["uploaded_via"] == "signed_url"
    upload = reservation["upload"]
    assert upload["method"] == "POST" and upload["file_field"] == "file"
    assert upload["content_type"] == "multipart/form-data"
    assert upload["url"].startswith("http://testserver/sandbox/uploads/")
    assert reservation["expires_at"] == "2026-09-21T15:13:20.000Z"  # clock start + 1 h
    asset_id = reservation["asset_id"]
    assert sandbox_http.get(f"{API}/assets/{asset_id}", headers=AUTH).json()["url"] is None

    sent = _send(sandbox_http, upload, data)
    assert sent.status_code == 204
    upload_request = upstream.requests[-1]
    assert upload_request.url.path.startswith("/sandbox/uploads/")
    assert "authorization" not in upload_request.headers

    completed = _complete(sandbox_http, asset_id)
    assert completed.status_code == 200
    assert completed.json()["status"] == "ready"
    detail = sandbox_http.get(f"{API}/assets/{asset_id}", headers=AUTH).json()
    assert (detail["width"], detail["height"], detail["size_bytes"]) == (2400, 1800, len(data))
    served = sandbox_http.get(detail["url"])
    assert served.content == data and served.headers["content-type"] == "image/png"


def test_the_upload_url_is_used_up_by_complete(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    _send(sandbox_http, reservation["upload"], BIG_PNG)
    _complete(sandbox_http, reservation["asset_id"])
    again = _send(sandbox_http, reservation["upload"], image("GIF"))
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    # A second complete changes nothing and says so.
    assert _complete(sandbox_http, reservation["asset_id"]).json()["status"] == "ready"


def test_complete_before_any_upload_is_refused_and_keeps_the_asset(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    response = _complete(sandbox_http, reservation["asset_id"])
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == [
        {"field": "asset_id", "message": "No file has been sent to this asset's upload URL yet"}
    ]
    assert SandboxAsset.objects.get().status == "pending_upload"


def test_bytes_of_an_unsupported_type_make_a_failed_asset(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    _send(sandbox_http, reservation["upload"], b"#!/bin/sh\necho not an image\n")
    completed = _complete(sandbox_http, reservation["asset_id"]).json()
    assert completed["status"] == "failed" and completed["url"] is None
    assert completed["failure_message"].startswith("Unsupported file type")
    detail = sandbox_http.get(f"{API}/assets/{reservation['asset_id']}", headers=AUTH).json()
    assert (
        detail["status"] == "failed" and detail["failure_message"] == completed["failure_message"]
    )


def test_the_form_fields_must_be_sent_as_given(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    response = _send(sandbox_http, reservation["upload"], BIG_PNG, key="assets/someone-else")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "key"
    no_file = sandbox_http.post(
        reservation["upload"]["url"], data=reservation["upload"]["form_fields"]
    )
    assert no_file.status_code == 400


def test_an_unknown_token_is_404_and_get_is_405(sandbox_http):
    response = sandbox_http.post("/sandbox/uploads/nope", files={"file": ("a", b"x")})
    assert response.status_code == 404 and "request-id" in response.headers
    assert sandbox_http.get("/sandbox/uploads/nope").status_code == 405


def test_an_upload_over_50_mb_is_refused(sandbox_http, clock, monkeypatch):
    monkeypatch.setattr("sandbox.assets.MAX_SIGNED_BYTES", 1024)
    reservation = _reserve(sandbox_http)
    response = _send(sandbox_http, reservation["upload"], BIG_PNG)
    assert response.status_code == 400
    assert "at most 50 MB" in response.json()["error"]["fields"][0]["message"]


def test_an_expired_url_is_refused_and_retry_gives_a_new_one(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    asset_id = reservation["asset_id"]
    clock.advance(3601)

    late = _send(sandbox_http, reservation["upload"], BIG_PNG)
    assert late.status_code == 403
    detail = sandbox_http.get(f"{API}/assets/{asset_id}", headers=AUTH).json()
    assert detail["status"] == "failed" and "expired" in detail["failure_message"]

    retried = sandbox_http.post(f"{API}/assets/{asset_id}/retry", headers=AUTH)
    assert retried.status_code == 200
    fresh = retried.json()
    assert fresh["status"] == "pending_upload" and fresh["asset_id"] == asset_id
    assert fresh["upload"]["url"] != reservation["upload"]["url"]
    assert fresh["expires_at"] == "2026-09-21T16:13:21.000Z"
    assert _send(sandbox_http, fresh["upload"], BIG_PNG).status_code == 204
    assert _complete(sandbox_http, asset_id).json()["status"] == "ready"


def test_an_expired_url_fails_at_the_target_before_anyone_reads(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    clock.advance(3601)
    late = _send(sandbox_http, reservation["upload"], BIG_PNG)
    assert late.status_code == 403 and "expired" in late.json()["error"]["message"]


def test_a_ready_asset_cannot_be_retried(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    _send(sandbox_http, reservation["upload"], BIG_PNG)
    _complete(sandbox_http, reservation["asset_id"])
    response = sandbox_http.post(f"{API}/assets/{reservation['asset_id']}/retry", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["message"].endswith("is ready; nothing to retry")


def test_complete_on_a_reused_key_is_a_duplicate(sandbox_http, clock):
    reservation = _reserve(sandbox_http)
    _send(sandbox_http, reservation["upload"], BIG_PNG)
    first = _complete(sandbox_http, reservation["asset_id"], **{"Idempotency-Key": "done-1"})
    second = _complete(sandbox_http, reservation["asset_id"], **{"Idempotency-Key": "done-1"})
    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["error"]["code"] == "idempotency_duplicate"


def test_a_reservation_on_a_reused_key_is_a_duplicate(sandbox_http, clock):
    headers = {**AUTH, "Idempotency-Key": "reserve-1"}
    body = {"workspace_id": "ws_demo", "source": "signed-url"}
    first = sandbox_http.post(f"{API}/assets", json=body, headers=headers)
    second = sandbox_http.post(f"{API}/assets", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 409)
    assert SandboxAsset.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content_type": "text/html"}, "content_type"),
        ({"file": "aGVsbG8="}, "file"),
        ({"source": 5}, "source"),
    ],
)
def test_reservation_problems(sandbox_http, body, field):
    payload = {"workspace_id": "ws_demo", "source": "signed-url", **body}
    response = sandbox_http.post(f"{API}/assets", json=payload, headers=AUTH)
    assert response.status_code == 400
    assert field in {item["field"] for item in response.json()["error"]["fields"]}


def test_a_body_that_is_not_json(sandbox_http):
    response = sandbox_http.post(
        f"{API}/assets", content=b"{nope", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
