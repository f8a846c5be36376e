"""Idempotency keys on run creation (flora-api-notes.md, "Idempotency")."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from sandbox import stats
from sandbox.models import SandboxRun
from tests.sandbox.sandbox_helpers import BASE, DEMO, OTHER, PALETTE_INPUTS


def test_a_repeated_header_key_is_a_duplicate(api):
    headers = {"Idempotency-Key": "intent-1"}
    first = api.start_run(headers=headers)
    second = api.start_run(headers=headers)

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_duplicate"
    assert SandboxRun.objects.count() == 1


def test_a_repeated_body_key_is_a_duplicate(api):
    first = api.start_run(idempotency_key="intent-2")
    second = api.start_run(idempotency_key="intent-2")

    assert (first.status_code, second.status_code) == (201, 409)


def test_header_and_body_are_the_same_key(api):
    first = api.start_run(headers={"Idempotency-Key": "intent-3"})
    second = api.start_run(idempotency_key="intent-3")

    assert (first.status_code, second.status_code) == (201, 409)


def test_the_same_key_with_another_body_is_a_conflict(api):
    api.start_run(idempotency_key="intent-4")
    other_inputs = [{"id": "image", "type": "imageUrl", "value": "https://cdn.example.com/b.png"}]
    response = api.start_run(inputs=other_inputs, idempotency_key="intent-4")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_conflict"


def test_the_same_key_on_another_technique_is_a_conflict(api):
    api.start_run("tech_palette-pull", idempotency_key="intent-5")
    response = api.start_run("tech_color-mapping", idempotency_key="intent-5")

    assert response.status_code == 422


def test_keys_are_scoped_per_api_key(api):
    assert api.start_run(idempotency_key="shared").status_code == 201
    assert api.start_run(key=OTHER, idempotency_key="shared").status_code == 201


def test_a_key_expires_after_two_hours(api, clock):
    assert api.start_run(idempotency_key="intent-6").status_code == 201
    clock.advance(2 * 60 * 60 - 1)
    assert api.start_run(idempotency_key="intent-6").status_code == 409
    clock.advance(2)
    assert api.start_run(idempotency_key="intent-6").status_code == 201
    assert SandboxRun.objects.count() == 2


def test_differing_header_and_body_keys_are_rejected(api):
    response = api.start_run(headers={"Idempotency-Key": "a"}, idempotency_key="b")

    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "idempotency_key"


def test_a_failed_validation_does_not_use_up_the_key(api):
    assert api.start_run(mode="stream", idempotency_key="intent-7").status_code == 400
    assert api.start_run(idempotency_key="intent-7").status_code == 201


def test_duplicates_are_counted_as_create_calls(api):
    for _ in range(3):
        api.start_run(idempotency_key="intent-8")

    assert stats.create_calls(DEMO, idempotency_key="intent-8") == 3
    assert stats.create_calls(DEMO, idempotency_key="intent-8", status_code=409) == 2
    assert stats.runs_created(DEMO) == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_start_one_run():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        # Shared-cache in-memory SQLite reports lock conflicts instead of waiting for them.
        pytest.skip("needs a database that queues concurrent writers")
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def submit() -> None:
        client = Client()
        barrier.wait()
        response = client.post(
            BASE + "/techniques/tech_palette-pull/runs",
            json.dumps({"inputs": PALETTE_INPUTS, "mode": "async", "idempotency_key": "race"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {DEMO}"},
        )
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409, 409, 409]
    assert SandboxRun.objects.count() == 1


def test_the_database_refuses_a_second_claim_of_a_key(db):
    from django.db import IntegrityError, transaction

    from sandbox.models import SandboxIdempotencyKey

    SandboxIdempotencyKey.objects.create(api_key=DEMO, key="k", request_hash="a", created_at=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SandboxIdempotencyKey.objects.create(api_key=DEMO, key="k", request_hash="a", created_at=2)
