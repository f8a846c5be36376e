"""Asking for an export, watching it, downloading it: one export per intent, the worker's
task queued after the commit, the state in place (htmx), the old link, the headers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django_tasks import default_task_backend

from exports import services
from exports.models import Export, ExportStatus
from tests.exports.helpers import ask, built, export_made, rows_of, stored_text
from tests.runs.live_helpers import plain_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tasks():
    default_task_backend.clear()
    yield default_task_backend.results
    default_task_backend.clear()


@pytest.fixture
def runs(team_a, team_b, bob, dave):
    return [plain_run(team_a, bob), plain_run(team_a, None), plain_run(team_b, dave)]


def test_the_request_only_queues_and_the_task_follows_the_commit(
    bob_client, runs, _tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(bob_client, "status=completed")
    assert response.status_code == 302
    assert response["Location"] == "/exports/"
    export = Export.objects.get()
    assert export.status == ExportStatus.QUEUED
    assert export.requested_by.username == "bob"
    assert export.base_url == "http://testserver"
    assert [r.task.name for r in _tasks] == ["build_export"]
    assert _tasks[0].args == [export.pk]
    assert _tasks[0].task.queue_name == "outputs"


def test_a_double_submit_is_one_export(
    bob_client, runs, _tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(bob_client, "member=bob", intent="same")
        ask(bob_client, "member=bob", intent="same")
    assert Export.objects.count() == 1
    assert len(_tasks) == 1
    # Still the same one once it is ready: a retried POST of that page.
    built(Export.objects.get())
    ask(bob_client, "member=bob", intent="same")
    assert Export.objects.count() == 1


def test_the_same_filters_while_one_runs_reuse_it(alice_client, bob_client, runs):
    first = export_made(bob_client, "member=bob&status=", intent="bob's")
    # A teammate, another page, the same filters in another order: the same export.
    ask(alice_client, "status=&member=bob", intent="alice's")
    assert Export.objects.count() == 1
    # Once it is ready, a new request is a new export (today's runs).
    built(first)
    ask(alice_client, "member=bob", intent="alice's again")
    assert Export.objects.count() == 2


def test_a_race_that_loses_the_unique_guard_answers_the_winner(bob_client, runs, monkeypatch):
    first = export_made(bob_client, "member=bob", intent="one")
    real = services._existing
    looks = []

    def not_seen_first(*args):
        # The second request's first look comes before the first one's INSERT.
        looks.append(args)
        return None if len(looks) == 1 else real(*args)

    monkeypatch.setattr(services, "_existing", not_seen_first)
    export, made = services.request_export(
        first.team.memberships.get(user__username="bob"),
        raw_query="member=bob",
        intent="two",
        base_url="http://testserver",
    )
    assert (export.pk, made) == (first.pk, False)
    assert len(looks) == 2
    assert Export.objects.count() == 1


def test_htmx_shows_the_state_in_place_then_the_link(bob_client, runs):
    response = ask(bob_client, "", intent="h1", HX_Request="true")
    assert response.status_code == 200
    body = response.content.decode()
    export = Export.objects.get()
    assert f'hx-get="/exports/{export.code}/state?place=inline"' in body
    assert "Queued" in body
    # The button's intent stays this export's while it runs: a second click is the same one.
    assert '<input type="hidden" name="intent" form="export-form" value="h1">' in body

    built(export)
    poll = bob_client.get(
        f"/exports/{export.code}/state?place=inline", headers={"HX-Request": "true"}
    )
    assert poll.status_code == 286  # htmx stops polling
    body = poll.content.decode()
    assert f'href="/exports/{export.code}/download"' in body
    assert "hx-get" not in body
    assert "2 runs" in body
    # The button's intent is renewed: the next click is a new export.
    fresh = re.search(
        r'<input type="hidden" name="intent" form="export-form" value="([^"]+)">', body
    )
    assert fresh and fresh.group(1) != "h1"
    ask(bob_client, "", intent=fresh.group(1))
    assert Export.objects.count() == 2


def test_a_plain_get_of_the_fragment_goes_to_the_list(bob_client, runs):
    export = export_made(bob_client)
    response = bob_client.get(f"/exports/{export.code}/state")
    assert response.status_code == 302
    assert response["Location"] == "/exports/"


def test_download_headers_and_body(bob_client, runs):
    export = built(export_made(bob_client))
    response = bob_client.get(f"/exports/{export.code}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    assert re.fullmatch(
        r'attachment; filename="runs-acme-\d{8}-\d{4}\.csv"', response["Content-Disposition"]
    )
    stamp = export.created_at.strftime("%Y%m%d-%H%M")
    assert stamp in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body == stored_text(export)
    assert int(response["Content-Length"]) == export.size
    assert len(rows_of(body)) == 2


def test_viewers_may_export_as_before(carol_client, runs):
    export = built(export_made(carol_client))
    assert carol_client.get(f"/exports/{export.code}/download").status_code == 200


def test_not_ready_is_not_downloadable(bob_client, runs):
    export = export_made(bob_client)
    response = bob_client.get(f"/exports/{export.code}/download")
    assert response.status_code == 409
    assert "not ready yet" in response.content.decode()


def test_the_list_shows_the_teams_exports_only(bob_client, dave_client, runs):
    built(export_made(bob_client, "member=bob"))
    export_made(dave_client, intent="dave's")
    body = bob_client.get("/exports/").content.decode()
    assert "Started by bob" in body
    assert body.count('<tr id="export-') == 1
    assert f'href="/exports/{Export.objects.get(team__slug="acme").code}/download"' in body
    assert ">bob<" in body
    dave_body = dave_client.get("/exports/").content.decode()
    assert dave_body.count('<tr id="export-') == 1
    assert "started by bob" not in dave_body.lower()


def test_the_old_link_leads_to_the_same_export(bob_client, runs):
    response = bob_client.get("/runs/export.csv?status=failed&member=bob&before=x")
    assert response.status_code == 302
    assert response["Location"] == "/exports/new?status=failed&member=bob"
    page = bob_client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Failed · started by bob" in body
    assert 'name="query" value="member=bob&amp;status=failed"' in body
    assert Export.objects.count() == 0  # a GET starts nothing
    intent = re.search(r'name="intent" value="([^"]+)"', body).group(1)
    ask(bob_client, "member=bob&status=failed", intent=intent)
    assert Export.objects.get().query == "member=bob&status=failed"


def test_the_old_link_requires_login(client):
    assert client.get("/runs/export.csv").status_code == 302
    assert "/accounts/login/" in client.get("/runs/export.csv")["Location"]


def test_the_history_button_posts_with_an_intent(bob_client, runs):
    body = bob_client.get("/runs/?member=bob").content.decode()
    assert 'hx-post="/exports/new"' in body
    assert 'name="query" value="member=bob"' in body
    assert 'id="export-form"' in body
    # Its intent key, a field of that form, inside the place where the state will show.
    assert re.search(
        r'<div id="export-state" aria-live="polite"><input type="hidden" name="intent" '
        r'form="export-form" value="[\w-]{16,}"></div>',
        body,
    )


def _export_state(client) -> str:
    body = client.get("/runs/").content.decode()
    return body.split('<div id="export-state" aria-live="polite">', 1)[1].split("</main>")[0]


def test_a_reload_shows_the_viewers_export_under_way_and_a_click_lands_on_it(
    alice_client, bob_client, dave_client, runs
):
    export = export_made(bob_client, "status=completed", intent="under-way")
    state = _export_state(bob_client)
    assert f'hx-get="/exports/{export.code}/state?place=inline"' in state
    assert "Queued" in state
    # The button's intent is that export's: clicking again lands on it, not on a new one.
    assert 'name="intent" form="export-form" value="under-way"' in state
    ask(bob_client, "status=completed", intent="under-way")
    assert Export.objects.count() == 1
    # Someone else's export is not theirs to watch here (the exports page lists it).
    for other in (alice_client, dave_client):
        state = _export_state(other)
        assert export.code not in state
        assert re.match(r'<input type="hidden" name="intent" form="export-form" value=', state)


def test_a_reload_shows_a_just_finished_export_then_forgets_it(bob_client, runs):
    export = built(export_made(bob_client, intent="done"))
    state = _export_state(bob_client)
    assert f'href="/exports/{export.code}/download"' in state
    assert "hx-get" not in state
    assert 'value="done"' not in state  # a new intent: the next click is a new export
    Export.objects.filter(pk=export.pk).update(
        finished_at=export.finished_at - timedelta(minutes=11)
    )
    assert export.code not in _export_state(bob_client)


def test_filters_too_long_are_refused_in_words(bob_client, runs):
    response = ask(bob_client, "project=" + "x" * 2100, HX_Request="true")
    assert response.status_code == 400
    assert "too long" in response.content.decode()
    assert Export.objects.count() == 0
