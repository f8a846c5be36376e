"""Starting runs from the technique page: rows first, one FLORA create per intent, honest
messages for every answer FLORA can give."""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test import Client
from django_tasks import default_task_backend

from runs.models import Run, RunStatus
from runs.state import apply_remote
from sandbox import stats
from sandbox.models import SandboxRun
from sandbox.testing import FrozenClock
from teams.models import ConnectionStatus, FloraConnection
from teams.services import flora_client, save_connection
from techniques.forms import intent_from_token
from tests.runs.submit_helpers import CALLBACK, CREATE_PATH, read_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]

DEMO = "sk_sandbox_demo"
TAROT = "tech_tarot-pull"


def page_form(client: Client, technique: str = TAROT, workspace: str = "ws_demo") -> dict:
    response = client.get(f"/techniques/{technique}/?workspace={workspace}")
    assert response.status_code == 200
    return read_form(response.content.decode())


def start(client: Client, technique: str = TAROT, values: dict | None = None, **extra):
    data = page_form(client, technique, extra.pop("workspace", "ws_demo"))
    data.update({f"in_{key}": value for key, value in (values or {}).items()})
    data.update(extra)
    return client.post(f"/techniques/{technique}/run", data), data


def intent_of(team, data: dict, technique: str = TAROT) -> str:
    intent = intent_from_token(team, technique, data["intent"])
    assert intent
    return intent


def html_of(response) -> str:
    return response.content.decode()


# -- the happy path -------------------------------------------------------------------------


def test_it_rejects_get(bob_client, upstream):
    assert bob_client.get(f"/techniques/{TAROT}/run").status_code == 405


def test_a_run_is_recorded_then_started_and_lands_on_its_page(bob_client, bob, team_a, upstream):
    response, data = start(bob_client, values={"question": "Will we ship?"})

    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.code}/"
    intent = intent_of(team_a, data)
    assert run.team == team_a and run.created_by == bob
    assert run.technique_id == TAROT and run.technique_name == "Tarot Pull"
    assert run.price_quoted == Decimal("0.0600")
    assert run.inputs == [
        {"id": "question", "type": "text", "value": "Will we ship?", "name": "Question"}
    ]
    assert run.intent_key == intent and run.batch_key == ""
    assert run.workspace_id == "ws_demo"
    assert run.status == RunStatus.PENDING
    assert run.flora_run_id == SandboxRun.objects.get().run_id
    assert run.submitted_at is not None and run.flora_created_at is not None
    assert run.next_refresh_at is not None  # the status fragment and sweep take it from here
    assert run.error_code == "" and run.charged_cost is None

    [body] = upstream.create_bodies()
    assert body == {
        "inputs": [{"id": "question", "type": "text", "value": "Will we ship?"}],
        "mode": "async",
        "callback_url": CALLBACK,
        "idempotency_key": intent,
    }
    [request] = [r for r in upstream.requests if r.method == "POST"]
    assert request.headers["Idempotency-Key"] == intent
    assert stats.create_calls(DEMO) == 1
    assert SandboxRun.objects.get().callback_url == CALLBACK


def test_optional_inputs_left_empty_are_not_sent(bob_client, upstream):
    response, _ = start(
        bob_client,
        "tech_book-drop",
        {"cover_art": "https://cdn.example.com/cover.png", "title": "Dune", "author": "  "},
    )
    assert response.status_code == 302
    [body] = upstream.create_bodies()
    assert [item["id"] for item in body["inputs"]] == ["cover_art", "title"]
    assert [item["id"] for item in Run.objects.get().inputs] == ["cover_art", "title"]


def test_the_workspace_of_the_page_is_recorded(bob_client, upstream):
    response, _ = start(bob_client, workspace="ws_brand", values={"question": "Brand?"})
    assert response.status_code == 302
    assert Run.objects.get().workspace_id == "ws_brand"


def test_an_invalid_form_keeps_its_values_and_starts_nothing(bob_client, upstream):
    response, data = start(
        bob_client,
        "tech_book-drop",
        {"cover_art": "data:image/png;base64,AAAA", "title": "Dune <3"},
    )
    assert response.status_code == 200
    html = html_of(response)
    assert "data: URLs are not accepted" in html
    assert "Dune &lt;3</textarea>" in html
    assert f'name="intent" value="{data["intent"]}"' in html  # nothing was submitted yet
    assert upstream.creates == 0 and Run.objects.count() == 0


def test_a_forged_intent_starts_nothing(bob_client, team_b, upstream):
    from techniques.forms import new_intent_token

    response, _ = start(
        bob_client, values={"question": "?"}, intent=new_intent_token(team_b, TAROT)
    )
    assert response.status_code == 200
    assert "This form was out of date, so nothing was started." in html_of(response)
    assert upstream.creates == 0 and Run.objects.count() == 0


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


# -- one intent, one create -----------------------------------------------------------------


def test_the_same_form_posted_twice_starts_one_run(bob_client, team_a, upstream):
    data = page_form(bob_client)
    data["in_question"] = "Twice?"
    first = bob_client.post(f"/techniques/{TAROT}/run", data)
    second = bob_client.post(f"/techniques/{TAROT}/run", data, follow=False)

    run = Run.objects.get()
    assert first["Location"] == second["Location"] == f"/runs/{run.code}/"
    assert stats.create_calls(DEMO) == 1 and upstream.creates == 1
    messages = [m.message for m in second.wsgi_request._messages]
    assert messages == ["This form was already submitted: here is its run."]


def test_a_refused_run_then_the_back_button_lands_on_the_refused_run(bob_client, team_a, upstream):
    upstream.fail(402, "insufficient_credits", method="POST", path=CREATE_PATH, times=1)
    data = page_form(bob_client)
    data["in_question"] = "Broke?"
    refused = bob_client.post(f"/techniques/{TAROT}/run", data)
    assert refused.status_code == 402
    # The browser's back button resubmits the very same form.
    again = bob_client.post(f"/techniques/{TAROT}/run", data)
    run = Run.objects.get()
    assert run.status == RunStatus.FAILED_TO_START
    assert again["Location"] == f"/runs/{run.code}/"
    assert upstream.creates == 1


def test_when_another_request_wins_the_insert_this_one_follows_it(
    bob_client, bob, team_a, upstream, monkeypatch
):
    data = page_form(bob_client)
    data["in_question"] = "Race?"
    intent = intent_of(team_a, data)
    winner = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        intent_key=intent,
        status=RunStatus.SUBMITTING,
    )
    # Both requests checked for the intent before either inserted: this one then loses the
    # insert on the database's unique constraint.
    import runs.submit
    import runs.views.submit

    real = runs.submit.existing_runs
    monkeypatch.setattr(runs.views.submit, "existing_runs", lambda team, key: [])
    calls = []

    def first_empty(team, key):
        calls.append(key)
        return [] if len(calls) == 1 else real(team, key)

    monkeypatch.setattr(runs.submit, "existing_runs", first_empty)

    response = bob_client.post(f"/techniques/{TAROT}/run", data)
    assert response["Location"] == f"/runs/{winner.code}/"
    assert Run.objects.count() == 1
    assert upstream.creates == 0


@pytest.mark.django_db(transaction=True)
def test_a_second_click_while_the_first_waits_for_flora(team_a, bob, upstream):
    """The double click: the second request arrives while the first is inside FLORA's
    create call. It lands on the same run and FLORA sees one create."""
    first_client, second_client = Client(), Client()
    first_client.force_login(bob)
    second_client.force_login(bob)
    data = page_form(first_client)
    data["in_question"] = "Double click?"
    upstream.hold_creates = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        try:
            results["first"] = first_client.post(f"/techniques/{TAROT}/run", data)
        except BaseException as exc:  # reported below, not lost in the thread
            results["error"] = exc
        finally:
            db.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert upstream.create_entered.wait(timeout=10)
    second = second_client.post(f"/techniques/{TAROT}/run", data)
    upstream.hold_creates.set()
    thread.join(timeout=30)

    assert "error" not in results, results.get("error")
    run = Run.objects.get()
    assert second["Location"] == f"/runs/{run.code}/"
    assert results["first"]["Location"] == f"/runs/{run.code}/"
    assert run.status == RunStatus.PENDING
    assert stats.create_calls(DEMO) == 1 and SandboxRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_at_the_same_moment_start_one_run(team_a, bob, upstream):
    if db.vendor == "sqlite" and db.settings_dict["NAME"].startswith("file:memorydb"):
        # Shared-cache in-memory SQLite reports lock conflicts instead of waiting for them;
        # the overlapping case above and the insert race test cover SQLite.
        pytest.skip("needs a database that queues concurrent writers")
    clients = [Client(), Client(), Client()]
    for client in clients:
        client.force_login(bob)
    data = page_form(clients[0])
    data["in_question"] = "Simultaneous?"
    barrier = threading.Barrier(len(clients))
    locations: list[str] = []
    errors: list[BaseException] = []

    def post(client: Client) -> None:
        try:
            barrier.wait()
            locations.append(client.post(f"/techniques/{TAROT}/run", data)["Location"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    run = Run.objects.get()
    assert locations == [f"/runs/{run.code}/"] * 3
    assert stats.create_calls(DEMO) == 1


# -- several values: one run each -----------------------------------------------------------


LOOKBOOK = "tech_product-lookbook-grid"
TWO_PRODUCTS = "https://cdn.example.com/p1.png\nhttps://cdn.example.com/p2.png"


def test_several_values_without_javascript_ask_to_confirm_the_total_first(
    bob_client, team_a, upstream
):
    response, data = start(bob_client, LOOKBOOK, {"products": TWO_PRODUCTS, "theme": "linen"})
    assert response.status_code == 200
    html = html_of(response)
    assert "This starts <strong>2 runs</strong>" in html
    assert "2 × $0.22 = <strong>$0.44</strong>" in html
    assert "data-run-button>Start 2 runs for $0.44</button>" in html
    assert upstream.creates == 0 and Run.objects.count() == 0

    confirmed = read_form(html)
    assert confirmed["confirmed_runs"] == "2" and confirmed["intent"] == data["intent"]
    response = bob_client.post(f"/techniques/{LOOKBOOK}/run", confirmed)

    first, second = Run.objects.order_by("created_at", "id")
    intent = intent_of(team_a, data, LOOKBOOK)
    assert response["Location"] == f"/runs/{first.code}/"
    assert (first.intent_key, second.intent_key) == (f"{intent}:1", f"{intent}:2")
    assert first.batch_key == second.batch_key == intent
    assert [r.inputs[0]["value"] for r in (first, second)] == TWO_PRODUCTS.split("\n")
    assert all(r.inputs[1]["value"] == "linen" for r in (first, second))
    assert [b["idempotency_key"] for b in upstream.create_bodies()] == [
        f"{intent}:1",
        f"{intent}:2",
    ]
    assert {r.status for r in (first, second)} == {RunStatus.PENDING}
    messages = [m.message for m in response.wsgi_request._messages]
    assert messages == [
        "Started 2 runs of Product Lookbook Grid, one per value. This page shows the first; "
        "all of them are listed under Runs."
    ]

    again = bob_client.post(f"/techniques/{LOOKBOOK}/run", confirmed)
    assert again["Location"] == f"/runs/{first.code}/"
    assert upstream.creates == 2 and stats.create_calls(DEMO) == 2


def test_with_javascript_the_count_the_button_showed_is_confirmed(bob_client, upstream):
    response, _ = start(bob_client, LOOKBOOK, {"products": TWO_PRODUCTS}, confirmed_runs="2")
    assert response.status_code == 302
    assert Run.objects.count() == 2


def test_a_batch_refused_half_way_says_what_started(bob_client, upstream):
    upstream.fail(402, "insufficient_credits", method="POST", path=CREATE_PATH, skip=1)
    three = TWO_PRODUCTS + "\nhttps://cdn.example.com/p3.png"
    response, _ = start(bob_client, LOOKBOOK, {"products": three}, confirmed_runs="3")
    first, second, third = Run.objects.order_by("created_at", "id")
    assert response["Location"] == f"/runs/{first.code}/"
    assert first.status == RunStatus.PENDING
    assert second.status == third.status == RunStatus.FAILED_TO_START
    assert second.error_code == "insufficient_credits"
    assert third.error_code == "not_attempted"
    assert upstream.creates == 2
    [message] = [m.message for m in response.wsgi_request._messages]
    assert message.startswith("Started 1 of 3 runs of Product Lookbook Grid. FLORA refused")


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


# -- "Run again" ----------------------------------------------------------------------------


def test_run_again_opens_the_form_filled_with_the_runs_inputs(bob_client, alice_client, upstream):
    start(
        bob_client,
        "tech_book-drop",
        {"cover_art": "https://c.example/a.png", "title": "Dune"},
        workspace="ws_brand",
    )
    run = Run.objects.get()

    response = alice_client.get(f"/runs/{run.code}/again")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/techniques/tech_book-drop/?again={run.code}&workspace=ws_brand#run-form"
    )
    form = read_form(html_of(alice_client.get(response["Location"].split("#")[0])))
    assert form["in_cover_art"] == "https://c.example/a.png"
    assert form["in_title"] == "Dune" and form["in_author"] == ""
    assert form["workspace"] == "ws_brand"
    assert intent_from_token(run.team, "tech_book-drop", form["intent"]) != run.intent_key

    # Sent again: a new run, FLORA sees a second (new) create.
    assert alice_client.post("/techniques/tech_book-drop/run", form).status_code == 302
    assert Run.objects.count() == 2 and stats.runs_created(DEMO) == 2


def test_run_again_of_another_teams_run_is_404(bob_client, dave_client, upstream):
    start(bob_client, values={"question": "Mine"})
    run = Run.objects.get()
    assert dave_client.get(f"/runs/{run.code}/again").status_code == 404
    # ...and another team's run code cannot prefill a form either.
    html = html_of(dave_client.get(f"/techniques/{TAROT}/?again={run.code}"))
    assert read_form(html)["in_question"] == ""


def test_run_again_without_known_inputs_says_so(bob_client, team_a, upstream):
    run = Run.objects.create(
        team=team_a,
        technique_id=TAROT,
        technique_name="Tarot Pull",
        origin="external",
        status=RunStatus.COMPLETED,
    )
    response = bob_client.get(f"/runs/{run.code}/again", follow=True)
    assert response.status_code == 200
    assert "does not know the inputs of this run" in html_of(response)


def test_the_response_never_echoes_the_api_key(bob_client, upstream):
    response, _ = start(bob_client, values={"question": "Secret?"})
    follow = bob_client.get(f"/techniques/{TAROT}/")
    for page in (response, follow):
        assert "sk_sandbox_demo" not in page.content.decode()
    assert "sk_sandbox" not in json.dumps(Run.objects.get().inputs)


@pytest.mark.parametrize("technique_id", ["", "tech_a/b", "tech x", "tech_x\n", "..", "tech_é"])
def test_run_again_of_a_run_with_an_unusable_technique_id_says_so(
    bob_client, team_a, upstream, technique_id
):
    run = Run.objects.create(
        team=team_a,
        technique_id=technique_id,
        technique_name="Odd One",
        origin="external",
        status=RunStatus.FAILED,
        error_code="provider_error",
    )
    page = bob_client.get(f"/runs/{run.code}/")
    assert page.status_code == 200
    assert "/again" not in html_of(page)  # no button that cannot work

    response = bob_client.get(f"/runs/{run.code}/again")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.code}/"
    html = html_of(bob_client.get(response["Location"]))
    assert "cannot be run again from the dashboard" in html
    assert upstream.calls() == 0
