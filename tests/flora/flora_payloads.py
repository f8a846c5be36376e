"""Constants and JSON builders shared by the flora client tests."""

from __future__ import annotations

from typing import Any

API_KEY = "sk_live_T0pS3cretKeyValue0123456789wxyz"
BASE_URL = "https://flora.test/api/v1"


def run_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": "run_abc123",
        "status": "pending",
        "progress": 0,
        "created_at": 1_767_225_600,
        "poll_url": f"{BASE_URL}/techniques/tech_abcd1234/runs/run_abc123",
    }
    body.update(overrides)
    return body


def technique_json(technique_id: str = "tech_abcd1234", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "technique_id": technique_id,
        "name": "Editorial Image Grid",
        "description": "Generate a cohesive editorial image grid.",
        "run_cost": 0.25,
        "inputs": [{"id": "prompt", "name": "Prompt", "type": "text"}],
        "outputs": [{"id": "grid", "name": "Grid", "type": "imageUrl"}],
    }
    body.update(overrides)
    return body


def run_list_item_json(run_id: str = "run_abc123", **overrides: Any) -> dict[str, Any]:
    body = run_json(run_id=run_id)
    body.update(
        project_id="prj_abc123",
        workspace_id="ws_abc123",
        technique={"name": "Editorial Image Grid", "technique_id": "tech_abcd1234"},
        technique_run_id=run_id,
    )
    body.update(overrides)
    return body
