"""sk_sandbox_limited: the 6th request within a second gets 429 with Retry-After: 1."""

from __future__ import annotations

from tests.sandbox.sandbox_helpers import DEMO, LIMITED


def test_the_sixth_request_within_a_second_is_rate_limited(api, clock):
    statuses = []
    for _ in range(6):
        statuses.append(api.get("/techniques", key=LIMITED).status_code)
        clock.advance(0.1)

    assert statuses == [200, 200, 200, 200, 200, 429]
    response = api.get("/workspaces", key=LIMITED)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "rate_limited"
    assert response["request-id"].startswith("req_")


def test_it_recovers_after_a_second(api, clock):
    for _ in range(6):
        api.get("/techniques", key=LIMITED)

    clock.advance(1.0)

    assert api.get("/techniques", key=LIMITED).status_code == 200


def test_the_window_slides(api, clock):
    for _ in range(5):
        api.get("/techniques", key=LIMITED)
        clock.advance(0.15)
    clock.advance(0.3)  # the first request is now more than a second old

    assert api.get("/techniques", key=LIMITED).status_code == 200
    assert api.get("/techniques", key=LIMITED).status_code == 429


def test_other_keys_are_not_limited(api, clock):
    assert {api.get("/techniques", key=DEMO).status_code for _ in range(12)} == {200}
