"""Shared helpers for the sandbox tests (imported as a plain module, like flora_payloads)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

BASE = "/sandbox/api/v1"
DEMO = "sk_sandbox_demo"
OTHER = "sk_sandbox_other"
BROKE = "sk_sandbox_broke"
LIMITED = "sk_sandbox_limited"

IMAGE = "https://cdn.example.com/photo.jpg"
PALETTE_INPUTS = [{"id": "image", "type": "imageUrl", "value": "https://cdn.example.com/a.png"}]


class SandboxClient:
    """Django's test client, speaking to the sandbox API with a bearer key."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, key: str | None = DEMO, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.client.get(BASE + path, params, headers=headers)

    def post(
        self,
        path: str,
        body: Any,
        key: str | None = DEMO,
        headers: dict[str, str] | None = None,
    ) -> Any:
        all_headers = {"Authorization": f"Bearer {key}"} if key else {}
        all_headers.update(headers or {})
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(
            BASE + path, data, content_type="application/json", headers=all_headers
        )

    def start_run(
        self,
        technique: str = "tech_palette-pull",
        inputs: list[dict] | None = None,
        key: str = DEMO,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> Any:
        payload = {"inputs": PALETTE_INPUTS if inputs is None else inputs, "mode": "async"}
        payload.update(body)
        return self.post(f"/techniques/{technique}/runs", payload, key=key, headers=headers)


def validation_fields(response) -> dict[str, str]:
    """The field messages of a 400 input_validation_error, by field."""
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "input_validation_error"
    return {item["field"]: item["message"] for item in error["fields"]}
