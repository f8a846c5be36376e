"""What a poll of the status fragment reads: the columns it shows, in one query for the run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runs.models import Run, RunStatus
from runs.views.status import STATUS_FIELDS
from tests.runs.live_helpers import dashboard_run, let_interval_pass, plain_run

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
# teams.access_cache's token is a query with the database cache, none with Redis.
TOKEN_QUERY = int("DatabaseCache" in settings.CACHES["default"]["BACKEND"])


def _poll(client, run):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/runs/{run.code}/status", headers=HX)
    return response, [q["sql"] for q in queries.captured_queries]


def test_a_viewer_who_does_not_ask_flora_reads_only_the_status_columns(bob_client, team_a, bob):
    run = plain_run(
        team_a,
        bob,
        status=RunStatus.RUNNING,
        flora_run_id="run_x",
        progress=40,
        inputs=[{"id": "question", "type": "text", "value": "x" * 5000}],
        outputs_raw=[{"output_id": "o", "type": "text"}],
        refresh_claimed_until=timezone.now() + timedelta(hours=1),  # another viewer asked
    )
    _poll(bob_client, run)  # the memberships are kept from here on
    response, sql = _poll(bob_client, run)
    assert response.status_code == 200
    assert "40 %" in response.content.decode()
    # session, user, the access token, the run: no membership, no deferred column read later
    assert len(sql) == 3 + TOKEN_QUERY, sql
    (run_query,) = [q for q in sql if 'FROM "runs_run"' in q]
    for column in ("inputs", "outputs_raw", "error_message", "search_text", "poll_url"):
        assert f'"runs_run"."{column}"' not in run_query
    for column in STATUS_FIELDS:
        assert f'"runs_run"."{column}"' in run_query


def test_the_viewer_who_asks_flora_and_sees_the_end_gets_the_outputs(
    bob_client, team_a, bob, flora, clock
):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)
    response, sql = _poll(bob_client, run)
    assert response.status_code == 286
    body = response.content.decode()
    assert 'id="run-outputs"' in body
    assert "Finished in" in body
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED


def test_a_lone_viewer_in_flight_asks_flora_and_shows_the_answer(
    bob_client, team_a, bob, flora, clock
):
    run = dashboard_run(team_a, bob)
    clock.advance(4)
    let_interval_pass(run)
    response, _ = _poll(bob_client, run)
    assert response.status_code == 200
    fresh = Run.objects.get(pk=run.pk)
    assert fresh.last_refreshed_at is not None
    assert f"{fresh.progress_percent} %" in response.content.decode()
