"""Share links: who may revoke them, expiry, and the run page's list of links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Run, RunStatus, ShareLink
from tests.runs.results_helpers import share_link as _share

pytestmark = pytest.mark.django_db


# --- Revoking and expiry ----------------------------------------------------------------------


def test_the_creator_revokes_and_the_link_dies_at_once(bob_client, client, run, bob):
    link, token = _share(run, bob)
    assert client.get(f"/s/{token}").status_code == 200
    response = bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.code}/#run-shares"
    link.refresh_from_db()
    assert link.revoked_at and link.revoked_by == bob
    assert client.get(f"/s/{token}").status_code == 404
    image = run.outputs.get(type="imageUrl")
    assert client.get(f"/s/{token}/outputs/{image.position}").status_code == 404
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert "Revoked" in page and "revoked by bob" in page


def test_revoking_over_htmx_returns_the_fragment(bob_client, run, bob):
    link, _ = _share(run, bob)
    response = bob_client.post(
        f"/runs/{run.code}/shares/{link.code}/revoke", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="run-shares"')
    assert "Link revoked" in html
    again = bob_client.post(
        f"/runs/{run.code}/shares/{link.code}/revoke", headers={"HX-Request": "true"}
    )
    assert "already revoked" in again.content.decode()


def test_a_member_cannot_revoke_another_members_link(bob_client, erin_client, run, alice, bob):
    link, _ = _share(run, alice)  # the manager shared bob's run
    assert bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 403
    assert erin_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None
    page = bob_client.get(f"/runs/{run.code}/").content.decode()
    assert f"/shares/{link.code}/revoke" not in page


def test_a_manager_revokes_any_link(alice_client, run, bob):
    link, _ = _share(run, bob)
    assert alice_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_a_viewer_cannot_revoke(carol_client, run, bob):
    link, _ = _share(run, bob)
    assert carol_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 403


def test_another_team_can_neither_see_nor_revoke_the_links(dave_client, run, bob):
    link, _ = _share(run, bob)
    assert dave_client.get(f"/runs/{run.code}/").status_code == 404
    assert dave_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_a_link_of_another_run_is_404(bob_client, run, team_a, bob):
    other = Run.objects.create(
        team=team_a,
        created_by=bob,
        technique_id="t",
        technique_name="T",
        status=RunStatus.COMPLETED,
    )
    link, _ = _share(other, bob)
    assert bob_client.post(f"/runs/{run.code}/shares/{link.code}/revoke").status_code == 404


def test_an_expired_link_is_404(client, run, bob):
    link, token = _share(run, bob, expires="1d")
    assert client.get(f"/s/{token}").status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(f"/s/{token}")
    assert response.status_code == 404
    assert "This link is not available" in response.content.decode()


def test_the_run_page_lists_links_with_their_facts(bob_client, client, run, bob):
    link, token = _share(run, bob, expires="30d", hide_inputs=True)
    client.get(f"/s/{token}")
    client.get(f"/s/{token}")
    html = bob_client.get(f"/runs/{run.code}/").content.decode()
    row = html[html.index('class="share-row') :]
    row = row[: row.index("</li>")]
    assert "Created by bob" in row
    assert "expires" in row
    assert "2 views" in row and "last" in row
    assert "Inputs hidden" in row
    assert "Revoke" in row
