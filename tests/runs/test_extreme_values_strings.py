"""Extreme values from FLORA: over-long strings, and the periodic jobs carrying on past them."""

from __future__ import annotations

import pytest

import flora
from runs import sweep, sync
from runs.models import Run, RunStatus
from tests.runs.conftest import FAKE_FLORA_ROOT
from tests.runs.live_helpers import NAN, NOW, TAROT
from tests.runs.live_helpers import answer as _answer
from tests.runs.live_helpers import answer_run as _answer_run
from tests.runs.live_helpers import pages_work as _pages_work
from tests.runs.live_helpers import (
    refresh_via_the_status_fragment as _refresh_via_the_status_fragment,
)
from tests.runs.live_helpers import running_run as _running_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_flora(fake_flora, team_b):
    """respx where FLORA stands (tests/runs/conftest.py), for team B as well."""
    connection = team_b.connection
    connection.base_url = FAKE_FLORA_ROOT
    connection.save()
    return fake_flora


# --- Strings longer than their columns ---------------------------------------------------------


def test_an_over_long_error_code_is_cut_to_its_column(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    _answer_run(
        fake_flora, "run_x", status="failed", error_code="e" * 5000, error_message="m" * 5000
    )

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.FAILED
    assert row.error_code == "e" * 100
    assert row.error_message == "m" * 5000  # a text column: kept whole


def test_over_long_output_ids_and_types_fit_and_stay_unique(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    outputs = [
        {"output_id": "o" * 300 + "a", "type": "text", "url": "First."},
        {"output_id": "o" * 300 + "b", "type": "text", "url": "Second."},
        {"output_id": "plain", "type": "t" * 50, "url": "https://cdn.example.com/x.bin"},
    ]
    _answer_run(fake_flora, "run_x", outputs=outputs)

    row = _refresh_via_the_status_fragment(bob_client, run)

    stored = list(row.outputs.order_by("position"))
    assert [o.text for o in stored[:2]] == ["First.", "Second."]
    assert all(len(o.output_id) <= 200 for o in stored)
    assert stored[0].output_id != stored[1].output_id
    assert stored[2].type == "t" * 20
    # The same answer again creates nothing new: the shortened ids are stable.
    from runs.state import apply_remote

    answer = {"run_id": "run_x", "status": "completed", "outputs": outputs}
    remote = flora.Run.model_validate({"progress": 100, "created_at": None, **answer})
    apply_remote(row, remote)
    assert row.outputs.count() == 3


def test_over_long_ids_and_poll_url_are_not_kept(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    _answer_run(
        fake_flora,
        "run_x",
        workspace_id="w" * 500,
        project_id="p" * 500,
        poll_url="https://flora.test/" + "u" * 5000,
    )

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.COMPLETED
    assert (row.workspace_id, row.project_id, row.poll_url) == ("", "", "")


def test_an_over_long_request_id_is_cut_to_its_column(team_a, bob, fake_flora):
    from runs.state import apply_remote

    run = _running_run(team_a, bob)
    remote = flora.Run.model_validate(
        {"run_id": "run_x", "status": "running", "progress": 0, "created_at": None}
    )
    apply_remote(run, remote, request_id="r" * 500)
    assert Run.objects.get(pk=run.pk).last_request_id == "r" * 200


# --- The sweep and the history sync ------------------------------------------------------------


def test_a_sweep_with_one_poisoned_run_still_refreshes_the_other_teams_run(
    team_a, team_b, bob, dave, bob_client, dave_client, fake_flora
):
    poisoned = _running_run(team_a, bob, "run_bad")  # first in the sweep's order
    healthy = _running_run(team_b, dave, "run_ok")
    _answer_run(
        fake_flora,
        "run_bad",
        status="failed",
        progress=NAN,
        created_at=1e300,
        started_at=NAN,
        completed_at=-1,
        charged_cost=1e10,
        error_code="x" * 500,
        outputs=None,
    )
    _answer_run(fake_flora, "run_ok")

    report = sweep.sweep()

    assert report.count("refreshed") == 2
    assert _pages_work(bob_client, poisoned).status == RunStatus.FAILED
    assert _pages_work(dave_client, healthy).status == RunStatus.COMPLETED
    # ... and the next sweep is just as healthy.
    assert sweep.sweep().outcomes.get("error", 0) == 0


def _list_item(run_id: str, **overrides) -> dict:
    return {
        "run_id": run_id,
        "technique_run_id": run_id,
        "status": "running",
        "progress": 50,
        "created_at": NOW - 60,
        "project_id": "prj_demo",
        "workspace_id": "ws_demo",
        "technique": {"name": "Tarot Pull", "technique_id": TAROT},
        **overrides,
    }


def test_a_history_sync_imports_what_fits_and_skips_what_cannot(
    team_a, bob_client, fake_flora, caplog
):
    team_a.connection.workspace_ids = ["ws_demo"]
    team_a.connection.save()
    items = [
        _list_item("run_" + "l" * 500),  # an id no row holds: it could never be asked about
        _list_item(
            "run_odd",
            progress=NAN,
            created_at=NAN,
            workspace_id="w" * 500,
            project_id="p" * 500,
            technique={"name": "N" * 1000, "technique_id": TAROT},
        ),
        _list_item("run_plain"),
    ]
    _answer(fake_flora, "/technique-runs", {"technique_runs": items, "meta": {"next_cursor": None}})
    for item in items[1:]:  # asked about by the status fragment afterwards
        _answer(fake_flora, f"/techniques/{TAROT}/runs/{item['run_id']}", item)

    report = sync.sync_team(team_a.pk)

    assert report.ok
    imported = {run.flora_run_id: run for run in Run.objects.filter(team=team_a)}
    assert set(imported) == {"run_odd", "run_plain"}
    odd = _pages_work(bob_client, imported["run_odd"])
    assert odd.workspace_id == "ws_demo" and odd.project_id == ""
    assert odd.technique_name == "N" * 300
    assert 0 <= odd.progress <= 100
    assert "has an id too long to keep" in caplog.text
