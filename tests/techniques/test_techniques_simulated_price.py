"""On the sandbox nothing is charged, so every price the pages show says it is simulated."""

from __future__ import annotations

import pytest

from tests.runs.submit_helpers import TAROT, page_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upstream")]

PAGE = f"/techniques/{TAROT}/?workspace=ws_demo"
SIMULATED = '<span class="muted small"> (simulated price)</span>'


def test_on_the_sandbox_the_button_and_prices_say_simulated_price(bob_client):
    html = bob_client.get(PAGE).content.decode()
    assert "nothing is charged: every price shown is a simulated price" in html
    assert "data-run-button>Run for $0.06 (simulated price)</button>" in html
    assert 'data-simulated="true"' in html
    assert "Simulated price: $0.06 per run · the sandbox charges nothing" in html
    assert "FLORA generally refunds failed runs" not in html
    assert f'<p class="price technique-price">$0.06 per run</p>{SIMULATED}' in html
    catalog = bob_client.get("/techniques/?workspace=ws_demo").content.decode()
    assert SIMULATED in catalog


def test_a_run_started_on_the_sandbox_shows_a_simulated_quote(bob_client):
    data = page_form(bob_client)
    response = bob_client.post(f"/techniques/{TAROT}/run", {**data, "in_question": "?"})
    html = bob_client.get(response["Location"]).content.decode()
    assert f"$0.06 per run{SIMULATED}" in html


def test_on_real_flora_the_price_is_plain(bob_client, monkeypatch):
    # The sandbox still answers (the upstream fixture); the connection just is not one.
    from teams.models import FloraConnection

    monkeypatch.setattr(FloraConnection, "is_sandbox", property(lambda self: False))
    html = bob_client.get(PAGE).content.decode()
    assert "simulated" not in html.lower()
    assert "data-run-button>Run for $0.06</button>" in html
    assert "$0.06 per run · FLORA generally refunds failed runs" in html
