"""Starting a batch: the preview and its price, CSV mapping and its errors, roles, approval."""

from __future__ import annotations

import pytest

from batches import worker
from batches.models import Batch, BatchStatus
from runs.models import Run
from tests.batches.views_helpers import LOOKBOOK, TAROT, confirm, post

pytestmark = pytest.mark.django_db

P1 = "https://cdn.example.com/p1.png"


def test_lines_preview_shows_the_total_and_writes_nothing(bob_client, sandbox_http, upstream):
    response = post(bob_client, TAROT, source="lines", input="question", lines="A?\n\nB?\nC?\n")
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 runs of Tarot Pull" in html
    assert "3 × $0.06 = $0.18" in html
    assert "Start 3 runs for $0.18" in html
    assert not Batch.objects.exists() and upstream.creates == 0


def test_confirming_writes_the_batch_and_starts_nothing_in_the_request(
    bob_client, sandbox_http, upstream
):
    response = confirm(bob_client, TAROT, source="lines", input="question", lines="A?\nB?")
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/batches/{batch.code}/"
    assert batch.status == BatchStatus.ACTIVE and batch.size == 2
    assert [r.inputs[0]["value"] for r in batch.rows.all()] == ["A?", "B?"]
    assert upstream.creates == 0 and not Run.objects.exists()
    assert worker.start_due() == 2 and upstream.creates == 2


def test_the_same_confirmation_twice_is_one_batch(bob_client, sandbox_http):
    confirm(bob_client, TAROT, source="lines", input="question", lines="A?")
    # The preview's form posted again (a double click) lands on the same batch.
    batch = Batch.objects.get()
    again = bob_client.post(
        f"/batches/new/{TAROT}",
        {"source": "lines", "input": "question", "lines": "A?", "confirmed": "1", "token": "x"},
    )
    assert again.status_code == 400 and "out of date" in again.content.decode()
    assert Batch.objects.get() == batch


def test_csv_preview_shows_the_mapping_and_first_rows(bob_client, sandbox_http):
    csv = "Products,theme\n" + "".join(f"{P1}?n={n},linen {n}\n" for n in range(8))
    html = post(bob_client, LOOKBOOK, source="csv", csv_text=csv).content.decode()
    assert "<code>Products</code> → Products" in html and "<code>theme</code> → Theme" in html
    assert "<td>linen 4</td>" in html and "<td>linen 5</td>" not in html  # the first five
    assert "8 runs of Product Lookbook Grid" in html


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("theme\nlinen\n", "Missing column: Products (“products”) is required."),
        (f"products,theme\n{P1},a\n,b\n", "Row 3: Products is empty."),
        ("products\nnot-a-url\n", "Row 2: “not-a-url” is not a web address (http or https)"),
        ("products,colour\nhttps://x.example/a.png,red\n", "Column 2 “colour” is no input"),
        ("products\n" + f"{P1}\n" * 1001, "That is 1001 runs; a batch has at most 1000."),
        ("", "The CSV is empty"),
    ],
)
def test_csv_errors_say_what_is_wrong_and_start_nothing(
    bob_client, sandbox_http, upstream, csv, message
):
    response = post(bob_client, LOOKBOOK, source="csv", csv_text=csv)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was started." in html
    assert message in html
    assert not Batch.objects.exists() and upstream.creates == 0


def test_a_viewer_cannot_start_a_batch(carol_client, sandbox_http):
    assert carol_client.get(f"/batches/new/{TAROT}").status_code == 403
    assert not Batch.objects.exists()


def test_over_the_limit_a_members_batch_waits_for_a_manager(
    bob_client, alice_client, sandbox_http, upstream, settings
):
    settings.FLORASITE_BATCH_APPROVAL_OVER = 3
    preview = post(bob_client, TAROT, source="lines", input="question", lines="a\nb\nc\nd")
    assert "a manager must approve" in preview.content.decode()
    confirm(bob_client, TAROT, source="lines", input="question", lines="a\nb\nc\nd")
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.AWAITING_APPROVAL
    assert worker.start_due() == 0 and upstream.creates == 0
    assert bob_client.post(f"/batches/{batch.code}/approve").status_code == 403
    assert alice_client.post(f"/batches/{batch.code}/approve").status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACTIVE and batch.approved_by.username == "alice"
    assert worker.start_due() == 4


def test_a_manager_needs_no_approval(alice_client, sandbox_http, settings):
    settings.FLORASITE_BATCH_APPROVAL_OVER = 1
    confirm(alice_client, TAROT, source="lines", input="question", lines="a\nb")
    assert Batch.objects.get().status == BatchStatus.ACTIVE
