"""Keys, request ids, the error envelope and the routes around the API."""

from __future__ import annotations

import pytest

from tests.sandbox.sandbox_helpers import BASE, DEMO


@pytest.mark.parametrize(
    "path",
    ["/techniques", "/techniques/tech_cctv-cam", "/technique-runs", "/workspaces"],
)
def test_it_requires_a_key(api, path):
    response = api.get(path, key=None)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["request-id"].startswith("req_")


def test_it_rejects_an_unknown_key(api):
    response = api.get("/techniques", key="sk_live_not_a_sandbox_key")

    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthorized", "message": "Invalid API key."}}


def test_it_rejects_a_non_bearer_authorization(api):
    response = api.client.get(BASE + "/techniques", headers={"Authorization": f"Basic {DEMO}"})

    assert response.status_code == 401


def test_it_rejects_an_unknown_key_on_create(api):
    response = api.start_run(key="sk_sandbox_nobody")

    assert response.status_code == 401


def test_every_response_has_a_fresh_request_id(api):
    first = api.get("/techniques")
    second = api.get("/techniques/nope")

    assert first.status_code == 200
    assert second.status_code == 404
    assert first["request-id"].startswith("req_")
    assert second["request-id"].startswith("req_")
    assert first["request-id"] != second["request-id"]


def test_unknown_api_paths_answer_the_json_envelope(api):
    response = api.get("/generations")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response["request-id"].startswith("req_")


def test_it_rejects_the_wrong_method(api):
    response = api.post("/techniques", {})

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_it_needs_no_login_or_csrf_token(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        BASE + "/techniques/tech_palette-pull/runs",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {DEMO}"},
    )

    # A validation error, not a redirect to the login page or a CSRF failure.
    assert response.status_code == 400


def test_the_index_labels_the_sandbox(client):
    response = client.get("/sandbox/")

    assert response.status_code == 200
    assert "not FLORA" in response.json()["sandbox"]
