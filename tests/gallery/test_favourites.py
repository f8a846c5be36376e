"""Stars on outputs (POST /gallery/outputs/<id>/favourite): per member, idempotent, CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from gallery.models import Favourite
from runs.models import OutputKeepStatus
from tests.gallery.helpers import make_outputs

pytestmark = pytest.mark.django_db


def star(client, output, starred="1", **extra):
    return client.post(f"/gallery/outputs/{output.pk}/favourite", {"starred": starred}, **extra)


def test_starring_is_per_member_and_idempotent(team_a, bob, alice, bob_client, alice_client):
    output = make_outputs(team_a, bob, 1)[0]
    assert star(bob_client, output).status_code == 302
    assert star(bob_client, output).status_code == 302  # the same POST again: still one star
    assert Favourite.objects.filter(output=output).count() == 1
    assert Favourite.objects.get(output=output).user == bob
    page = alice_client.get("/gallery/").content.decode()
    assert 'aria-pressed="true"' not in page  # bob's star is not alice's
    star(bob_client, output, "0")
    star(bob_client, output, "0")
    assert not Favourite.objects.exists()


def test_htmx_gets_the_button_back(team_a, bob, bob_client):
    output = make_outputs(team_a, bob, 1)[0]
    response = bob_client.post(
        f"/gallery/outputs/{output.pk}/favourite",
        {"starred": "1", "next": "/gallery/?q=pear"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'aria-pressed="true"' in body and 'name="starred" value="0"' in body
    # The form keeps the page it is on, for a submit without htmx later.
    assert 'name="next" value="/gallery/?q=pear"' in body


def test_a_viewer_may_star(team_a, bob, carol, carol_client):
    output = make_outputs(team_a, bob, 1)[0]
    star(carol_client, output)
    assert Favourite.objects.filter(user=carol).count() == 1


def test_it_goes_back_to_the_page_it_came_from_but_never_elsewhere(team_a, bob, bob_client):
    output = make_outputs(team_a, bob, 1)[0]
    response = bob_client.post(
        f"/gallery/outputs/{output.pk}/favourite", {"next": "/gallery/?type=imageUrl"}
    )
    assert response["Location"] == "/gallery/?type=imageUrl"
    response = bob_client.post(
        f"/gallery/outputs/{output.pk}/favourite", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/gallery/"


def test_get_is_refused_and_csrf_is_checked(team_a, bob):
    output = make_outputs(team_a, bob, 1)[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.get(f"/gallery/outputs/{output.pk}/favourite").status_code == 405
    assert star(client, output).status_code == 403
    assert not Favourite.objects.exists()


@pytest.mark.parametrize("output_id", ["abc", "0", "999999", "-1"])
def test_unknown_outputs_are_404(output_id, bob_client):
    response = bob_client.post(f"/gallery/outputs/{output_id}/favourite")
    assert response.status_code == 404


def test_outputs_not_kept_and_other_teams_are_404(team_a, team_b, bob, dave, bob_client):
    theirs = make_outputs(team_b, dave, 1)[0]
    pending = make_outputs(team_a, bob, 1)[0]
    pending.keep_status = OutputKeepStatus.PENDING
    pending.save()
    assert star(bob_client, theirs).status_code == 404
    assert star(bob_client, pending).status_code == 404
    assert not Favourite.objects.exists()
