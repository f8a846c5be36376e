"""GET /technique-runs."""

from __future__ import annotations

import pytest

import flora
from tests.sandbox.sandbox_helpers import OTHER

IMAGE = "https://cdn.example.com/a.png"


def _start(api, clock, technique="tech_palette-pull", inputs=None, **body):
    response = api.start_run(technique, inputs, **body)
    assert response.status_code == 201, response.json()
    clock.advance(0.01)
    return response.json()["run_id"]


def _ids(api, **params):
    response = api.get("/technique-runs", **params)
    assert response.status_code == 200, response.json()
    return [item["run_id"] for item in response.json()["technique_runs"]]


def test_it_lists_newest_first_with_list_fields(api, clock):
    first = _start(api, clock)
    second = _start(api, clock, workspace_id="ws_brand")

    body = api.get("/technique-runs").json()

    assert [item["run_id"] for item in body["technique_runs"]] == [second, first]
    item = body["technique_runs"][0]
    parsed = flora.RunListItem.model_validate(item)
    assert parsed.technique_run_id == parsed.run_id == second
    assert parsed.technique.model_dump() == {
        "name": "Palette Pull",
        "technique_id": "tech_palette-pull",
    }
    assert (parsed.workspace_id, parsed.project_id) == ("ws_brand", "prj_brand_guidelines")
    assert parsed.poll_url.endswith(f"/sandbox/api/v1/techniques/tech_palette-pull/runs/{second}")
    assert body["meta"] == {"next_cursor": None, "total_estimate": 2}


def test_it_hides_other_customers_runs(api, clock):
    _start(api, clock)
    theirs = api.start_run(key=OTHER).json()["run_id"]

    assert _ids(api, key=OTHER) == [theirs]


def test_it_filters_by_workspace_project_and_technique(api, clock):
    demo = _start(api, clock)
    brand = _start(api, clock, workspace_id="ws_brand", project_id="prj_brand_launch")
    tarot = _start(
        api, clock, "tech_tarot-pull", [{"id": "question", "type": "text", "value": "?"}]
    )

    assert _ids(api, workspace_id="ws_demo") == [tarot, demo]
    assert _ids(api, workspace_id="ws_brand") == [brand]
    assert _ids(api, project_id="prj_brand_launch") == [brand]
    assert _ids(api, technique_id="tech_tarot-pull") == [tarot]
    assert _ids(api, technique_id="tarot-pull") == [tarot]
    assert _ids(api, technique_id="tech_nope") == []


def test_it_filters_by_the_time_derived_status(api, clock):
    done = _start(api, clock)
    clock.advance(30)
    failed = _start(
        api, clock, "tech_tarot-pull", [{"id": "question", "type": "text", "value": "[fail]"}]
    )
    clock.advance(30)
    running = _start(
        api, clock, "tech_earth-zoom-out", [{"id": "scene", "type": "imageUrl", "value": IMAGE}]
    )
    clock.advance(2)
    pending = _start(api, clock)

    assert _ids(api, status="completed") == [done]
    assert _ids(api, status="failed") == [failed]
    assert _ids(api, status="running") == [running]
    assert _ids(api, status="pending") == [pending]
    assert api.get("/technique-runs", status="completed").json()["meta"]["total_estimate"] == 1


def test_it_rejects_an_unknown_status(api):
    response = api.get("/technique-runs", status="done")

    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] == "status"


def test_it_forbids_a_workspace_the_key_cannot_see(api):
    assert api.get("/technique-runs", workspace_id="ws_other").status_code == 403


def test_it_paginates_with_a_cursor(api, clock):
    started = [_start(api, clock) for _ in range(5)]

    first = api.get("/technique-runs", limit="2").json()
    second = api.get("/technique-runs", limit="2", cursor=first["meta"]["next_cursor"]).json()
    third = api.get("/technique-runs", limit="2", cursor=second["meta"]["next_cursor"]).json()

    pages = [first, second, third]
    ids = [item["run_id"] for page in pages for item in page["technique_runs"]]
    assert ids == list(reversed(started))
    assert third["meta"]["next_cursor"] is None


def test_a_page_stays_stable_when_new_runs_arrive(api, clock):
    old = [_start(api, clock) for _ in range(3)]
    first = api.get("/technique-runs", limit="2").json()
    _start(api, clock)

    second = api.get("/technique-runs", limit="2", cursor=first["meta"]["next_cursor"]).json()

    assert [item["run_id"] for item in second["technique_runs"]] == [old[0]]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "x"}, {"cursor": "%%%"}])
def test_it_rejects_bad_paging_parameters(api, params):
    response = api.get("/technique-runs", **params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "input_validation_error"
