"""The run form against a budget: over budget nothing reaches FLORA, and the pages show the
price quoted, the reservation and the charge."""

from __future__ import annotations

from html import unescape

import pytest

from budgets.models import EntryKind, LedgerEntry
from runs.models import Run, RunStatus
from tests.budgets.conftest import set_budget
from tests.runs.submit_helpers import html_of, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reachable_callback")]


def test_a_run_within_budget_starts_and_is_reserved(bob_client, team_a, upstream, team_budget):
    response, _ = start(bob_client, values={"question": "Ship?"})
    assert response.status_code == 302
    run = Run.objects.get()
    assert run.status == RunStatus.PENDING and upstream.creates == 1
    entry = LedgerEntry.objects.get(run=run)
    assert (entry.kind, entry.amount, entry.member_id) == (
        EntryKind.RESERVE,
        600,
        run.created_by_id,
    )

    page = unescape(html_of(bob_client.get(f"/runs/{run.code}/")))
    assert "Price quoted" in page and "$0.06 per run" in page
    assert "Reserved" in page and "held until the run ends" in page
    history = unescape(html_of(bob_client.get("/runs/")))
    assert "$0.06 reserved" in history


def test_over_budget_nothing_is_sent_and_the_form_says_why(
    bob_client, alice, team_a, upstream, team_budget
):
    alice.first_name, alice.last_name = "Alice", "Adams"
    alice.save()
    set_budget(team_a, "0.05")

    response, data = start(bob_client, values={"question": "Ship?"})

    assert response.status_code == 402
    page = unescape(html_of(response))
    assert "Over budget: this needs $0.06 and the team's budget has $0.05 left this month" in page
    assert "Managers who can raise it: Alice Adams." in page
    assert "Ship?" in page  # the form is kept, filled in
    assert upstream.creates == 0
    assert not Run.objects.exists() and not LedgerEntry.objects.exists()


def test_a_member_over_their_own_cap_is_told_so(bob_client, bob, team_a, upstream, team_budget):
    set_budget(team_a, "0.01", member=bob)
    response, _ = start(bob_client, values={"question": "Ship?"})
    assert response.status_code == 402
    assert "your own budget has $0.01 left" in unescape(html_of(response))
    assert upstream.creates == 0


def test_a_batch_that_does_not_fit_starts_none_of_its_runs(bob_client, team_a, upstream):
    set_budget(team_a, "0.50")  # one Lookbook run ($0.22) fits, two ($0.44) too, three not
    three = "\n".join(f"https://cdn.example.com/p{n}.png" for n in (1, 2, 3))
    response, _ = start(
        bob_client, "tech_product-lookbook-grid", {"products": three}, confirmed_runs="3"
    )
    assert response.status_code == 402
    assert "this needs $0.66 and the team's budget has $0.50 left" in unescape(html_of(response))
    assert upstream.creates == 0 and not Run.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_the_charge_settles_and_the_run_page_says_so(bob_client, team_a, upstream, clock):
    response, _ = start(bob_client, values={"question": "Ship?"})
    run = Run.objects.get()
    clock.advance_past(run.flora_run_id)
    bob_client.get(f"/runs/{run.code}/status", HTTP_HX_REQUEST="true")
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    kinds = set(LedgerEntry.objects.filter(run=run).values_list("kind", flat=True))
    assert kinds == {EntryKind.RESERVE, EntryKind.SETTLE if run.charged_cost else EntryKind.RELEASE}
    page = unescape(html_of(bob_client.get(f"/runs/{run.code}/")))
    assert "Cost charged" in page and "Reserved" in page
    assert ("settled to the cost charged" in page) or ("released: nothing charged" in page)
