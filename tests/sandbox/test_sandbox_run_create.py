"""POST /techniques/{techniqueId}/runs: the run it starts, workspaces and projects, credits."""

from __future__ import annotations

import flora
from sandbox import stats
from sandbox.models import SandboxRun
from tests.sandbox.sandbox_helpers import BROKE, IMAGE, OTHER
from tests.sandbox.sandbox_helpers import validation_fields as _fields


def test_it_starts_a_pending_run(api, clock):
    response = api.start_run()

    assert response.status_code == 201
    body = response.json()
    run = flora.Run.model_validate(body)
    assert run.run_id.startswith("run_")
    assert (run.status, run.progress) == ("pending", 0)
    assert body["created_at"] == int(clock.now())
    assert body["poll_url"] == (
        f"http://testserver/sandbox/api/v1/techniques/tech_palette-pull/runs/{run.run_id}"
    )
    assert "outputs" not in body and "charged_cost" not in body


def test_it_accepts_the_slug_and_puts_the_run_in_the_first_workspace(api):
    body = api.start_run("palette-pull").json()

    run = SandboxRun.objects.get(run_id=body["run_id"])
    assert (run.technique_id, run.workspace_id, run.project_id) == (
        "tech_palette-pull",
        "ws_demo",
        "prj_demo_campaign",
    )


def test_it_honours_workspace_and_project_ids(api):
    body = api.start_run(workspace_id="ws_brand", project_id="prj_brand_launch").json()

    run = SandboxRun.objects.get(run_id=body["run_id"])
    assert (run.workspace_id, run.project_id) == ("ws_brand", "prj_brand_launch")


def test_a_project_alone_picks_its_workspace(api):
    body = api.start_run(project_id="prj_brand_guidelines").json()

    assert SandboxRun.objects.get(run_id=body["run_id"]).workspace_id == "ws_brand"


def test_a_brand_only_technique_runs_in_the_brand_workspace(api):
    inputs = [
        {"id": "logo", "type": "imageUrl", "value": IMAGE},
        {"id": "twist", "type": "text", "value": "neon sign"},
    ]
    response = api.start_run("tech_logo-stylist", inputs)

    assert response.status_code == 201
    assert SandboxRun.objects.get(run_id=response.json()["run_id"]).workspace_id == "ws_brand"
    in_demo = api.start_run("tech_logo-stylist", inputs, workspace_id="ws_demo")
    assert in_demo.status_code == 404


def test_it_forbids_a_workspace_of_another_customer(api):
    response = api.start_run(workspace_id="ws_other")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_it_forbids_a_project_of_another_customer(api):
    assert api.start_run(project_id="prj_other_main").status_code == 403


def test_it_rejects_a_project_outside_the_given_workspace(api):
    response = api.start_run(workspace_id="ws_demo", project_id="prj_brand_launch")

    assert "project_id" in _fields(response)


def test_it_answers_404_for_an_unknown_technique(api):
    response = api.start_run("tech_nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_extra_fields_are_tolerated(api):
    assert api.start_run(metadata={"team": "a"}).status_code == 201


def test_the_broke_key_gets_insufficient_credits(api):
    response = api.start_run(key=BROKE)

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert SandboxRun.objects.count() == 0


def test_the_other_key_runs_in_its_own_workspace(api):
    body = api.start_run(key=OTHER).json()

    assert SandboxRun.objects.get(run_id=body["run_id"]).workspace_id == "ws_other"


def test_every_create_call_is_counted(api):
    api.start_run()
    api.start_run(mode="stream")
    api.start_run(key=BROKE)

    assert stats.create_calls("sk_sandbox_demo") == 2
    assert stats.create_calls("sk_sandbox_demo", status_code=201) == 1
    assert stats.create_calls("sk_sandbox_broke", status_code=402) == 1
    assert stats.runs_created("sk_sandbox_demo") == 1
    assert stats.runs_created() == 1
