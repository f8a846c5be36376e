"""The sandbox's models in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sandbox import webhooks


@pytest.mark.parametrize(
    "model", ["sandboxrun", "sandboxidempotencykey", "sandboxrequestlog", "sandboxwebhookdelivery"]
)
def test_the_admin_lists_sandbox_records(api, clock, admin_client, model, respx_mock):
    respx_mock.post("https://hooks.example.com/flora").respond(200)
    created = api.start_run(idempotency_key="k", callback_url="https://hooks.example.com/flora")
    clock.advance_past(created.json()["run_id"])
    webhooks.deliver(created.json()["run_id"])

    response = admin_client.get(reverse(f"admin:sandbox_{model}_changelist"), {"q": "run_"})

    assert response.status_code == 200
