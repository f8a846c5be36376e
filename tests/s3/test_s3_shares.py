"""Share links to files on a bucket: the public page's files are signed URLs handed out only
after the link is found live (rate limit, expiry, revocation as today), never cached, and
never a URL the page itself embeds."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client

from boards.models import Board
from boards.services import add_output
from runs import thumbnails
from tests.boards.share_helpers import share_board
from tests.runs.results_helpers import CRITIQUE, make_run, sandbox_downloads, share_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_run(team_a, bob, s3_bucket, sandbox_http, clock, monkeypatch):
    with sandbox_downloads(monkeypatch) as downloads:
        run = make_run(team_a, bob, *CRITIQUE, clock)
        image = run.outputs.get(type="imageUrl")
        original = downloads.get(image.source_url).content
    thumbnails.make_run_thumbnails(run.pk)
    image.refresh_from_db()
    return run, image, original


def test_a_share_links_file_is_a_signed_url_after_the_link_is_found(kept_run, bob, s3_bucket):
    run, image, original = kept_run
    _, token = share_link(run, bob)
    visitor = Client()
    page = visitor.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/s/{token}/outputs/{image.position}" in html
    assert "X-Amz-Signature" not in html and s3_bucket.endpoint not in html

    response = visitor.get(f"/s/{token}/outputs/{image.position}?download=1")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"  # the token never reaches the bucket
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    # The shared name, as the share page's own files are named (no run code).
    assert query["response-content-disposition"][0].startswith("attachment; filename=")
    assert run.code not in query["response-content-disposition"][0]
    assert query["response-cache-control"] == ["private, no-cache"]
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content == original
    assert fetched.headers["content-type"] == "image/png"


def test_a_revoked_share_link_hands_out_no_url(kept_run, bob, bob_client):
    run, image, _ = kept_run
    link, token = share_link(run, bob)
    assert Client().get(f"/s/{token}/outputs/{image.position}").status_code == 302
    bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke")
    refused = Client().get(f"/s/{token}/outputs/{image.position}")
    assert refused.status_code == 404 and "Location" not in refused
    assert Client().get(f"/s/{'x' * 43}/outputs/{image.position}").status_code == 404


@pytest.fixture
def shared_board(kept_run, bob):
    run, image, original = kept_run
    board = Board.objects.create(team=run.team, name="Bucket picks", created_by=bob)
    item = add_output(board, image, bob)
    link, token = share_board(board, bob)
    return board, item, link, token, original


def test_a_shared_boards_file_and_thumbnail_come_from_the_bucket(shared_board, s3_bucket):
    board, item, _, token, original = shared_board
    visitor = Client()
    html = visitor.get(f"/b/{token}").content.decode()
    assert f"/b/{token}/thumbs/{item.code}" in html
    assert "X-Amz-Signature" not in html
    thumb = visitor.get(f"/b/{token}/thumbs/{item.code}")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert b"".join(thumb.streaming_content) == s3_bucket.read(item.output.thumb_large)
    response = visitor.get(f"/b/{token}/files/{item.code}")
    assert response.status_code == 302
    assert httpx.get(response["Location"]).content == original


def test_a_revoked_board_link_hands_out_nothing(shared_board, bob_client):
    board, item, link, token, _ = shared_board
    bob_client.post(f"/boards/{board.code}/shares/{link.code}/revoke")
    for path in (f"/b/{token}/files/{item.code}", f"/b/{token}/thumbs/{item.code}"):
        refused = Client().get(path)
        assert refused.status_code == 404 and "Location" not in refused
