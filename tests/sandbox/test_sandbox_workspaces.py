"""GET /workspaces."""

from __future__ import annotations

import flora
from tests.sandbox.sandbox_helpers import BROKE, DEMO, OTHER


def test_it_lists_the_demo_keys_workspaces(api):
    response = api.get("/workspaces", key=DEMO)

    assert response.status_code == 200
    workspaces = response.json()["workspaces"]
    assert [(w["workspace_id"], w["name"]) for w in workspaces] == [
        ("ws_demo", "Demo Studio"),
        ("ws_brand", "Brand Team"),
    ]
    for workspace in workspaces:
        parsed = flora.Workspace.model_validate(workspace)
        assert parsed.role
        assert isinstance(workspace["created_at"], int)


def test_the_other_key_sees_only_its_own_workspace(api):
    workspaces = api.get("/workspaces", key=OTHER).json()["workspaces"]

    assert [w["workspace_id"] for w in workspaces] == ["ws_other"]


def test_the_broke_key_sees_the_demo_workspaces(api):
    workspaces = api.get("/workspaces", key=BROKE).json()["workspaces"]

    assert [w["workspace_id"] for w in workspaces] == ["ws_demo", "ws_brand"]
