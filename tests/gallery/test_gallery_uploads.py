"""Uploads in the gallery (issue 16): one order with kept outputs, paging across both kinds,
the filters that apply to uploads, and another team's uploads never shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gallery import listing
from gallery.upload_items import UploadTile
from tests.gallery.helpers import make_outputs, make_uploads
from uploads.models import Upload

pytestmark = pytest.mark.django_db


def keys(response) -> list[str]:
    """Each tile as "o<pk>" or "u<pk>", in page order."""
    return [
        f"u{t.upload.pk}" if isinstance(t, UploadTile) else f"o{t.output.pk}"
        for t in response.context["tiles"]
    ]


def next_link(body: str) -> str | None:
    match = re.search(r'<a class="button" href="([^"]+)">Next page</a>', body)
    return match.group(1).replace("&amp;", "&") if match else None


def walk(client, url: str, between=None) -> list[str]:
    seen: list[str] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += keys(response)
        url = next_link(response.content.decode())
        if url and between:
            between()
    return seen


def test_uploads_appear_among_outputs_newest_first(team_a, bob, bob_client):
    start = timezone.now() - timedelta(hours=1)
    outputs = make_outputs(team_a, bob, 3, start=start)  # start + 0, 1, 2 s
    uploads = make_uploads(team_a, bob, 2, start=start + timedelta(milliseconds=500))
    response = bob_client.get("/gallery/")
    assert keys(response) == [
        f"o{outputs[2].pk}",
        f"u{uploads[1].pk}",
        f"o{outputs[1].pk}",
        f"u{uploads[0].pk}",
        f"o{outputs[0].pk}",
    ]
    body = response.content.decode()
    tile = body[body.index(f'id="tile-u{uploads[1].pk}"') :]
    tile = tile[: tile.index("</li>")]
    assert f'href="/uploads/{uploads[1].public_id}/file"' in tile
    assert "holiday-1.png" in tile and "bob" in tile and ">Upload</span>" in tile
    assert "The thumbnail is not ready yet." in tile  # no thumbnail made for these rows
    assert "Every kept output and upload" in body


@pytest.mark.parametrize(
    "n_outputs, n_uploads",
    [(30, 30), (5, 60), (60, 5), (49, 48)],  # the page ends on an output, on an upload, ...
)
def test_paging_has_no_gap_or_repeat_across_kinds_with_ties(
    n_outputs, n_uploads, team_a, bob, bob_client
):
    # Every row at one of four moments: ties within a kind and across kinds everywhere.
    base = timezone.now() - timedelta(hours=2)
    moments = [base + timedelta(seconds=s) for s in (0, 1, 2, 3)]
    outputs = make_outputs(team_a, bob, n_outputs, start=base)
    uploads = make_uploads(team_a, bob, n_uploads, start=base)
    for i, output in enumerate(outputs):
        output.created_at = moments[i % 4]
        output.save(update_fields=["created_at"])
    Upload.objects.bulk_update(
        [setattr(u, "created_at", moments[(i * 3) % 4]) or u for i, u in enumerate(uploads)],
        ["created_at"],
    )
    rows = [(o.created_at, "o", o.pk) for o in outputs]
    rows += [(u.created_at, "u", u.pk) for u in Upload.objects.filter(team=team_a)]
    expected = [f"{kind}{pk}" for _, kind, pk in sorted(rows, reverse=True)]

    arrivals = iter(range(100))

    def newcomers() -> None:
        # Newer than everything: they sort before the cursor, never into the pages walked.
        step = next(arrivals)
        make_outputs(team_a, bob, 1, start=timezone.now() + timedelta(minutes=step))
        make_uploads(team_a, bob, 1, name=f"new{step}", start=timezone.now())

    seen = walk(bob_client, "/gallery/", newcomers)
    assert len(seen) == len(set(seen)) == n_outputs + n_uploads
    assert seen == expected


def test_the_cursor_names_the_kind_of_the_last_tile(team_a, bob):
    upload = make_uploads(team_a, bob, 1)[0]
    moment, kind, pk = listing.decode_cursor(listing.encode_cursor(upload))
    assert (moment, kind, pk) == (upload.created_at, "u", upload.pk)
    assert listing.decode_cursor("ei4xLjE") is None  # "z.1.1": a kind we do not know


def test_filters_that_are_about_an_upload_apply_to_it(team_a, bob, alice, bob_client):
    start = timezone.now() - timedelta(days=3)
    make_outputs(team_a, bob, 2, start=start)
    bobs = make_uploads(team_a, bob, 2, start=start, name="beach")
    alices = make_uploads(team_a, alice, 1, start=start, kind="video", name="boat")
    old = make_uploads(team_a, bob, 1, start=start - timedelta(days=30), name="winter")

    def uploads_shown(query: str) -> set[int]:
        tiles = bob_client.get(f"/gallery/?{query}").context["tiles"]
        return {t.upload.pk for t in tiles if isinstance(t, UploadTile)}

    everything = {u.pk for u in [*bobs, *alices, *old]}
    assert uploads_shown("") == everything
    assert uploads_shown("type=imageUrl") == {u.pk for u in [*bobs, *old]}
    assert uploads_shown("type=videoUrl") == {alices[0].pk}
    assert uploads_shown("type=text") == set()  # no upload is a text
    assert uploads_shown("member=alice") == {alices[0].pk}
    assert uploads_shown("q=BEACH") == {u.pk for u in bobs}  # the file name, any case
    day = (start - timedelta(days=1)).date().isoformat()
    assert uploads_shown(f"date_from={day}") == {u.pk for u in [*bobs, *alices]}
    # About runs: a technique leaves uploads out.
    assert uploads_shown("technique=tech_cctv-cam") == set()
    assert uploads_shown("favourites=on") == set()  # bob starred none yet


def test_another_teams_uploads_never_appear(team_a, team_b, bob, dave, bob_client):
    mine = make_uploads(team_a, bob, 3)
    theirs = make_uploads(team_b, dave, 60, name="secret")
    seen = walk(bob_client, "/gallery/")
    assert seen == [f"u{u.pk}" for u in reversed(mine)]
    body = bob_client.get("/gallery/?q=secret").content.decode()
    assert "secret-" not in body
    # A crafted cursor naming their upload pages through bob's own only.
    after = listing.encode_cursor(theirs[-1])
    assert {k for k in keys(bob_client.get(f"/gallery/?after={after}"))} <= {
        f"u{u.pk}" for u in mine
    }
