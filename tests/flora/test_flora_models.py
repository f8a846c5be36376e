from __future__ import annotations

import datetime
import json

import pydantic
import pytest
import respx

from flora import (
    Flora,
    Run,
    RunInput,
    RunListItem,
    Technique,
    TechniqueIO,
    Workspace,
    to_datetime,
)
from flora.webhooks import WebhookEvent
from tests.flora.flora_payloads import run_list_item_json

# The seed's example response for GET /techniques/{id}, verbatim.
SEED_TECHNIQUE = {
    "inputs": [
        {
            "id": "prompt",
            "name": "Prompt",
            "type": "imageUrl",
            "description": "Describe the desired image.",
            "specified_aspect_ratio": "1:1",
            "specified_duration": 0,
        }
    ],
    "name": "Editorial Image Grid",
    "outputs": [
        {
            "id": "prompt",
            "name": "Prompt",
            "type": "imageUrl",
            "description": "Describe the desired image.",
            "specified_aspect_ratio": "1:1",
            "specified_duration": 0,
        }
    ],
    "run_cost": 0,
    "technique_id": "tech_abcd1234",
    "description": "Generate a cohesive editorial image grid.",
}

# The seed's example item from GET /technique-runs, verbatim.
SEED_RUN_LIST_ITEM = {
    "created_at": 0,
    "progress": 0,
    "project_id": "prj_abc123",
    "run_id": "run_abc123",
    "status": "pending",
    "technique": {"name": "name", "technique_id": "tech_abcd1234"},
    "technique_run_id": "run_abc123",
    "workspace_id": "ws_abc123",
    "charged_cost": 0,
    "completed_at": 0,
    "error_code": "provider_error",
    "error_message": "The provider failed to complete the generation.",
    "outputs": [
        {"output_id": "output_1", "type": "imageUrl", "url": "https://media.flora.ai/output.png"}
    ],
    "poll_url": "https://example.com",
    "started_at": 0,
}


def test_the_seed_technique_parses() -> None:
    technique = Technique.model_validate(SEED_TECHNIQUE)
    field = technique.inputs[0]
    assert field.specified_aspect_ratio == "1:1"
    assert field.specified_duration == 0.0
    assert (field.optional, field.allow_multiple, field.accepts_element) == (False, False, False)


def test_the_seed_run_list_item_parses() -> None:
    item = RunListItem.model_validate(SEED_RUN_LIST_ITEM)
    assert isinstance(item, Run)
    assert item.technique.name == "name"
    assert item.error_code == "provider_error"
    assert item.outputs is not None
    assert item.outputs[0].output_id == "output_1"


def test_camel_case_run_fields_are_accepted() -> None:
    run = Run.model_validate(
        {
            "runId": "run_1",
            "status": "failed",
            "progress": 1,
            "createdAt": 1_700_000_000,
            "completedAt": 1_700_000_060,
            "chargedCost": 0.5,
            "errorCode": "provider_error",
            "errorMessage": "Oops.",
            "pollUrl": "https://app.flora.ai/api/v1/techniques/t/runs/run_1",
            "outputs": [{"outputId": "o", "type": "text", "url": "hello"}],
        }
    )
    assert run.run_id == "run_1"
    assert run.poll_url is not None
    assert run.charged_cost == 0.5
    assert run.error_code == "provider_error"
    assert run.outputs is not None
    assert run.outputs[0].output_id == "o"


def test_camel_case_technique_fields_are_accepted() -> None:
    technique = Technique.model_validate(
        {
            "techniqueId": "tech_1",
            "name": "N",
            "runCost": 1.25,
            "inputs": [
                {
                    "id": "i",
                    "name": "I",
                    "type": "text",
                    "specifiedAspectRatio": "16:9",
                    "allowMultiple": True,
                    "acceptsElement": True,
                }
            ],
            "outputs": [],
        }
    )
    assert technique.technique_id == "tech_1"
    assert technique.run_cost == 1.25
    assert technique.inputs[0].specified_aspect_ratio == "16:9"
    assert technique.inputs[0].allow_multiple
    assert technique.inputs[0].accepts_element


def test_unknown_fields_are_kept_not_rejected() -> None:
    run = Run.model_validate(
        {"run_id": "r", "status": "running", "progress": 0.4, "created_at": 1, "eta_s": 12}
    )
    assert run.model_extra == {"eta_s": 12}


def test_a_new_media_type_does_not_break_parsing() -> None:
    field = TechniqueIO.model_validate({"id": "m", "name": "Model", "type": "model3dUrl"})
    assert field.type == "model3dUrl"


def test_a_new_run_status_does_not_break_parsing() -> None:
    run = Run.model_validate({"run_id": "r", "status": "cancelled", "progress": 0, "created_at": 1})
    assert run.status == "cancelled"
    assert not run.is_terminal


@pytest.mark.parametrize(
    ("status", "terminal"),
    [("pending", False), ("running", False), ("completed", True), ("failed", True)],
)
def test_is_terminal(status: str, terminal: bool) -> None:
    run = Run.model_validate({"run_id": "r", "status": status, "progress": 0, "created_at": 1})
    assert run.is_terminal is terminal


def test_dumping_uses_the_spec_names() -> None:
    run = Run.model_validate({"runId": "r", "status": "pending", "progress": 0, "createdAt": 1})
    assert run.model_dump()["run_id"] == "r"


def test_to_datetime_reads_seconds_and_milliseconds() -> None:
    expected = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert to_datetime(1_767_225_600) == expected
    assert to_datetime(1_767_225_600_000) == expected
    assert to_datetime(1_767_225_600.5) == expected + datetime.timedelta(milliseconds=500)
    assert to_datetime(None) is None


def test_run_datetime_helpers_are_aware_utc() -> None:
    run = Run.model_validate(
        {"run_id": "r", "status": "running", "progress": 0, "created_at": 1_767_225_600_000}
    )
    assert run.created_datetime == datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert run.created_datetime is not None
    assert run.created_datetime.tzinfo is datetime.UTC
    assert run.started_datetime is None
    assert run.completed_datetime is None


def test_workspace_tolerates_missing_role_and_date() -> None:
    workspace = Workspace.model_validate({"workspace_id": "ws", "name": "W"})
    assert workspace.role is None
    assert workspace.created_datetime is None


def test_run_input_accepts_only_run_input_types() -> None:
    RunInput(id="a", type="videoUrl", value="https://x/v.mp4")
    with pytest.raises(pydantic.ValidationError):
        RunInput.model_validate({"id": "a", "type": "documentUrl", "value": "https://x/d.pdf"})


def test_webhook_event_created_at_is_milliseconds() -> None:
    event = WebhookEvent.model_validate(
        {
            "id": "whd_1",
            "type": "run.completed",
            "api_version": "2026-06-11",
            "created_at": 1_767_225_600_000,
            "data": {
                "run_id": "run_1",
                "run_type": "technique",
                "workspace_id": "ws_1",
                "status": "completed",
            },
        }
    )
    assert event.created_datetime == datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


# --- Extreme values: Python's json reads NaN and Infinity, and numbers have any size --------

NAN = float("nan")
INF = float("inf")


def _run(**fields: object) -> Run:
    return Run.model_validate(
        {"run_id": "r", "status": "running", "progress": 0, "created_at": 1, **fields}
    )


@pytest.mark.parametrize("cost", [NAN, INF, -INF, 10**400])
def test_a_cost_that_is_no_number_is_unknown(cost: object) -> None:
    assert _run(charged_cost=cost).charged_cost is None


def test_a_price_that_is_no_number_is_unknown() -> None:
    technique = Technique.model_validate({**SEED_TECHNIQUE, "run_cost": NAN})
    assert technique.run_cost is None
    assert Technique.model_validate({**SEED_TECHNIQUE, "run_cost": 1e12}).run_cost == 1e12


@pytest.mark.parametrize(
    ("progress", "expected"),
    [(NAN, 0), (INF, 100), (-INF, 0), (-5, 0), (1e300, 100), (10**400, 100), (0.5, 0.5)],
)
def test_progress_is_clamped_into_0_to_100(progress: object, expected: float) -> None:
    assert _run(progress=progress).progress == expected


@pytest.mark.parametrize("stamp", [NAN, INF, -1, 1e300, 10**400, 253_402_300_800, 1e16])
def test_a_timestamp_that_is_no_moment_is_unknown(stamp: object) -> None:
    run = _run(created_at=stamp, started_at=stamp, completed_at=stamp)
    assert (run.created_at, run.started_at, run.completed_at) == (None, None, None)
    assert run.created_datetime is None and run.completed_datetime is None
    assert Workspace.model_validate({"workspace_id": "w", "name": "W", "created_at": stamp})


def test_to_datetime_never_raises_for_a_float() -> None:
    for stamp in (NAN, INF, -INF, -1.0, 1e300, 1e16):
        assert to_datetime(stamp) is None
    assert to_datetime(0) == datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def test_a_wrongly_typed_optional_detail_is_dropped_not_fatal() -> None:
    run = _run(started_at="yesterday", charged_cost="a lot", error_code=500, poll_url=["x"])
    assert (run.started_at, run.charged_cost, run.error_code, run.poll_url) == (
        None,
        None,
        None,
        None,
    )


def test_a_page_of_runs_survives_one_odd_item(client: Flora, api: respx.MockRouter) -> None:
    odd = run_list_item_json("run_odd", progress=NAN, created_at=INF, started_at="soon")
    odd["charged_cost"] = 10**400
    body = {"technique_runs": [odd, run_list_item_json("run_ok")], "meta": {}}
    api.get("/technique-runs").respond(
        content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )

    page = client.techniques.runs.list(workspace_id="ws_abc123")

    assert [item.run_id for item in page.items] == ["run_odd", "run_ok"]
    assert page.items[0].progress == 0 and page.items[0].created_at is None
