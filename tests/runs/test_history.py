"""The run history (/runs/): filters in the query string, counts, CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from runs.models import OutputKeepStatus, Run, RunOrigin, RunOutput, RunStatus
from tests.runs.live_helpers import IMAGE, plain_run
from tests.runs.live_helpers import row_codes as _codes

pytestmark = pytest.mark.django_db


def _at(minutes_ago: float) -> datetime:
    return timezone.now() - timedelta(minutes=minutes_ago)


@pytest.fixture
def history(team_a, team_b, alice, bob, carol, dave):
    """A small history for team A (and one run of team B that must never show)."""
    runs = {
        "bob_done": plain_run(
            team_a,
            bob,
            created_at=_at(50),
            completed_at=_at(49),
            charged_cost=Decimal("0.06"),
            project_id="prj_demo_campaign",
            outputs_raw=[{"output_id": "card", "type": "imageUrl", "url": IMAGE}],
        ),
        "alice_failed": plain_run(
            team_a,
            alice,
            technique_id="tech_cctv-cam",
            technique_name="CCTV Cam",
            status=RunStatus.FAILED,
            created_at=_at(40),
            completed_at=_at(39),
            charged_cost=Decimal("0"),
            error_code="provider_error",
            error_message="The provider failed to complete the generation.",
            workspace_id="ws_brand",
            project_id="prj_brand_launch",
        ),
        "outside": plain_run(
            team_a,
            None,
            created_at=_at(30),
            completed_at=_at(29),
            charged_cost=Decimal("0.06"),
            flora_run_id="run_outside",
        ),
        "bob_running": plain_run(
            team_a,
            bob,
            status=RunStatus.RUNNING,
            progress=42,
            created_at=_at(1),
            flora_run_id="run_live",
        ),
        "other_team": plain_run(team_b, dave, created_at=_at(5), charged_cost=Decimal("9")),
    }
    return runs


def test_it_requires_login(client):
    response = client.get("/runs/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_lists_the_teams_runs_newest_first(bob_client, history):
    response = bob_client.get("/runs/")

    assert response.status_code == 200
    assert _codes(response) == [
        history[name].code for name in ("bob_running", "outside", "alice_failed", "bob_done")
    ]
    body = response.content.decode()
    assert "Tarot Pull" in body and "CCTV Cam" in body
    assert "FLORA app or script" in body  # who started the outside run
    assert ">Outside<" in body
    assert "42 %" in body
    assert "failed while making the result" in body  # the failure, in words
    assert "$0.06" in body


def test_it_hides_other_teams_runs(dave_client, history):
    response = dave_client.get("/runs/")
    assert _codes(response) == [history["other_team"].code]
    for name in ("bob_done", "outside"):
        assert history[name].code not in response.content.decode()


def test_filters_cannot_reach_another_team(dave_client, history):
    for query in (
        "member=bob",
        "technique=tech_cctv-cam",
        "workspace=ws_demo",
        "project=prj_demo_campaign",
        "member=outside",
        f"before={history['bob_running'].code}",
    ):
        response = dave_client.get(f"/runs/?{query}")
        assert response.status_code == 200
        assert not set(_codes(response)) & {r.code for r in history.values()} - {
            history["other_team"].code
        }, query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=completed", ["outside", "bob_done"]),
        ("status=failed", ["alice_failed"]),
        ("status=in_progress", ["bob_running"]),
        ("technique=tech_cctv-cam", ["alice_failed"]),
        ("member=bob", ["bob_running", "bob_done"]),
        ("member=outside", ["outside"]),
        ("workspace=ws_brand", ["alice_failed"]),
        ("project=prj_demo_campaign", ["bob_done"]),
        ("member=bob&status=completed", ["bob_done"]),
    ],
)
def test_filters_narrow_the_list(bob_client, history, query, expected):
    response = bob_client.get(f"/runs/?{query}")
    assert _codes(response) == [history[name].code for name in expected]


def test_a_date_range_filters_by_day(bob_client, history):
    Run.objects.filter(pk=history["bob_done"].pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    today = timezone.localdate()
    response = bob_client.get(f"/runs/?date_from={today - timedelta(days=1)}&date_to={today}")
    assert history["bob_done"].code not in _codes(response)
    assert len(_codes(response)) == 3

    old_day = timezone.localdate() - timedelta(days=10)
    response = bob_client.get(f"/runs/?date_from={old_day}&date_to={old_day}")
    assert _codes(response) == [history["bob_done"].code]


def test_bad_filter_values_are_explained_not_applied(bob_client, history):
    response = bob_client.get(
        "/runs/?status=bogus&workspace=ws_other&date_from=yesterday&technique=tech_cctv-cam"
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Some filters could not be applied" in body
    assert "Select a valid choice" in body
    assert "Enter a valid date" in body
    # The valid filter still applies.
    assert _codes(response) == [history["alice_failed"].code]


def test_an_end_date_before_the_start_is_refused(bob_client, history):
    response = bob_client.get("/runs/?date_from=2026-05-02&date_to=2026-05-01")
    assert "The end date is before the start date." in response.content.decode()


def test_filters_live_in_the_query_string_and_survive_in_links(bob_client, history):
    response = bob_client.get("/runs/?member=bob&technique=tech_tarot-pull")
    body = response.content.decode()
    # The chips and the export keep the other filters.
    assert "?member=bob&amp;technique=tech_tarot-pull&amp;status=completed" in body
    assert 'name="query" value="member=bob&amp;technique=tech_tarot-pull"' in body  # Export CSV
    assert 'value="member=bob&amp;technique=tech_tarot-pull"' in body  # Refresh from FLORA
    assert '<option value="bob" selected>' in body


def test_counts_per_status_ignore_the_status_filter(bob_client, history):
    body = bob_client.get("/runs/?status=failed").content.decode()
    counts = dict(
        re.findall(r'>(All|In progress|Completed|Failed) <span class="chip-count">(\d+)<', body)
    )
    assert counts == {"All": "4", "In progress": "1", "Completed": "2", "Failed": "1"}


def test_only_managers_see_spend(alice_client, bob_client, carol_client, history):
    assert "$0.12" in alice_client.get("/runs/").content.decode()  # 0.06 + 0 + 0.06
    assert "Spend in this view" in alice_client.get("/runs/?member=bob").content.decode()
    for client in (bob_client, carol_client):
        body = client.get("/runs/").content.decode()
        assert "Spend" not in body
        assert "$0.12" not in body


def test_in_flight_rows_poll_their_status(bob_client, history):
    body = bob_client.get("/runs/").content.decode()
    running = history["bob_running"]
    assert f'hx-get="/runs/{running.code}/status/row"' in body
    assert body.count('hx-trigger="every') == 1  # the finished rows do not poll


def test_thumbnails_prefer_the_kept_copy(bob_client, history):
    run = history["bob_done"]
    body = bob_client.get("/runs/").content.decode()
    assert f'src="{IMAGE}"' in body

    RunOutput.objects.create(
        run=run, position=0, output_id="card", type="imageUrl", keep_status=OutputKeepStatus.KEPT
    )
    body = bob_client.get("/runs/").content.decode()
    assert f'src="/runs/{run.code}/outputs/0"' in body
    assert IMAGE not in body


def test_runs_without_an_image_show_what_they_made(bob_client, team_a, bob):
    plain_run(team_a, bob, outputs_raw=[{"output_id": "v", "type": "videoUrl", "url": IMAGE}])
    body = bob_client.get("/runs/").content.decode()
    assert 'class="thumb thumb-empty" title="First output: Video"' in body


def test_an_empty_history_says_how_to_start(bob_client, team_a):
    body = bob_client.get("/runs/").content.decode()
    assert "No runs yet" in body


def test_an_empty_filter_result_says_so(bob_client, history):
    body = bob_client.get("/runs/?technique=tech_nothing").content.decode()
    assert "No runs match these filters" in body


# -- CSV -----------------------------------------------------------------------------------


def _export(client, query: str = "") -> list[dict[str, str]]:
    """The Runs page's "Export CSV" as the worker writes it (tests/exports has the rest)."""
    from exports import services
    from exports.models import Export

    response = client.post("/exports/new", {"query": query, "intent": f"i-{query}"})
    assert response.status_code == 302
    export = Export.objects.get(intent_key=f"i-{query}")
    services.build(export.pk)
    export.refresh_from_db()
    body = client.get(f"/exports/{export.code}/download")
    assert body.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(body.streaming_content).decode())))


def test_the_export_is_the_filtered_history_as_csv(bob_client, history):
    rows = _export(bob_client, "status=completed")
    assert [row["run"] for row in rows] == [history["outside"].code, history["bob_done"].code]
    done = rows[1]
    assert done["technique"] == "Tarot Pull"
    assert done["started_by"] == "bob"
    assert done["status"] == "completed"
    assert done["cost_usd"] == "0.0600"
    assert done["duration_seconds"] == "60.0"
    assert done["url"] == f"http://testserver/runs/{history['bob_done'].code}/"
    assert rows[0]["origin"] == RunOrigin.EXTERNAL
    assert rows[0]["flora_run_id"] == "run_outside"


def test_the_export_keeps_spreadsheets_from_running_formulas(bob_client, team_a, bob):
    plain_run(team_a, bob, technique_name='=HYPERLINK("http://evil")', error_message="+1")
    rows = _export(bob_client)
    assert rows[0]["technique"].startswith("'=")
    assert rows[0]["error_message"] == "'+1"


def test_the_export_hides_other_teams_runs(dave_client, history):
    assert _export(dave_client, "member=bob") == []
    rows = _export(dave_client)
    assert [row["run"] for row in rows] == [history["other_team"].code]


def test_the_export_requires_login(client):
    assert client.get("/runs/export.csv").status_code == 302
    assert client.post("/exports/new").status_code == 302


def test_run_codes_never_start_with_a_sign_that_spreadsheets_read_as_a_formula(monkeypatch):
    from runs import models

    codes = iter(["-2tHDn5V-eo4", "_abcdefghijk", "A2tHDn5V-eo4"])
    monkeypatch.setattr(models.secrets, "token_urlsafe", lambda n: next(codes))
    assert models.new_run_code() == "A2tHDn5V-eo4"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", " https://cdn.example/1.png", "data:image/png;base64,AAAA"]
)
def test_a_thumbnail_is_only_an_http_link(bob_client, team_a, bob, url):
    plain_run(team_a, bob, outputs_raw=[{"output_id": "card", "type": "imageUrl", "url": url}])
    body = bob_client.get("/runs/").content.decode()
    assert 'class="thumb"' not in body
    assert url.strip() not in body


def _select(html: str, name: str) -> str:
    return re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)


def test_workspaces_are_offered_by_name(bob_client, history):
    options = _select(bob_client.get("/runs/").content.decode(), "workspace")
    # As the catalog names them (the connection check's names); the id is what filters.
    assert '<option value="ws_demo">Demo Studio</option>' in options
    assert '<option value="ws_brand">Brand Team</option>' in options
    assert ">ws_demo<" not in options


def test_a_workspace_never_named_is_offered_by_its_id(bob_client, history, team_a):
    team_a.connection.available_workspaces = []
    team_a.connection.save()
    options = _select(bob_client.get("/runs/").content.decode(), "workspace")
    assert '<option value="ws_demo">ws_demo</option>' in options


def test_the_teams_projects_are_offered(bob_client, history):
    options = _select(bob_client.get("/runs/").content.decode(), "project")
    values = re.findall(r'<option value="([^"]*)"', options)
    assert values == ["", "prj_brand_launch", "prj_demo_campaign"]  # team B's never
    html = bob_client.get("/runs/?project=prj_brand_launch").content.decode()
    assert '<option value="prj_brand_launch" selected>' in _select(html, "project")


def test_internal_states_are_not_offered(bob_client, history):
    options = _select(bob_client.get("/runs/").content.decode(), "status")
    values = re.findall(r'<option value="([^"]*)"', options)
    assert "in_progress" in values
    assert "submitting" not in values and "checking" not in values


@pytest.mark.parametrize("status", ["submitting", "checking"])
def test_internal_states_in_a_link_mean_in_progress(bob_client, history, team_a, bob, status):
    checking = plain_run(team_a, bob, status=RunStatus.CHECKING, created_at=_at(5))
    response = bob_client.get(f"/runs/?status={status}")
    body = response.content.decode()
    assert "Some filters could not be applied" not in body
    assert set(_codes(response)) == {checking.code, history["bob_running"].code}
    assert response.context["selected_status"] == "in_progress"
