"""Runs refused: access rules, every answer FLORA can give, inputs its run API cannot take."""

from __future__ import annotations

import re

import pytest
from django_tasks import default_task_backend

from runs.models import Run, RunStatus
from runs.state import apply_remote
from sandbox import stats
from sandbox.testing import FrozenClock
from teams.models import ConnectionStatus, FloraConnection
from teams.services import flora_client, save_connection
from techniques.forms import intent_from_token
from tests.runs.submit_helpers import CREATE_PATH, DEMO, TAROT, html_of, page_form, read_form, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


# -- access ---------------------------------------------------------------------------------


def test_viewers_get_403_and_nothing_starts(carol_client, bob_client, upstream):
    data = page_form(bob_client)
    data["in_question"] = "Can I?"
    response = carol_client.post(f"/techniques/{TAROT}/run", data)
    assert response.status_code == 403
    assert upstream.creates == 0 and Run.objects.count() == 0


def test_members_of_other_teams_get_404_for_team_a_workspaces(dave_client, upstream):
    response = dave_client.post(
        f"/techniques/{TAROT}/run", {"workspace": "ws_demo", "in_question": "Mine?"}
    )
    assert response.status_code == 404
    assert upstream.calls() == 0 and Run.objects.count() == 0


def test_a_forged_workspace_is_404(bob_client, upstream):
    data = page_form(bob_client)
    data.update(in_question="?", workspace="ws_other")
    assert bob_client.post(f"/techniques/{TAROT}/run", data).status_code == 404
    assert upstream.creates == 0


def test_it_requires_login(client, upstream):
    response = client.post(f"/techniques/{TAROT}/run", {})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# -- what FLORA answers ---------------------------------------------------------------------


def test_400_puts_floras_messages_on_the_fields_and_issues_a_new_intent(
    bob_client, team_a, upstream
):
    response, data = start(
        bob_client,
        "tech_quick-reframe",
        {"layout": "https://cdn.example.com/l.png", "aspect_ratio": "7:3"},
    )
    assert response.status_code == 400
    html = html_of(response)
    assert "FLORA did not accept these inputs. See the messages beside the inputs." in html
    assert re.search(r'id="id_in_aspect_ratio_error"><li>FLORA: Expected one of 1:1, ', html)
    assert "7:3</textarea>" in html  # kept filled in
    run = Run.objects.get()
    assert run.status == RunStatus.FAILED_TO_START
    assert run.error_code == "input_validation_error"
    assert run.last_request_id.startswith("req_") and run.last_request_id in html
    assert run.charged_cost == 0
    new = read_form(html)["intent"]
    assert intent_from_token(team_a, "tech_quick-reframe", new) not in (None, run.intent_key)

    # Corrected and sent again: a new intent, a new run.
    fixed = read_form(html)
    fixed["in_aspect_ratio"] = "16:9"
    response = bob_client.post("/techniques/tech_quick-reframe/run", fixed)
    assert response.status_code == 302
    assert Run.objects.filter(status=RunStatus.PENDING).count() == 1
    assert stats.create_calls(DEMO) == 2 and stats.runs_created(DEMO) == 1


def test_401_names_the_problem_and_marks_the_connection_failing(bob_client, team_a, upstream):
    upstream.fail(401, "unauthorized", "Invalid API key.", method="POST", path=CREATE_PATH)
    response, _ = start(bob_client, values={"question": "Key?"})
    assert response.status_code == 502
    assert "The team&#x27;s FLORA key was rejected; an admin must update it." in html_of(response)
    assert FloraConnection.objects.get(team=team_a).status == ConnectionStatus.FAILING
    assert Run.objects.get().status == RunStatus.FAILED_TO_START


def test_402_says_there_are_not_enough_credits(bob_client, team_a, upstream):
    save_connection(team_a.connection, actor="test", api_key="sk_sandbox_broke")
    response, _ = start(bob_client, values={"question": "Money?"})
    assert response.status_code == 402
    html = html_of(response)
    assert "Not enough FLORA credits to start this run." in html
    assert "Money?</textarea>" in html
    run = Run.objects.get()
    assert (run.status, run.error_code) == (RunStatus.FAILED_TO_START, "insufficient_credits")
    assert stats.create_calls("sk_sandbox_broke", status_code=402) == 1


def test_403_says_the_workspace_does_not_allow_it(bob_client, upstream):
    upstream.fail(403, "forbidden", "Forbidden.", method="POST", path=CREATE_PATH)
    response, _ = start(bob_client, values={"question": "Allowed?"})
    assert response.status_code == 403
    assert "FLORA does not allow this run in this workspace" in html_of(response)


def test_404_says_the_technique_is_gone(bob_client, upstream):
    upstream.fail(404, "not_found", "Not found.", method="POST", path=CREATE_PATH)
    response, _ = start(bob_client, values={"question": "Gone?"})
    assert response.status_code == 404
    assert "This technique is not in FLORA any more" in html_of(response)
    # The cached copy is forgotten: the next page asks FLORA again.
    before = upstream.calls("GET")
    bob_client.get(f"/techniques/{TAROT}/")
    assert upstream.calls("GET") == before + 1


def test_429_says_when_to_try_again(bob_client, team_a, upstream, monkeypatch):
    FrozenClock.install(monkeypatch)  # every request within the same sandbox second
    save_connection(team_a.connection, actor="test", api_key="sk_sandbox_limited")
    # 2 requests: the new key's workspace names (checked once), then the technique (cached).
    data = page_form(bob_client)
    client = flora_client(team_a)
    for _ in range(3):
        client.workspaces.list()
    data["in_question"] = "Busy?"
    response = bob_client.post(f"/techniques/{TAROT}/run", data)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert "FLORA is busy; try again in 1 s. Nothing was started." in html_of(response)
    assert Run.objects.get().error_code == "rate_limited"
    assert upstream.creates == 1  # the interactive call never retries in the request


def test_409_is_already_submitted_never_a_failure(
    bob_client, upstream, django_capture_on_commit_callbacks
):
    upstream.fail(409, "idempotency_duplicate", method="POST", path=CREATE_PATH)
    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = start(bob_client, values={"question": "Again?"})
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.code}/"
    assert run.status == RunStatus.CHECKING
    assert run.error_code == "idempotency_duplicate"
    [task] = default_task_backend.results
    assert task.task.name == "reconcile_run" and task.args == [run.pk]
    assert task.task.run_after is not None  # a moment later: a lost answer may still land


@pytest.mark.parametrize("code", ["conflict", ""])
def test_any_409_is_already_submitted_whatever_its_code(
    bob_client, upstream, code, django_capture_on_commit_callbacks
):
    # FLORA's notes: treat 409 as "already submitted", never as a failure the person may
    # retry with a new key (a proxy or a newer FLORA may word the body differently).
    upstream.fail(409, code, method="POST", path=CREATE_PATH)
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = start(bob_client, values={"question": "Again?"})
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.code}/"
    assert run.status == RunStatus.CHECKING
    # Recorded as confirmed, so the reconciler keeps looking instead of inviting a retry.
    assert run.error_code == "idempotency_duplicate"


@pytest.mark.parametrize("fault", ["timeout", "drop", "500"])
def test_an_unknown_outcome_is_checking_with_flora(
    bob_client, upstream, fault, django_capture_on_commit_callbacks
):
    if fault == "timeout":
        upstream.lose_answer()
    elif fault == "drop":
        upstream.drop(method="POST", path=CREATE_PATH.pattern)
    else:
        upstream.fail(500, "unknown_error", method="POST", path=CREATE_PATH)
    default_task_backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = start(bob_client, values={"question": "Lost?"})
    run = Run.objects.get()
    assert response["Location"] == f"/runs/{run.code}/"
    assert run.status == RunStatus.CHECKING and run.flora_run_id is None
    reconciles = [t for t in default_task_backend.results if t.task.name == "reconcile_run"]
    assert [t.args for t in reconciles] == [[run.pk]]
    assert upstream.creates == 1  # never re-sent from the request


def test_a_failing_run_is_started_and_later_recorded_as_failed(
    bob_client, team_a, upstream, monkeypatch
):
    clock = FrozenClock.install(monkeypatch)
    response, _ = start(bob_client, values={"question": "Will it work? [fail]"})
    run = Run.objects.get()
    assert response.status_code == 302 and run.status == RunStatus.PENDING
    clock.advance_past(run.flora_run_id)
    # GET /techniques/{id}/runs/{run_id}, as the status refresh does.
    remote = flora_client(team_a).techniques.runs.retrieve(run.flora_run_id, technique_id=TAROT)
    apply_remote(run, remote)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error_code == "provider_error"
    assert run.charged_cost == 0


def test_a_callback_flora_refuses_does_not_stop_the_run(bob_client, upstream, monkeypatch):
    monkeypatch.setattr("runs.submit.callback_url_for", lambda team: "http://testserver/hooks/x")
    response, _ = start(bob_client, values={"question": "Hooks?"})
    assert response.status_code == 302
    first, second = upstream.create_bodies()
    assert first["callback_url"] == "http://testserver/hooks/x"
    assert "callback_url" not in second
    assert first["idempotency_key"] == second["idempotency_key"]
    assert stats.runs_created(DEMO) == 1
    assert Run.objects.get().status == RunStatus.PENDING


# -- inputs FLORA's run API cannot take -----------------------------------------------------


VOICE = {
    "technique_id": "tech_voice",
    "name": "Voice Over",
    "run_cost": 1.5,
    "inputs": [
        {"id": "script", "name": "Script", "type": "text"},
        {"id": "voice", "name": "Voice sample", "type": "audioUrl"},
    ],
    "outputs": [{"id": "clip", "name": "Clip", "type": "videoUrl"}],
}


def test_a_required_unsupported_input_blocks_submission(bob_client, upstream):
    upstream.respond(VOICE, path=r"/techniques/tech_voice$")
    html = bob_client.get("/techniques/tech_voice/").content.decode()
    assert "This technique needs Voice sample (audio), which FLORA&#x27;s run API" in html
    assert '<fieldset class="run-inputs stack" disabled>' in html
    assert "data-run-button disabled>" in html

    data = read_form(html)  # what a crafted POST would still send
    data.update(in_script="Hello", in_voice="https://cdn.example.com/v.wav")
    response = bob_client.post("/techniques/tech_voice/run", data)
    assert response.status_code == 200
    assert "cannot be run from the dashboard" in html_of(response)
    assert upstream.creates == 0 and Run.objects.count() == 0


def test_an_optional_unsupported_input_is_left_out(bob_client, upstream):
    response, _ = start(
        bob_client,
        "tech_ugc-creation",
        {"product": "https://cdn.example.com/p.png", "script": "Unbox it"},
    )
    assert response.status_code == 302
    [body] = upstream.create_bodies()
    assert [item["id"] for item in body["inputs"]] == ["product", "script"]
