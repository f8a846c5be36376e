from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from teams import permissions
from teams.access import get_for_team_or_404, require_membership, require_role
from teams.models import FloraConnection, Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(alice, bob, carol, dave, team_a, team_b):
    """Memberships by name: manager, member, viewer of A; dave of B."""
    return {user.username: Membership.objects.get(user=user) for user in (alice, bob, carol, dave)}


def test_only_members_and_managers_start_runs(cast):
    assert not permissions.can_start_runs(cast["carol"])
    assert permissions.can_start_runs(cast["bob"])
    assert permissions.can_start_runs(cast["alice"])
    assert not permissions.can_start_runs(None)


def test_members_share_their_own_runs_managers_any(cast, alice, bob, carol):
    assert permissions.can_share(cast["bob"], bob)
    assert permissions.can_share(cast["bob"], bob.pk)
    assert not permissions.can_share(cast["bob"], alice)
    assert not permissions.can_share(cast["carol"], carol)  # a viewer shares nothing
    assert permissions.can_share(cast["alice"], bob)
    assert not permissions.can_share(cast["bob"], None)
    assert not permissions.can_share(None, bob)


def test_a_member_cannot_revoke_another_members_share_a_manager_can(cast, alice, bob):
    assert not permissions.can_revoke_share(cast["bob"], alice)
    assert permissions.can_revoke_share(cast["bob"], bob)
    assert permissions.can_revoke_share(cast["alice"], bob)
    assert not permissions.can_revoke_share(cast["carol"], bob)


def test_only_managers_manage_all_shares_and_see_spend(cast):
    assert [permissions.can_manage_shares(cast[n]) for n in ("carol", "bob", "alice")] == [
        False,
        False,
        True,
    ]
    assert [permissions.can_see_spend(cast[n]) for n in ("carol", "bob", "alice")] == [
        False,
        False,
        True,
    ]
    assert not permissions.can_manage_shares(None) and not permissions.can_see_spend(None)
    assert permissions.can_view(cast["carol"]) and not permissions.can_view(None)


def _request(membership: Membership | None):
    request = RequestFactory().get("/")
    request.user = membership.user if membership else AnonymousUser()
    request.membership = membership
    request.team = membership.team if membership else None
    return request


def test_require_membership_is_404_without_a_team(cast):
    assert require_membership(_request(cast["carol"])) == cast["carol"]
    with pytest.raises(Http404):
        require_membership(_request(None))


def test_require_role_is_403_below_the_role(cast):
    assert require_role(_request(cast["bob"]), Role.MEMBER) == cast["bob"]
    with pytest.raises(PermissionDenied):
        require_role(_request(cast["carol"]), Role.MEMBER)
    with pytest.raises(PermissionDenied):
        require_role(_request(cast["bob"]), "manager")
    with pytest.raises(Http404):
        require_role(_request(None), Role.VIEWER)
    with pytest.raises(ValueError):
        require_role(_request(cast["alice"]), "owner")


def test_get_for_team_or_404_hides_other_teams_objects(cast, team_a, team_b):
    request = _request(cast["dave"])
    assert get_for_team_or_404(request, FloraConnection, pk=team_b.connection.pk)
    with pytest.raises(Http404):
        get_for_team_or_404(request, FloraConnection.objects.all(), pk=team_a.connection.pk)
    with pytest.raises(Http404):
        get_for_team_or_404(request, FloraConnection, pk="not-a-number")
