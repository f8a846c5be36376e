"""The status fragment (/runs/<code>/status): polled by htmx until the run ends."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from runs.models import Run, RunStatus
from tests.runs.live_helpers import (
    dashboard_run,
    let_interval_pass,
    plain_run,
    queued_writers,
)

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def _status_url(run: Run, page: str = "detail") -> str:
    """The status fragment of the run page (runs:status) or of a history row (status_row)."""
    return f"/runs/{run.code}/status" + ("/row" if page == "list" else "")


def test_it_requires_login(client, team_a, bob):
    run = plain_run(team_a, bob)
    response = client.get(_status_url(run), headers=HX)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_hides_other_teams_runs(dave_client, team_a, bob):
    run = plain_run(team_a, bob)
    assert dave_client.get(_status_url(run), headers=HX).status_code == 404


def test_a_browser_tab_is_sent_to_the_run_page(bob_client, team_a, bob):
    run = plain_run(team_a, bob)
    response = bob_client.get(_status_url(run))
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.code}/"


def test_it_rejects_post(bob_client, team_a, bob):
    run = plain_run(team_a, bob)
    assert bob_client.post(_status_url(run), headers=HX).status_code == 405


def test_it_polls_until_the_run_ends_then_answers_286(bob_client, team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    seen: list[tuple[int, str, int]] = []
    for _ in range(30):
        let_interval_pass(run)
        response = bob_client.get(_status_url(run), headers=HX)
        body = response.content.decode()
        status = re.search(r'data-status="(\w+)"', body).group(1)
        status_box = body.split('id="run-outputs"')[0]
        seen.append((response.status_code, status, "hx-trigger" in status_box))
        if response.status_code == 286:
            break
        clock.advance(1.5)

    codes = [code for code, _, _ in seen]
    assert codes[-1] == 286
    assert set(codes[:-1]) == {200}
    assert [s for _, s, _ in seen][-1] == "completed"
    assert "running" in [s for _, s, _ in seen]
    # Polling stops: the final fragment has no trigger, every earlier one had.
    assert [polls for _, _, polls in seen] == [True] * (len(seen) - 1) + [False]
    # One FLORA call per poll here, because each poll came after the interval.
    assert flora.get_run == len(seen)


def test_the_fragment_shows_progress_and_elapsed_time(bob_client, team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    clock.advance(4)
    let_interval_pass(run)

    body = bob_client.get(_status_url(run), headers=HX).content.decode()

    assert 'class="pill pill-running"' in body
    match = re.search(r'<progress class="run-progress" max="100" value="(\d+)"', body)
    assert match and 0 < int(match.group(1)) < 100
    assert f"{match.group(1)} %" in body
    assert "elapsed" in body
    # A little slower than the 2 s refresh interval, so every poll finds the interval over.
    assert 'hx-trigger="every 2200ms"' in body


def test_older_runs_are_polled_less_often(bob_client, team_a, bob, flora):
    run = dashboard_run(team_a, bob)
    from datetime import timedelta

    from django.utils import timezone

    Run.objects.filter(pk=run.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=30),
        refresh_claimed_until=timezone.now() + timedelta(seconds=10),
    )
    body = bob_client.get(_status_url(run), headers=HX).content.decode()
    assert 'hx-trigger="every 17000ms"' in body  # 15 s and 10 %, in whole seconds


def test_a_terminal_run_on_the_run_page_brings_its_outputs(bob_client, team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)

    response = bob_client.get(_status_url(run, "detail"), headers=HX)

    assert response.status_code == 286
    body = response.content.decode()
    assert 'id="run-status"' in body
    # The outputs section rides along; the status box selects it out of band.
    assert 'id="run-outputs"' in body
    assert "hx-get" not in body.split('id="run-outputs"')[0]


def test_a_history_row_gets_its_row_back_without_outputs(bob_client, team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob)
    body = bob_client.get(_status_url(run, "list"), headers=HX).content.decode()
    assert body.lstrip().startswith(f'<tr id="run-{run.code}"')
    assert f"{_status_url(run, 'list')}" in body

    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)
    response = bob_client.get(_status_url(run, "list"), headers=HX)

    assert response.status_code == 286
    body = response.content.decode()
    assert 'id="run-outputs"' not in body
    assert "hx-get" not in body
    assert "$0.06" in body  # the row now shows what it cost
    assert f"/runs/{run.code}/outputs/" not in body  # no kept copy yet: FLORA's URL
    assert 'class="thumb"' in body


def test_the_old_row_url_still_answers_the_row(bob_client, team_a, bob, flora, clock):
    """History pages rendered before runs:status_row existed poll ?page=list until reloaded."""
    run = dashboard_run(team_a, bob)
    body = bob_client.get(f"/runs/{run.code}/status?page=list", headers=HX).content.decode()
    assert body.lstrip().startswith(f'<tr id="run-{run.code}"')
    assert f'hx-get="/runs/{run.code}/status/row"' in body


def test_a_failed_run_says_why(bob_client, team_a, bob, flora, clock):
    run = dashboard_run(team_a, bob, question="Will it [fail]?")
    clock.advance_past(run.flora_run_id)
    let_interval_pass(run)

    response = bob_client.get(_status_url(run, "list"), headers=HX)

    assert response.status_code == 286
    body = response.content.decode()
    assert "pill-failed" in body
    assert "failed while making the result" in body


def test_a_stale_run_says_so_and_polls_slowly(bob_client, team_a, bob, flora):
    run = dashboard_run(team_a, bob, stale=True)
    body = bob_client.get(_status_url(run), headers=HX).content.decode()
    assert "far longer than usual" in body
    assert 'hx-trigger="every 60000ms"' in body


def test_viewers_polling_within_the_interval_share_one_flora_call(
    bob_client, carol_client, alice_client, team_a, bob, flora
):
    run = dashboard_run(team_a, bob)
    let_interval_pass(run)
    for client in [bob_client, carol_client, alice_client] * 5:
        assert client.get(_status_url(run), headers=HX).status_code == 200
    assert flora.get_run == 1


def test_submitting_and_checking_runs_are_read_only(bob_client, team_a, bob, flora):
    for status in (RunStatus.SUBMITTING, RunStatus.CHECKING):
        run = plain_run(team_a, bob, status=status, flora_run_id=None)
        response = bob_client.get(_status_url(run), headers=HX)
        assert response.status_code == 200
        assert 'hx-trigger="every 2000ms"' in response.content.decode()
    assert flora.get_run == 0


# -- 50 viewers at the same moment ----------------------------------------------------------


def _concurrent_polls(url: str, users: list, n: int) -> list[int]:
    """n simultaneous polls, each thread with its own client and database connection."""
    clients = []
    for i in range(n):
        client = Client()
        client.force_login(users[i % len(users)])
        clients.append(client)
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def poll(client: Client) -> None:
        try:
            with queued_writers():
                barrier.wait()
                code = client.get(url, headers=HX).status_code
            with lock:
                statuses.append(code)
        except BaseException as exc:  # reported by the test, not lost in a thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_viewers_cause_one_flora_call(
    team_a, alice, bob, carol, flora, monkeypatch
):
    run = dashboard_run(team_a, bob)
    let_interval_pass(run)
    flora.reset()
    # All 50 polls happen at one moment of the dashboard's clock, however long a loaded
    # machine takes to serve them: otherwise the run's 2 s interval can pass between the
    # first poll and the last, and a late poll rightly asks FLORA again.
    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)

    statuses = _concurrent_polls(_status_url(run), [alice, bob, carol], 50)

    assert statuses == [200] * 50
    assert flora.get_run == 1
    row = Run.objects.get(pk=run.pk)
    assert row.last_refreshed_at is not None
