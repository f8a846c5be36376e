"""The batch page: one poll for all rows, totals, the outputs grid, cancel, the zip, the
board; and the list."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from batches import services, worker
from batches.models import BatchStatus, RowState
from boards.models import Board
from runs import keeping
from runs.models import RunOutput
from tests.batches.conftest import lines_batch, run_to_the_end
from tests.runs.results_helpers import sandbox_downloads

pytestmark = pytest.mark.django_db


def test_the_page_polls_once_for_the_whole_batch(bob_client, team_a, bob, tarot, upstream):
    batch = lines_batch(team_a, bob, tarot, 6)
    worker.start_due()
    html = bob_client.get(f"/batches/{batch.code}/").content.decode()
    assert html.count("hx-trigger") == 1 and html.count("hx-get") == 1
    assert f'hx-get="/batches/{batch.code}/live"' in html
    assert html.count("<tr>") == 7  # a header and one row per run
    assert "0 done" in html and "4 running" in html and "2 waiting" in html


def test_the_live_fragment_stops_polling_when_every_run_ended(
    bob_client, team_a, bob, tarot, upstream, clock
):
    batch = lines_batch(team_a, bob, tarot, 3)
    worker.start_due()
    live = bob_client.get(f"/batches/{batch.code}/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "hx-trigger" in live.content.decode()
    run_to_the_end(batch, clock)
    done = bob_client.get(f"/batches/{batch.code}/live", headers={"HX-Request": "true"})
    html = done.content.decode()
    assert done.status_code == 286 and "hx-trigger" not in html
    assert "3 done" in html and "All runs of this batch have ended." in html
    assert "<!doctype" not in html  # the fragment only
    # Without htmx the fragment's URL is the page.
    assert bob_client.get(f"/batches/{batch.code}/live").status_code == 302


def test_cancel_stops_rows_not_started_and_lets_started_ones_finish(
    bob_client, team_a, bob, tarot, upstream, clock
):
    batch = lines_batch(team_a, bob, tarot, 7)
    assert worker.start_due() == 4
    response = bob_client.post(f"/batches/{batch.code}/cancel", follow=True)
    assert "Cancelled 3 runs not started yet" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    assert batch.rows.filter(state=RowState.CANCELLED).count() == 3
    run_to_the_end(batch, clock)
    assert upstream.creates == 4
    totals = services.totals(batch)
    assert (totals.done, totals.cancelled, totals.waiting) == (4, 3, 0)


def test_a_viewer_sees_the_batch_but_cannot_change_it(carol_client, team_a, bob, tarot):
    batch = lines_batch(team_a, bob, tarot, 2)
    html = carol_client.get(f"/batches/{batch.code}/").content.decode()
    assert "Tarot Pull" in html and "Cancel the runs" not in html
    for action in ("cancel", "retry", "to-board"):
        assert carol_client.post(f"/batches/{batch.code}/{action}").status_code == 403
    assert batch.rows.filter(state=RowState.QUEUED).count() == 2


@pytest.fixture
def finished_batch(team_a, bob, tarot, upstream, clock, monkeypatch):
    with sandbox_downloads(monkeypatch):
        batch = lines_batch(team_a, bob, tarot, 3)
        run_to_the_end(batch, clock)
        keeping.retry_due_outputs()
        yield batch


def test_download_all_is_a_zip_with_a_manifest(bob_client, finished_batch):
    response = bob_client.get(f"/batches/{finished_batch.code}/download.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert names[-1] == "manifest.csv"
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode())))
    assert manifest[0][:5] == ["file", "run", "technique", "inputs", "status"]
    assert len(manifest) == 1 + RunOutput.objects.count() == 1 + 6  # card and reading x 3
    assert "Question: Question 0?" in manifest[1][3]
    kept = [row[0] for row in manifest[1:] if row[4] == "included"]
    assert kept and set(kept) <= set(names)


def test_add_all_to_a_board(bob_client, team_a, bob, finished_batch):
    board = Board.objects.create(team=team_a, name="Picks", created_by=bob)
    response = bob_client.post(
        f"/batches/{finished_batch.code}/to-board", {"board": board.code}, follow=True
    )
    assert "Added 6 outputs to “Picks”." in response.content.decode()
    assert board.items.count() == 6
    again = bob_client.post(
        f"/batches/{finished_batch.code}/to-board", {"board": board.code}, follow=True
    )
    assert "Added 0 outputs" in again.content.decode() and board.items.count() == 6


def test_the_page_shows_the_outputs_grid_when_done(bob_client, finished_batch):
    html = bob_client.get(f"/batches/{finished_batch.code}/").content.decode()
    assert 'class="batch-grid"' in html and "3 done" in html


def test_the_list_shows_the_teams_batches_only(bob_client, dave_client, team_a, bob, tarot):
    batch = lines_batch(team_a, bob, tarot, 2)
    assert batch.code in bob_client.get("/batches/").content.decode()
    assert batch.code not in dave_client.get("/batches/").content.decode()


def test_a_run_page_links_back_to_its_batch(bob_client, finished_batch):
    row = finished_batch.rows.order_by("position").last()
    html = bob_client.get(f"/runs/{row.run.code}/").content.decode()
    assert f'href="/batches/{finished_batch.code}/"' in html
    assert f"run {row.position} of {finished_batch.size}" in html
