"""Board items show the outputs' thumbnails (runs.thumbnails); the public page serves them
through the share link, and the chat apps' preview is the first one."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from boards.models import Board
from boards.services import add_output
from runs.thumbnails import make_thumbnail
from tests.boards.conftest import make_output
from tests.boards.share_helpers import share_board

pytestmark = pytest.mark.django_db


@pytest.fixture
def thumbed(team_a, bob):
    """A board whose only item is a real PNG with its thumbnails made."""
    output = make_output(team_a, bob)
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 120, 10)).save(buffer, "PNG")
    output.file.save("boards-thumbed.png", ContentFile(buffer.getvalue()))
    make_thumbnail(output.pk)
    output.refresh_from_db()
    assert output.has_thumb
    board = Board.objects.create(team=team_a, name="Thumbed", created_by=bob)
    return board, add_output(board, output, bob)


def test_the_board_page_shows_the_large_thumbnail(bob_client, thumbed):
    board, item = thumbed
    html = bob_client.get(f"/boards/{board.code}/").content.decode()
    run_code = item.output.run.code
    assert f'src="/runs/{run_code}/outputs/0/thumb/large?v=' in html
    assert 'class="gthumb"' in html and 'loading="lazy"' in html


def test_the_public_page_serves_thumbnails_through_the_link(client, thumbed, bob):
    board, item = thumbed
    _, token = share_board(board, bob)
    html = client.get(f"/b/{token}").content.decode()
    thumb = f"/b/{token}/thumbs/{item.code}"
    assert f'src="{thumb}"' in html
    assert f'<meta property="og:image" content="http://testserver{thumb}">' in html
    assert item.output.run.code not in html  # the member's alt text names the run; this not
    response = client.get(thumb)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response["X-Robots-Tag"].startswith("noindex")
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_a_thumbnail_of_another_board_is_404(client, thumbed, board, bob):
    _, item = thumbed
    _, token = share_board(board, bob)  # a link to the other board
    assert client.get(f"/b/{token}/thumbs/{item.code}").status_code == 404


def test_a_revoked_link_serves_no_thumbnail(client, thumbed, bob):
    from runs import shares

    board, item = thumbed
    link, token = share_board(board, bob)
    shares.revoke(link, bob)
    assert client.get(f"/b/{token}/thumbs/{item.code}").status_code == 404
