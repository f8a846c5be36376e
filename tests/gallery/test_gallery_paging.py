"""Keyset pages of the gallery: no gap, no repeat, a real Next link, constant queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gallery import listing
from tests.gallery.helpers import make_outputs, make_uploads, query_plan

pytestmark = pytest.mark.django_db


def next_link(body: str) -> str | None:
    match = re.search(r'<a class="button" href="([^"]+)">Next page</a>', body)
    return match.group(1).replace("&amp;", "&") if match else None


def tile_ids(response) -> list[int]:
    return [tile.output.pk for tile in response.context["tiles"]]


def test_paging_visits_every_output_once_even_when_new_ones_arrive(team_a, bob, bob_client):
    outputs = make_outputs(team_a, bob, listing.PAGE_SIZE * 2 + 5)
    seen: list[int] = []
    url: str | None = "/gallery/"
    pages = 0
    while url:
        response = bob_client.get(url)
        seen += tile_ids(response)
        # Between two pages, new outputs arrive (they sort before the cursor).
        make_outputs(team_a, bob, 3, start=timezone.now() + timedelta(minutes=pages + 1))
        url = next_link(response.content.decode())
        pages += 1
    assert pages == 3
    assert seen == [o.pk for o in reversed(outputs)]


def test_ties_on_the_time_are_broken_by_id(team_a, bob, bob_client):
    outputs = make_outputs(team_a, bob, listing.PAGE_SIZE + 10)
    moment = timezone.now() - timedelta(hours=1)
    for output in outputs:
        output.created_at = moment
    type(outputs[0]).objects.bulk_update(outputs, ["created_at"])
    first = bob_client.get("/gallery/")
    second = bob_client.get(next_link(first.content.decode()))
    ids = tile_ids(first) + tile_ids(second)
    assert ids == sorted((o.pk for o in outputs), reverse=True)


def test_the_next_link_keeps_the_filters_and_htmx_gets_only_the_tiles(team_a, bob, bob_client):
    make_outputs(team_a, bob, listing.PAGE_SIZE + 3, prompt="pear")
    first = bob_client.get("/gallery/?q=pear&type=imageUrl")
    link = next_link(first.content.decode())
    assert "q=pear" in link and "type=imageUrl" in link and "after=" in link
    assert 'hx-trigger="revealed"' in first.content.decode()
    part = bob_client.get(link, headers={"HX-Request": "true"})
    body = part.content.decode()
    assert "<html" not in body and body.count('class="gtile ') == 3
    assert next_link(body) is None


def test_the_cursor_round_trips_and_refuses_other_shapes(team_a, bob):
    output = make_outputs(team_a, bob, 1)[0]
    moment, kind, pk = listing.decode_cursor(listing.encode_cursor(output))
    assert pk == output.pk and moment == output.created_at and kind == "o"
    for bad in ["", "x", "eC4xLjI", "by4x", "by5hYmMuMQ", "by45OTk5OTk5OTk5OTk5OTk5OTkuMQ"]:
        assert listing.decode_cursor(bad) is None


@pytest.mark.parametrize("with_uploads", [False, True])
@pytest.mark.parametrize("deep", [False, True])
def test_the_page_costs_the_same_few_queries_at_10k_outputs(
    deep, with_uploads, team_a, bob, bob_client, django_assert_max_num_queries
):
    outputs = make_outputs(team_a, bob, 10_000)
    if with_uploads:  # interleaved with the outputs: every page merges both kinds
        make_uploads(team_a, bob, 2_000, start=outputs[0].created_at, step=timedelta(seconds=5))
    url = "/gallery/"
    if deep:
        url += f"?after={listing.encode_cursor(outputs[len(outputs) // 2])}"
    bob_client.get(url)  # warm the per-team facet cache, as any second page view finds it
    with django_assert_max_num_queries(9) as captured:
        response = bob_client.get(url)
    tiles = response.context["tiles"]
    assert len(tiles) == listing.PAGE_SIZE
    assert any(getattr(t, "is_upload", False) for t in tiles) == with_uploads
    page_queries = [q["sql"] for q in captured.captured_queries if "LIMIT 49" in q["sql"]]
    assert len(page_queries) == 2 and not any("OFFSET" in sql for sql in page_queries)


def test_the_page_query_uses_the_gallery_index(team_a, bob):

    make_outputs(team_a, bob, 200)
    outputs = listing.filtered(team_a, listing.filter_form(listing.QueryDict(""), team_a), bob)
    sql, params = outputs.order_by("-created_at", "-id")[:49].query.sql_with_params()
    plan = query_plan(sql, params)
    assert "output_gallery" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan  # the index gives the order
    make_uploads(team_a, bob, 200)
    form = listing.filter_form(listing.QueryDict(""), team_a)
    uploads = listing.uploads_filtered(team_a, form)
    sql, params = uploads.order_by("-created_at", "-id")[:49].query.sql_with_params()
    plan = query_plan(sql, params)
    assert "upload_gallery" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan


def test_favourites_pages_walk_the_members_stars_in_gallery_order(team_a, bob, bob_client):

    from gallery.models import Favourite

    outputs = make_outputs(team_a, bob, listing.PAGE_SIZE * 3)
    starred = outputs[::2]  # every other one: more than a page of stars
    Favourite.objects.bulk_create(
        [
            Favourite(user=bob, team=team_a, output=o, output_created_at=o.created_at)
            for o in starred
        ]
    )
    seen: list[int] = []
    url: str | None = "/gallery/?favourites=on"
    while url:
        response = bob_client.get(url)
        seen += tile_ids(response)
        url = next_link(response.content.decode())
    assert seen == [o.pk for o in reversed(starred)]
    form = listing.filter_form(listing.QueryDict("favourites=on"), team_a)
    after = listing.decode_cursor(listing.encode_cursor(starred[-5]))  # a second page
    queryset = listing.keyset(
        listing.filtered(team_a, form, bob), after, bob, team_a, kind="o", by_favourite=True
    )[:49]
    sql, params = queryset.query.sql_with_params()
    plan = query_plan(sql, params)
    assert "favourite_gallery" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan
