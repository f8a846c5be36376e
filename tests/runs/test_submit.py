"""Starting runs from the technique page: the happy path, one FLORA create per intent."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test import Client

from batches import worker
from batches.models import Batch, RowState
from runs.models import Run, RunStatus
from sandbox import stats
from sandbox.models import SandboxRun
from tests.runs.submit_helpers import (
    CALLBACK,
    CREATE_PATH,
    DEMO,
    TAROT,
    html_of,
    intent_of,
    page_form,
    read_form,
    start,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


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


def test_the_response_never_echoes_the_api_key(bob_client, upstream):
    response, _ = start(bob_client, values={"question": "Secret?"})
    follow = bob_client.get(f"/techniques/{TAROT}/")
    for page in (response, follow):
        assert "sk_sandbox_demo" not in page.content.decode()
    assert "sk_sandbox" not in json.dumps(Run.objects.get().inputs)


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

    # Several runs are a batch (issue 17): the request writes its rows, the worker starts them.
    batch = Batch.objects.get()
    intent = intent_of(team_a, data, LOOKBOOK)
    assert response["Location"] == f"/batches/{batch.code}/"
    assert batch.intent_key == intent and batch.size == 2
    assert upstream.creates == 0 and Run.objects.count() == 0
    messages = [m.message for m in response.wsgi_request._messages]
    assert messages == ["Started a batch of 2 runs of Product Lookbook Grid, one per value."]

    assert worker.start_due() == 2
    first, second = Run.objects.order_by("created_at", "id")
    rows = list(batch.rows.all())
    assert (first.intent_key, second.intent_key) == (rows[0].intent_key, rows[1].intent_key)
    assert [r.inputs[0]["value"] for r in (first, second)] == TWO_PRODUCTS.split("\n")
    assert all(r.inputs[1]["value"] == "linen" for r in (first, second))
    assert [b["idempotency_key"] for b in upstream.create_bodies()] == [
        rows[0].intent_key,
        rows[1].intent_key,
    ]
    assert {r.status for r in (first, second)} == {RunStatus.PENDING}

    again = bob_client.post(f"/techniques/{LOOKBOOK}/run", confirmed)
    assert again["Location"] == f"/batches/{batch.code}/"
    assert worker.start_due() == 0
    assert upstream.creates == 2 and stats.create_calls(DEMO) == 2


def test_with_javascript_the_count_the_button_showed_is_confirmed(bob_client, upstream):
    response, _ = start(bob_client, LOOKBOOK, {"products": TWO_PRODUCTS}, confirmed_runs="2")
    assert response.status_code == 302
    assert Batch.objects.get().rows.count() == 2


def test_a_batch_refused_half_way_says_what_started(bob_client, upstream):
    upstream.fail(402, "insufficient_credits", method="POST", path=CREATE_PATH, skip=1)
    three = TWO_PRODUCTS + "\nhttps://cdn.example.com/p3.png"
    response, _ = start(bob_client, LOOKBOOK, {"products": three}, confirmed_runs="3")
    batch = Batch.objects.get()
    assert response["Location"] == f"/batches/{batch.code}/"
    worker.start_due()
    first, second = Run.objects.order_by("created_at", "id")
    assert first.status == RunStatus.PENDING
    assert second.status == RunStatus.FAILED_TO_START
    assert second.error_code == "insufficient_credits"
    # The rest would be refused alike: not attempted, and retried with "Retry failed".
    third = batch.rows.get(position=3)
    assert third.state == RowState.FAILED and third.note.startswith("Not started: FLORA refused")
    assert upstream.creates == 2
    page = bob_client.get(f"/batches/{batch.code}/").content.decode()
    assert "1 failed" in page or "2 failed" in page
