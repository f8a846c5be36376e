"""Extreme values from FLORA: whatever number or string an answer holds, the row is written,
reads back, and every page that shows it answers; the periodic jobs carry on.

FLORA's answers are faked with respx (the sandbox never sends such values). They are
encoded with Python's json, which writes NaN and Infinity as literals: Python's json, and so
httpx's response.json(), reads them back as floats.
"""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import respx
from django.utils import timezone

import flora
from runs import sweep, sync
from runs.models import Run, RunOutput, RunStatus
from sandbox import catalog
from tests.runs.conftest import FAKE_FLORA_ROOT
from tests.runs.submit_helpers import read_form

pytestmark = pytest.mark.django_db

TAROT = "tech_tarot-pull"
NOW = int(time.time())
HUGE_INT = 10**400  # JSON allows any number of digits; no float holds this
NAN = float("nan")
INF = float("inf")
HX = {"HX-Request": "true"}


@pytest.fixture
def fake_flora(fake_flora, team_b):
    """respx where FLORA stands (tests/runs/conftest.py), for team B as well."""
    connection = team_b.connection
    connection.base_url = FAKE_FLORA_ROOT
    connection.save()
    return fake_flora


def _answer(mock: respx.MockRouter, path: str, body: dict) -> None:
    content = json.dumps(body).encode()  # NaN and Infinity as literals
    mock.get(path).respond(
        200, content=content, headers={"content-type": "application/json", "request-id": "req_x"}
    )


def _answer_run(mock: respx.MockRouter, flora_id: str, **overrides) -> None:
    body = {
        "run_id": flora_id,
        "status": "completed",
        "progress": 100,
        "created_at": NOW - 20,
        "started_at": NOW - 10,
        "completed_at": NOW,
        "charged_cost": 0.06,
        "outputs": [{"output_id": "reading", "type": "text", "url": "Patience."}],
        **overrides,
    }
    _answer(mock, f"/techniques/{TAROT}/runs/{flora_id}", body)


def _running_run(team, user, flora_id: str = "run_x") -> Run:
    return Run.objects.create(
        team=team,
        created_by=user,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        flora_run_id=flora_id,
        status=RunStatus.RUNNING,
        progress=40,
        submitted_at=timezone.now(),
    )


def _pages_work(client, run: Run) -> Run:
    """Every page that shows the run answers, and the row reads back as it now is."""
    row = Run.objects.get(pk=run.pk)  # a decimal the column can't hold fails here on SQLite
    list(RunOutput.objects.filter(run=row))
    assert client.get("/runs/").status_code == 200
    assert client.get(f"/runs/{row.code}/").status_code == 200
    for fragment_url in (f"/runs/{row.code}/status", f"/runs/{row.code}/status/row"):
        fragment = client.get(fragment_url, headers=HX)
        assert fragment.status_code in (200, 286)
    export = client.get("/runs/export.csv")
    assert export.status_code == 200
    assert row.code in b"".join(export.streaming_content).decode()
    return row


def _refresh_via_the_status_fragment(client, run: Run) -> Run:
    response = client.get(f"/runs/{run.code}/status", headers=HX)
    assert response.status_code in (200, 286)
    return _pages_work(client, run)


# --- Costs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cost",
    [1e10, 1_000_000, 1e300, HUGE_INT, -5, NAN, INF, -INF],
    ids=["beyond-column", "just-beyond", "1e300", "huge-int", "negative", "nan", "inf", "-inf"],
)
def test_a_cost_no_column_holds_is_recorded_as_unknown(bob_client, bob, team_a, fake_flora, cost):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", charged_cost=cost)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.COMPLETED
    assert row.charged_cost is None
    assert row.outputs.get().text == "Patience."


def test_the_largest_cost_a_column_holds_is_kept(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", charged_cost=999_999.9999)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.charged_cost == Decimal("999999.9999")


def test_a_failed_run_with_an_absurd_cost_costs_nothing(bob_client, bob, team_a, fake_flora):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", status="failed", charged_cost=NAN, outputs=None)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.FAILED and row.charged_cost == Decimal("0")


# --- Progress ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "expected"),
    [(NAN, 40), (INF, 100), (-INF, 40), (-5, 40), (1e300, 100), (HUGE_INT, 100), (250, 100)],
    ids=["nan", "inf", "-inf", "negative", "1e300", "huge-int", "over-100"],
)
def test_progress_is_clamped(bob_client, bob, team_a, fake_flora, progress, expected):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", status="running", progress=progress, outputs=None)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.RUNNING
    assert math.isfinite(row.progress) and 0 <= row.progress <= 100
    assert row.progress_percent == expected


def test_a_row_holding_infinite_progress_still_shows(bob_client, bob, team_a):
    # Written before progress was clamped (PostgreSQL's float column holds Infinity).
    run = _running_run(team_a, bob)
    held = timezone.now() + timedelta(hours=1)  # nobody asks FLORA meanwhile
    Run.objects.filter(pk=run.pk).update(progress=INF, refresh_claimed_until=held)
    assert _pages_work(bob_client, run).progress_percent == 0


# --- Timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [1e300, NAN, INF, -1, -1e300, HUGE_INT, 253_402_300_800, 1e16],
    ids=["1e300", "nan", "inf", "negative", "-1e300", "huge-int", "year-10000", "ms-beyond"],
)
def test_timestamps_that_are_no_moment_are_unknown(bob_client, bob, team_a, fake_flora, stamp):
    run = _running_run(team_a, bob)
    _answer_run(fake_flora, "run_x", created_at=stamp, started_at=stamp, completed_at=stamp)

    row = _refresh_via_the_status_fragment(bob_client, run)

    assert row.status == RunStatus.COMPLETED
    assert row.flora_created_at is None and row.started_at is None
    # FLORA did not say when it ended: the moment we learnt it did.
    assert abs((timezone.now() - row.completed_at).total_seconds()) < 60


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


# --- A technique's price -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_cost", [1e12, 1e300, NAN, INF], ids=["beyond-column", "1e300", "nan", "inf"]
)
def test_a_price_no_column_holds_is_quoted_as_unknown(bob_client, upstream, run_cost):
    technique = {**catalog.find(TAROT).to_api(), "run_cost": run_cost}
    upstream.respond(technique, path=rf"/techniques/{TAROT}$")

    page = bob_client.get(f"/techniques/{TAROT}/?workspace=ws_demo")
    assert page.status_code == 200
    html = page.content.decode()
    if not math.isfinite(run_cost):
        # No price is shown, and the button promises none ("Run for free" would be a lie).
        assert "Price unknown" in html and "data-run-button>Run</button>" in html
    data = read_form(html)
    data["in_question"] = "Will we ship?"
    response = bob_client.post(f"/techniques/{TAROT}/run", data)

    assert response.status_code == 302
    run = Run.objects.get()
    assert run.price_quoted is None
    assert _pages_work(bob_client, run).status == RunStatus.PENDING
