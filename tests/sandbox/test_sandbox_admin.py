"""The sandbox's models in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sandbox import webhooks
from sandbox.models import SandboxAsset
from tests.sandbox.asset_helpers import image, post_file


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


def test_the_admin_lists_assets_without_their_bytes(api, admin_client):
    asset_id = post_file(api, image("PNG"), "cat.png").json()["asset_id"]
    listing = admin_client.get(reverse("admin:sandbox_sandboxasset_changelist"), {"q": "cat"})
    assert listing.status_code == 200 and asset_id in listing.content.decode()
    pk = SandboxAsset.objects.get(asset_id=asset_id).pk
    page = admin_client.get(reverse("admin:sandbox_sandboxasset_change", args=[pk]))
    assert page.status_code == 200 and 'name="data"' not in page.content.decode()
