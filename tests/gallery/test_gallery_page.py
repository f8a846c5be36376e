"""The gallery page (/gallery/): the team's kept outputs, newest first, filters, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.models import Favourite
from runs.models import OutputKeepStatus
from tests.gallery.helpers import make_outputs

pytestmark = pytest.mark.django_db


def tile_ids(response) -> list[int]:
    return [tile.output.pk for tile in response.context["tiles"]]


def test_it_requires_login(client):
    response = client.get("/gallery/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_shows_the_teams_kept_outputs_newest_first(team_a, team_b, bob, dave, carol_client):
    mine = make_outputs(team_a, bob, 3)
    make_outputs(team_b, dave, 2)
    pending = make_outputs(team_a, bob, 1)[0]
    pending.keep_status = OutputKeepStatus.PENDING
    pending.save()
    response = carol_client.get("/gallery/")  # a viewer may look
    assert response.status_code == 200
    assert tile_ids(response) == [o.pk for o in reversed(mine)]
    body = response.content.decode()
    assert body.count('class="gthumb gthumb-tile gthumb-image"') == 3  # no thumbnail yet
    assert "The thumbnail is not ready yet." in body
    assert 'aria-current="page">Gallery' in body
    assert 'name="o"' in body and 'form="compare-form"' in body


def test_a_thumbnail_tile_has_its_size_and_alt_text(team_a, bob, bob_client):
    output = make_outputs(team_a, bob, 1)[0]
    output.thumb_status, output.thumb_small, output.width, output.height = (
        "made",
        "t.webp",
        800,
        400,
    )
    output.save()
    body = bob_client.get("/gallery/").content.decode()
    assert 'width="320" height="160"' in body
    assert 'loading="lazy" decoding="async"' in body
    assert f"Image 1 of CCTV Cam, run {output.run.code}" in body


def test_filters_technique_type_member_and_date(team_a, bob, alice, bob_client):
    old = make_outputs(team_a, bob, 2, start=timezone.now() - timedelta(days=10))
    other = make_outputs(team_a, alice, 2, technique=("tech_tarot-pull", "Tarot Pull"))
    texts = make_outputs(team_a, alice, 1, type_="text")

    def ids(query):
        return set(tile_ids(bob_client.get(f"/gallery/?{query}")))

    assert ids("technique=tech_tarot-pull") == {o.pk for o in other}
    assert ids("type=text") == {o.pk for o in texts}
    assert ids("member=bob") == {o.pk for o in old}
    day = (timezone.localdate() - timedelta(days=3)).isoformat()
    assert ids(f"date_to={day}") == {o.pk for o in old}
    assert ids(f"date_from={day}") == {o.pk for o in other + texts}


def test_search_reads_the_runs_text_inputs(team_a, bob, bob_client):
    lemons = make_outputs(team_a, bob, 2, prompt="Lemon grove at dusk")
    make_outputs(team_a, bob, 2, prompt="a blue whale")
    response = bob_client.get("/gallery/?q=  LEMON   grove ")
    assert set(tile_ids(response)) == {o.pk for o in lemons}


def test_search_text_is_filled_when_a_run_is_saved(team_a, bob):
    from runs.models import Run

    run = Run.objects.create(
        team=team_a,
        technique_id="t",
        inputs=[
            {"id": "p", "type": "text", "value": "  Golden\nHour  "},
            {"id": "img", "type": "imageUrl", "value": "https://example.com/x.png"},
            {"id": "n", "type": "number", "value": 3},
        ],
    )
    assert run.search_text == "golden hour"


def test_favourites_only(team_a, bob, alice, bob_client):
    outputs = make_outputs(team_a, bob, 3)
    Favourite.objects.create(user=bob, team=team_a, output=outputs[0])
    Favourite.objects.create(user=alice, team=team_a, output=outputs[1])  # alice's, not bob's
    response = bob_client.get("/gallery/?favourites=on")
    assert tile_ids(response) == [outputs[0].pk]
    assert 'aria-pressed="true"' in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "after=%%%",
        "after=bm9wZQ",
        "after=" + "A" * 500,
        "date_from=yesterday",
        "date_from=2026-12-10&date_to=2026-12-01",
        "type=spreadsheet",
        "technique=" + "x" * 300,
        "q=" + "y" * 300,
        "favourites=maybe",
    ],
)
def test_bad_values_fall_back_cleanly(query, team_a, bob, bob_client):
    make_outputs(team_a, bob, 2)
    response = bob_client.get(f"/gallery/?{query}")
    assert response.status_code == 200


def test_a_bad_cursor_says_so_and_shows_the_first_page(team_a, bob, bob_client):
    outputs = make_outputs(team_a, bob, 2)
    response = bob_client.get("/gallery/?after=garbage")
    assert "not valid any more" in response.content.decode()
    assert tile_ids(response) == [o.pk for o in reversed(outputs)]


def test_a_row_without_its_time_is_left_out_not_a_500(team_a, bob, bob_client):
    outputs = make_outputs(team_a, bob, 2)
    type(outputs[0]).objects.filter(pk=outputs[0].pk).update(created_at=None)
    response = bob_client.get("/gallery/")
    assert response.status_code == 200 and tile_ids(response) == [outputs[1].pk]


def test_members_add_a_tile_to_a_board_viewers_only_look(team_a, bob, bob_client, carol_client):
    output = make_outputs(team_a, bob, 1)[0]
    add = f"/boards/add?output={output.pk}"
    assert add in bob_client.get("/gallery/").content.decode()
    assert add not in carol_client.get("/gallery/").content.decode()  # carol is a viewer
    menu = bob_client.get(add, headers={"HX-Request": "true"})
    assert menu.status_code == 200 and "board" in menu.content.decode().lower()
