"""Batches of kept files: one run per file sent, or per output of a board; each file is made
a FLORA asset by the worker just before its run starts (uploads.services.asset_for)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import worker
from batches.models import Batch, BatchSource, RowState
from boards.models import Board
from boards.services import add_output
from runs.models import InputLink, Run
from tests.batches.views_helpers import confirm, post
from tests.runs.inputs_helpers import kept_image_run
from tests.uploads import images
from uploads.models import Upload

pytestmark = pytest.mark.django_db

SEGMENT = "tech_color-mapping"


def _create_inputs(upstream) -> list[str]:
    return [
        json.loads(r.content)["inputs"][0]["value"]
        for r in upstream.requests
        if r.method == "POST" and r.url.path.endswith("/runs")
    ]


def test_a_board_batch_runs_once_per_kept_image(bob_client, team_a, bob, upstream, fake_assets):
    board = Board.objects.create(team=team_a, name="Shots", created_by=bob)
    for n in range(3):
        run = kept_image_run(team_a, bob, data=images.png(size=(48 + n, 32)), code_suffix=f"_{n}")
        add_output(board, run.outputs.get(), bob)
    preview = post(bob_client, SEGMENT, source="board", input="image", board=board.code)
    assert "3 runs of Segment Mapper" in preview.content.decode()
    response = confirm(bob_client, SEGMENT, source="board", input="image", board=board.code)
    batch = Batch.objects.get()
    assert response.status_code == 302 and batch.source == BatchSource.BOARD
    assert fake_assets.calls == [] and upstream.creates == 0  # nothing sent by the request

    assert worker.start_due() == 3
    assert len(fake_assets.calls) == 3
    assert _create_inputs(upstream) == [f"https://assets.example/fake/{n}.bin" for n in (1, 2, 3)]
    assert InputLink.objects.count() == 3  # each run says which output it came from
    assert set(batch.rows.values_list("state", flat=True)) == {RowState.STARTED}


def test_a_files_batch_keeps_each_file_and_runs_once_per_file(
    bob_client, team_a, upstream, fake_assets
):
    from tests.batches.views_helpers import token_of

    files = [
        SimpleUploadedFile(f"shot-{n}.png", images.png(size=(40 + n, 30)), "image/png")
        for n in range(2)
    ]
    token = token_of(bob_client, SEGMENT)
    preview = bob_client.post(
        f"/batches/new/{SEGMENT}",
        {"token": token, "source": "files", "input": "image", "files": files},
    )
    html = preview.content.decode()
    assert preview.status_code == 200 and "2 runs of Segment Mapper" in html
    assert Upload.objects.count() == 2  # validated and kept, as the run form keeps them
    refs = " ".join(u.ref for u in Upload.objects.order_by("id"))
    bob_client.post(
        f"/batches/new/{SEGMENT}",
        {"token": token, "source": "files", "input": "image", "refs": refs, "confirmed": "2"},
    )
    batch = Batch.objects.get()
    assert [r.inputs[0]["ref"] for r in batch.rows.all()] == refs.split()
    assert worker.start_due() == 2
    assert Run.objects.count() == 2 and upstream.creates == 2


def test_a_file_that_is_no_image_is_refused_and_nothing_is_made(bob_client, upstream):
    from tests.batches.views_helpers import token_of

    bad = SimpleUploadedFile("notes.png", b"just text, not a picture", "image/png")
    response = bob_client.post(
        f"/batches/new/{SEGMENT}",
        {
            "token": token_of(bob_client, SEGMENT),
            "source": "files",
            "input": "image",
            "files": [bad],
        },
    )
    assert response.status_code == 400
    assert "notes.png" in response.content.decode()
    assert not Batch.objects.exists() and upstream.creates == 0


def test_another_teams_upload_cannot_be_named(bob_client, dave, team_b, upstream):
    from tests.batches.views_helpers import token_of
    from uploads.services import keep_upload
    from uploads.validation import prepare

    theirs = keep_upload(team_b, dave, prepare(images.png(), name="b.png", kind="image"))
    response = bob_client.post(
        f"/batches/new/{SEGMENT}",
        {
            "token": token_of(bob_client, SEGMENT),
            "source": "files",
            "input": "image",
            "refs": theirs.ref,
        },
    )
    assert response.status_code == 400 and not Batch.objects.exists()
