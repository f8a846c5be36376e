"""The public board page: what it shows and hides, its headers, previews, files and limits."""

from __future__ import annotations

import hashlib

import pytest

from boards.models import BoardComment, BoardItem, Review
from tests.boards.conftest import PNG, make_output
from tests.boards.share_helpers import share_board

pytestmark = pytest.mark.django_db


def test_it_shows_the_board_without_login(client, board, bob):
    _, token = share_board(board, bob)
    response = client.get(f"/b/{token}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Spring picks" in html and "Poster Maker" in html and "Tarot Pull" in html
    for item in board.items.all():
        assert f"/b/{token}/files/{item.code}" in html


def test_it_hides_every_internal(client, board, bob, alice, team_a, image_output):
    item = board.items.get(output=image_output)
    BoardItem.objects.filter(pk=item.pk).update(
        note="Internal note", review=Review.APPROVED, reviewed_by=alice
    )
    BoardComment.objects.create(item=item, author=alice, body="Secret comment")
    _, token = share_board(board, bob)
    html = client.get(f"/b/{token}").content.decode()
    for internal in [
        "Secret comment",
        "Internal note",
        "alice",
        "bob",
        "Acme",
        team_a.slug,
        image_output.run.code,
        board.code,
        "secret-run-id",  # FLORA's URL of the output
        "cdn.flora.example",
        "/runs/",
        "/boards/",
        "Approved",
        "Approve",
        "A lemon at dawn",  # the run's inputs
    ]:
        assert internal not in html, internal


def test_notes_show_when_the_link_says_so(client, board, bob):
    BoardItem.objects.filter(board=board).update(note="Hero banner")
    _, token = share_board(board, bob, show_notes=True)
    assert "Hero banner" in client.get(f"/b/{token}").content.decode()


def test_approved_only_shows_the_approved_items(client, board, bob, image_output):
    BoardItem.objects.filter(board=board, output=image_output).update(review=Review.APPROVED)
    _, token = share_board(board, bob, approved_only=True)
    html = client.get(f"/b/{token}").content.decode()
    assert "Poster Maker" in html and "Tarot Pull" not in html
    rejected = board.items.exclude(output=image_output).get()
    assert client.get(f"/b/{token}/files/{rejected.code}").status_code == 404


def test_it_is_noindex_and_sends_no_referrer(client, board, bob):
    _, token = share_board(board, bob)
    response = client.get(f"/b/{token}")
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    assert (
        '<meta name="robots" content="noindex, nofollow, noarchive">' in response.content.decode()
    )


def test_it_has_previews_for_chat_apps(client, board, bob, image_output):
    _, token = share_board(board, bob)
    html = client.get(f"/b/{token}").content.decode()
    item = board.items.get(output=image_output)
    assert '<meta property="og:title" content="Spring picks">' in html
    assert '<meta property="og:description" content="2 items">' in html
    assert f'<meta property="og:url" content="http://testserver/b/{token}">' in html
    # The first image, through the share link's own URL.
    assert (
        f'<meta property="og:image" content="http://testserver/b/{token}/files/{item.code}">'
        in html
    )
    assert 'name="twitter:card" content="summary_large_image"' in html


def test_a_board_of_text_has_no_image_preview(client, team_a, bob, text_output):
    from boards.models import Board
    from boards.services import add_output

    board = Board.objects.create(team=team_a, name="Words", created_by=bob)
    add_output(board, text_output, bob)
    _, token = share_board(board, bob)
    html = client.get(f"/b/{token}").content.decode()
    assert "og:image" not in html and 'content="summary"' in html


def test_its_files_are_the_kept_copies_with_safe_names(client, board, bob, image_output):
    _, token = share_board(board, bob)
    item = board.items.get(output=image_output)
    response = client.get(f"/b/{token}/files/{item.code}?download=1")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(PNG).hexdigest()
    assert 'filename="001-poster-maker-1.png"' in response["Content-Disposition"]
    assert response["X-Robots-Tag"].startswith("noindex")


def test_a_link_shows_only_its_own_board(client, board, bob, team_a):
    from boards.models import Board
    from boards.services import add_output

    other = Board.objects.create(team=team_a, name="Unshared", created_by=bob)
    elsewhere = add_output(other, make_output(team_a, bob, technique="Hidden"), bob)
    _, token = share_board(board, bob)
    assert client.get(f"/b/{token}/files/{elsewhere.code}").status_code == 404
    assert "Unshared" not in client.get(f"/b/{token}").content.decode()


def test_an_unknown_token_is_the_same_404(client, board, bob):
    response = client.get("/b/" + "x" * 32)
    assert response.status_code == 404
    assert "This link is not available" in response.content.decode()
    assert client.get("/b/short").status_code == 404


def test_views_are_counted(client, board, bob):
    link, token = share_board(board, bob)
    client.get(f"/b/{token}")
    client.get(f"/b/{token}")
    link.refresh_from_db()
    assert link.views == 2 and link.last_viewed_at is not None


def test_the_public_page_is_rate_limited(client, board, bob, settings):
    settings.FLORASITE_SHARE_VIEWS_PER_MINUTE = 2
    _, token = share_board(board, bob)
    assert [client.get(f"/b/{token}").status_code for _ in range(3)] == [200, 200, 429]
    response = client.get(f"/b/{token}")
    assert response["Retry-After"] and response["X-Robots-Tag"].startswith("noindex")
