"""One rendering of the run form, posted more than once: the intent covers what was asked.

The same token with the same inputs is one intent (a double click, a retry); the same token
with other inputs (Back, edit, Run) is a new one, with its own idempotency key.
"""

from __future__ import annotations

import pytest

from runs.models import Run
from tests.runs.submit_helpers import TAROT, page_form, read_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


def _post(client, data: dict, question: str):
    return client.post(f"/techniques/{TAROT}/run", {**data, "in_question": question})


def test_the_same_token_with_the_same_inputs_starts_one_run(bob_client, upstream):
    data = page_form(bob_client)
    first = _post(bob_client, data, "alpha")
    # Whitespace around the value is not a different question.
    second = _post(bob_client, data, "  alpha\n")

    run = Run.objects.get()
    assert first["Location"] == second["Location"] == f"/runs/{run.code}/"
    assert upstream.creates == 1
    messages = [m.message for m in second.wsgi_request._messages]
    assert messages == ["This form was already submitted: here is its run."]


def test_back_edit_run_starts_a_new_run_with_its_own_key(bob_client, upstream):
    data = page_form(bob_client)
    alpha = _post(bob_client, data, "alpha")
    beta = _post(bob_client, data, "beta")

    first, second = Run.objects.order_by("created_at", "id")
    assert [r.inputs[0]["value"] for r in (first, second)] == ["alpha", "beta"]
    assert alpha["Location"] == f"/runs/{first.code}/"
    assert beta["Location"] == f"/runs/{second.code}/"
    assert not list(beta.wsgi_request._messages)  # no "already submitted"
    assert first.intent_key != second.intent_key
    bodies = upstream.create_bodies()
    assert [b["inputs"][0]["value"] for b in bodies] == ["alpha", "beta"]
    assert [b["idempotency_key"] for b in bodies] == [first.intent_key, second.intent_key]

    # And beta posted again is beta's run, not a third.
    again = _post(bob_client, data, "beta")
    assert again["Location"] == f"/runs/{second.code}/"
    assert upstream.creates == 2 and Run.objects.count() == 2


def test_back_to_the_first_inputs_lands_on_the_first_run(bob_client, upstream):
    data = page_form(bob_client)
    _post(bob_client, data, "alpha")
    _post(bob_client, data, "beta")
    again = _post(bob_client, data, "alpha")
    first = Run.objects.order_by("created_at", "id").first()
    assert again["Location"] == f"/runs/{first.code}/"
    assert upstream.creates == 2


# -- long prompts: a stated limit, never a silent cut ---------------------------------------


def test_the_page_states_the_text_limit_and_lets_the_browser_keep_long_text(bob_client, upstream):
    html = bob_client.get(f"/techniques/{TAROT}/?workspace=ws_demo").content.decode()
    assert "Up to 4000 characters." in html
    assert 'data-max-chars="4000"' in html
    assert "maxlength" not in html.split('id="run-form"', 1)[1]  # no silent truncation


def test_a_too_long_prompt_is_refused_in_words_and_kept_whole(bob_client, upstream):
    data = page_form(bob_client)
    long_text = "x" * 4100
    response = _post(bob_client, data, long_text)

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "At most 4000 characters (this has 4100): shorten it by 100. Nothing was cut and "
        "nothing was started."
    ) in html
    assert read_form(html)["in_question"] == long_text
    assert upstream.creates == 0 and Run.objects.count() == 0


def test_a_line_break_counts_as_one_character_as_the_counter_shows(bob_client, upstream):
    # The browser sends \r\n; FLORA gets \n, within its limit.
    data = page_form(bob_client)
    response = _post(bob_client, data, "x" * 3000 + "\r\n" + "y" * 999)
    assert response.status_code == 302 and Run.objects.count() == 1
    assert upstream.create_bodies()[0]["inputs"][0]["value"] == "x" * 3000 + "\n" + "y" * 999
