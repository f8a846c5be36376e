"""A board as a zip: its kept files in order, safe names, the manifest, the bounds."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from boards.models import Board, BoardItem, Review
from boards.services import add_output
from boards.views import download
from runs.models import OutputKeepStatus
from tests.boards.conftest import PNG, make_output

pytestmark = pytest.mark.django_db


def _zip(client, board) -> zipfile.ZipFile:
    response = client.get(f"/boards/{board.code}/download.zip")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    assert response.streaming  # written while it is sent
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _manifest(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))


def test_the_zip_holds_the_files_in_board_order_and_a_manifest(bob_client, board, image_output):
    item = board.items.get(output=image_output)
    BoardItem.objects.filter(pk=item.pk).update(note="Hero", review=Review.APPROVED)
    archive = _zip(bob_client, board)
    assert archive.namelist() == ["001-poster-maker-1.png", "002-tarot-pull-1.txt", "manifest.csv"]
    assert archive.read("001-poster-maker-1.png") == PNG
    assert archive.read("002-tarot-pull-1.txt") == b"Patience now."
    rows = _manifest(archive)
    assert list(rows[0]) == ["file", "run", "technique", "inputs", "status", "note", "review"]
    assert rows[0] == {
        "file": "001-poster-maker-1.png",
        "run": image_output.run.code,
        "technique": "Poster Maker",
        "inputs": "Prompt: A lemon at dawn",
        "status": "included",
        "note": "Hero",
        "review": "Approved",
    }
    assert rows[1]["review"] == "Not reviewed" and rows[1]["file"] == "002-tarot-pull-1.txt"


def test_the_name_of_the_zip(bob_client, board):
    response = bob_client.get(f"/boards/{board.code}/download.zip")
    assert f'filename="spring-picks-{board.code}.zip"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"


def test_outputs_not_kept_are_listed_not_lost(bob_client, board, team_a, bob):
    waiting = make_output(team_a, bob, technique="Slow", keep=OutputKeepStatus.PENDING)
    add_output(board, waiting, bob)
    archive = _zip(bob_client, board)
    assert len(archive.namelist()) == 3
    row = _manifest(archive)[2]
    assert row["file"] == "" and row["status"] == "not kept yet: not in the zip"


def test_names_are_safe_and_unique_whatever_the_technique(bob_client, team_a, bob):
    board = Board.objects.create(team=team_a, name="../../etc", created_by=bob)
    for _ in range(2):
        add_output(board, make_output(team_a, bob, technique="../../etc/passwd\x1f é"), bob)
    archive = _zip(bob_client, board)
    names = archive.namelist()
    assert names[:2] == ["001-etcpasswd-e-1.png", "002-etcpasswd-e-1.png"]
    assert all("/" not in n and ".." not in n and "\\" not in n for n in names)


def test_manifest_cells_cannot_be_formulas(bob_client, board):
    BoardItem.objects.filter(board=board).update(note='=HYPERLINK("http://evil")')
    rows = _manifest(_zip(bob_client, board))
    assert rows[0]["note"].startswith("'=")


def test_a_board_over_the_bound_says_so(bob_client, board, monkeypatch):
    monkeypatch.setattr(download, "MAX_ITEMS", 1)
    response = bob_client.get(f"/boards/{board.code}/download.zip")
    assert response.status_code == 413
    html = response.content.decode()
    assert "too big to download as one zip" in html and "at most 1 items" in html


def test_a_board_over_the_size_bound_says_so(bob_client, board, monkeypatch):
    monkeypatch.setattr(download, "MAX_BYTES", 10)
    response = bob_client.get(f"/boards/{board.code}/download.zip")
    assert response.status_code == 413


def test_a_viewer_may_download(carol_client, board):
    assert "manifest.csv" in _zip(carol_client, board).namelist()


def test_another_teams_board_zip_is_404(dave_client, board):
    assert dave_client.get(f"/boards/{board.code}/download.zip").status_code == 404
