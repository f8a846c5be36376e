"""Compare (/gallery/compare?o=..): 2 to 4 outputs side by side, or a clear message."""

from __future__ import annotations

import pytest

from tests.gallery.helpers import make_outputs

pytestmark = pytest.mark.django_db


def compare(client, *ids):
    query = "&".join(f"o={i}" for i in ids)
    return client.get(f"/gallery/compare?{query}")


def test_two_images_side_by_side_with_their_inputs_and_a_slider(team_a, bob, carol_client):
    first, second = make_outputs(team_a, bob, 2, prompt="lemon")
    response = compare(carol_client, second.pk, first.pk)
    body = response.content.decode()
    assert response.status_code == 200
    assert [c.tile.output.pk for c in response.context["columns"]] == [second.pk, first.pk]
    assert f"/runs/{first.run.code}/" in body and f"/runs/{second.run.code}/" in body
    assert "lemon 0" in body and "lemon 1" in body and "CCTV Cam" in body
    assert "data-ba-range" in body and "data-zoom" in body and "js/compare.js" in body
    assert f"/runs/{first.run.code}/outputs/0" in body


def test_three_outputs_have_no_slider(team_a, bob, bob_client):
    outputs = make_outputs(team_a, bob, 3)
    response = compare(bob_client, *(o.pk for o in outputs))
    assert response.status_code == 200 and "data-ba-range" not in response.content.decode()
    assert "compare-3" in response.content.decode()


@pytest.mark.parametrize(
    ("count", "message"), [(0, "at least two"), (1, "at least two"), (5, "At most 4")]
)
def test_too_few_or_too_many(count, message, team_a, bob, bob_client):
    outputs = make_outputs(team_a, bob, 5)
    response = compare(bob_client, *(o.pk for o in outputs[:count]))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_repeated_id_counts_once(team_a, bob, bob_client):
    output = make_outputs(team_a, bob, 1)[0]
    response = compare(bob_client, output.pk, output.pk)
    assert response.status_code == 400 and "at least two" in response.content.decode()


def test_another_teams_output_shows_none(team_a, team_b, bob, dave, bob_client):
    mine = make_outputs(team_a, bob, 1)[0]
    theirs = make_outputs(team_b, dave, 1)[0]
    response = compare(bob_client, mine.pk, theirs.pk)
    assert response.status_code == 404
    assert "not in this team" in response.content.decode()
    assert mine.run.code not in response.content.decode()


def test_text_outputs_are_not_compared(team_a, bob, bob_client):
    image = make_outputs(team_a, bob, 1)[0]
    text = make_outputs(team_a, bob, 1, type_="text")[0]
    response = compare(bob_client, image.pk, text.pk)
    assert response.status_code == 400
    assert "Text outputs cannot be compared" in response.content.decode()


def test_garbage_ids_are_a_message_not_a_500(bob_client):
    response = bob_client.get("/gallery/compare?o=1&o=lemon")
    assert response.status_code == 400 and "not a number" in response.content.decode()
