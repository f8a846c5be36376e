"""Batches and budgets (issue 18 meets 17): a batch that does not fit is refused whole; a
row the budget refuses when the worker starts it fails in words, and the worker goes on."""

from __future__ import annotations

from html import unescape

import pytest

from batches import worker
from batches.models import Batch, RowState
from budgets.models import LedgerEntry
from runs.models import Run
from tests.batches.views_helpers import TAROT, confirm, post
from tests.budgets.conftest import set_budget

pytestmark = pytest.mark.django_db


def test_a_batch_over_the_budget_is_refused_at_the_preview(bob_client, team_a, sandbox_http):
    set_budget(team_a, "0.10")  # one Tarot Pull ($0.06) fits, three ($0.18) do not
    response = post(bob_client, TAROT, source="lines", input="question", lines="A?\nB?\nC?")
    assert response.status_code == 402
    page = unescape(response.content.decode())
    assert "this needs $0.18 and the team's budget has $0.10 left" in page
    assert not Batch.objects.exists() and not LedgerEntry.objects.exists()


def test_a_batch_that_fits_is_made_and_each_run_reserves_as_it_starts(
    bob_client, team_a, sandbox_http, upstream
):
    set_budget(team_a, "0.20")
    response = confirm(bob_client, TAROT, source="lines", input="question", lines="A?\nB?\nC?")
    assert response.status_code == 302
    assert not LedgerEntry.objects.exists()  # made, not reserved: nothing has started
    assert worker.start_due() == 3 and upstream.creates == 3
    assert LedgerEntry.objects.filter(kind="reserve").count() == 3


def test_a_row_the_budget_refuses_fails_with_its_words_and_the_rest_wait(
    bob_client, team_a, sandbox_http, upstream
):
    set_budget(team_a, "0.20")
    confirm(bob_client, TAROT, source="lines", input="question", lines="A?\nB?\nC?")
    set_budget(team_a, "0.06")  # lowered after the batch was made: room for one run
    worker.start_due()
    batch = Batch.objects.get()
    states = list(batch.rows.order_by("position").values_list("state", flat=True))
    assert states.count(RowState.STARTED) == 1 and upstream.creates == 1
    refused = batch.rows.filter(state=RowState.FAILED)
    assert refused.count() == 2
    assert all("Over budget" in row.note for row in refused)
    assert Run.objects.count() == 1  # nothing half-written for the refused rows
