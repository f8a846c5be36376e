"""Stars on uploads (issue 16, uploads in the gallery): a member's own, beside stars on
outputs, in the favourites filter in gallery order; exactly one item per star."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from gallery.models import Favourite
from tests.gallery.helpers import make_outputs, make_uploads, query_plan
from tests.gallery.test_gallery_uploads import keys, walk

pytestmark = pytest.mark.django_db


def star(client, upload, starred: str = "1", **headers):
    return client.post(
        f"/gallery/uploads/{upload.public_id}/favourite", {"starred": starred}, headers=headers
    )


def test_a_member_stars_and_unstars_an_upload(team_a, bob, alice, bob_client, alice_client):
    (upload,) = make_uploads(team_a, bob, 1)
    assert star(bob_client, upload).status_code == 302
    assert star(bob_client, upload).status_code == 302  # twice: still one star
    fav = Favourite.objects.get()
    assert (fav.user, fav.upload, fav.output, fav.team) == (bob, upload, None, team_a)
    assert fav.output_created_at == upload.created_at
    tile = bob_client.get("/gallery/").context["tiles"][0]
    assert tile.favourite is True
    assert alice_client.get("/gallery/").context["tiles"][0].favourite is False  # bob's own
    part = star(bob_client, upload, "0", **{"HX-Request": "true"})
    body = part.content.decode()
    assert "<html" not in body and 'aria-pressed="false"' in body
    assert f"/gallery/uploads/{upload.public_id}/favourite" in body
    assert not Favourite.objects.exists()


def test_favourites_only_pages_both_kinds_in_gallery_order(team_a, bob, bob_client):
    start = timezone.now() - timedelta(hours=3)
    outputs = make_outputs(team_a, bob, 60, start=start)
    uploads = make_uploads(team_a, bob, 60, start=start)  # the same seconds: ties everywhere
    for output in outputs[::2]:
        bob_client.post(f"/gallery/outputs/{output.pk}/favourite", {"starred": "1"})
    for upload in uploads[1::2]:
        star(bob_client, upload)
    rows = [(o.created_at, "o", o.pk) for o in outputs[::2]]
    rows += [(u.created_at, "u", u.pk) for u in uploads[1::2]]
    expected = [f"{kind}{pk}" for _, kind, pk in sorted(rows, reverse=True)]
    assert walk(bob_client, "/gallery/?favourites=on") == expected  # 60 stars: two pages
    # Unstarred items of either kind never appear.
    assert f"u{uploads[0].pk}" not in keys(bob_client.get("/gallery/?favourites=on"))


def test_a_star_is_on_exactly_one_item(team_a, bob):
    (output,) = make_outputs(team_a, bob, 1)
    (upload,) = make_uploads(team_a, bob, 1)
    for fields in ({}, {"output": output, "upload": upload}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Favourite.objects.create(
                user=bob, team=team_a, output_created_at=output.created_at, **fields
            )


def test_another_members_stars_on_the_same_items_change_nothing(
    team_a, bob, alice, bob_client, alice_client
):
    start = timezone.now() - timedelta(hours=3)
    outputs = make_outputs(team_a, bob, 30, start=start)
    uploads = make_uploads(team_a, bob, 30, start=start)
    for client in (bob_client, alice_client):  # both star every item: one star each
        for output in outputs:
            client.post(f"/gallery/outputs/{output.pk}/favourite", {"starred": "1"})
        for upload in uploads:
            star(client, upload)
    rows = [(o.created_at, "o", o.pk) for o in outputs]
    rows += [(u.created_at, "u", u.pk) for u in uploads]
    expected = [f"{kind}{pk}" for _, kind, pk in sorted(rows, reverse=True)]
    assert walk(bob_client, "/gallery/?favourites=on") == expected


def test_favourite_uploads_pages_walk_the_members_stars_on_their_index(team_a, bob, alice):

    from gallery import listing

    uploads = make_uploads(team_a, bob, 100)
    for user in (bob, alice):
        Favourite.objects.bulk_create(
            [
                Favourite(user=user, team=team_a, upload=u, output_created_at=u.created_at)
                for u in uploads
            ]
        )
    form = listing.filter_form(listing.QueryDict("favourites=on"), team_a)
    after = listing.decode_cursor(listing.encode_cursor(uploads[50]))
    queryset = listing.keyset(
        listing.uploads_filtered(team_a, form), after, bob, team_a, kind="u", by_favourite=True
    )[:49]
    assert [u.pk for u in queryset] == [u.pk for u in reversed(uploads[:50])][:49]
    sql, params = queryset.query.sql_with_params()
    plan = query_plan(sql, params)
    assert "favourite_upload_gallery" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan
