"""teams.access_cache: memberships kept per process, stale at once after any change."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from teams import access_cache
from teams.models import FloraConnection, Membership, Role, Team
from teams.services import mark_failing

pytestmark = pytest.mark.django_db
PAGE = "/runs/"  # the history: any member's page, 404 without a team


def _request(client):
    """(response, the SQL it ran)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAGE)
    return response, [q["sql"] for q in queries.captured_queries]


def _membership_queries(sql: list[str]) -> list[str]:
    # The middleware's (by user); a page may read a team's members for itself.
    return [q for q in sql if 'WHERE "teams_membership"."user_id"' in q]


def test_the_second_request_reads_no_membership(bob_client):
    first, sql = _request(bob_client)
    assert first.status_code == 200
    assert len(_membership_queries(sql)) == 1
    second, sql = _request(bob_client)
    assert second.status_code == 200
    assert _membership_queries(sql) == []
    assert not [q for q in sql if "teams_team" in q or "teams_floraconnection" in q]
    # The same answer as the database's: the team, its connection, the role.
    membership = second.wsgi_request.membership
    assert membership.role == Role.MEMBER
    assert membership.team.slug == "acme"
    workspaces = first.wsgi_request.team.connection.workspace_ids
    assert membership.team.connection.workspace_ids == workspaces
    assert second.wsgi_request.user_memberships[0].team_id == membership.team_id


def test_a_removed_member_loses_access_at_once(bob_client, bob):
    assert _request(bob_client)[0].status_code == 200
    Membership.objects.filter(user=bob).get().delete()
    response, sql = _request(bob_client)
    assert response.status_code == 404
    assert response.wsgi_request.membership is None
    assert len(_membership_queries(sql)) == 1


def test_a_new_role_applies_at_once(bob_client, bob):
    assert _request(bob_client)[0].wsgi_request.membership.role == Role.MEMBER
    membership = Membership.objects.get(user=bob)
    membership.role = Role.VIEWER
    membership.save()
    assert _request(bob_client)[0].wsgi_request.membership.role == Role.VIEWER


def test_a_member_added_to_a_team_sees_it_at_once(bob_client, bob, team_b):
    assert len(_request(bob_client)[0].wsgi_request.user_memberships) == 1
    Membership.objects.create(user=bob, team=team_b, role=Role.VIEWER)
    assert len(_request(bob_client)[0].wsgi_request.user_memberships) == 2


def test_team_and_connection_changes_apply_at_once(bob_client, team_a):
    _request(bob_client)
    team = Team.objects.get(pk=team_a.pk)
    team.name = "Acme Renamed"
    team.save()
    assert _request(bob_client)[0].wsgi_request.team.name == "Acme Renamed"

    conn = FloraConnection.objects.get(team=team_a)
    conn.workspace_ids = ["ws_other"]
    conn.save()
    assert _request(bob_client)[0].wsgi_request.team.connection.workspace_ids == ["ws_other"]


def test_a_connection_marked_failing_by_update_applies_at_once(bob_client, team_a):
    # teams.services._record is a queryset update(): no signal, so it says so itself.
    assert _request(bob_client)[0].wsgi_request.team.connection.status != "failing"
    mark_failing(FloraConnection.objects.get(team=team_a), "The API key was refused.")
    assert _request(bob_client)[0].wsgi_request.team.connection.status == "failing"


def test_another_processs_change_is_seen(bob_client):
    # Another process renewed the token (its change): this process's entries are stale.
    _request(bob_client)
    cache.set(access_cache.TOKEN_KEY, "renewed elsewhere", timeout=None)
    assert len(_membership_queries(_request(bob_client)[1])) == 1


def test_the_token_is_renewed_again_after_the_commit(bob, django_capture_on_commit_callbacks):
    access_cache.memberships_of(bob)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Membership.objects.filter(user=bob).update(role=Role.VIEWER)
        access_cache.changed()
        during = cache.get(access_cache.TOKEN_KEY)
    # A request that read the old rows before the commit kept them under `during`, at worst.
    assert callbacks
    assert cache.get(access_cache.TOKEN_KEY) != during
    assert access_cache.memberships_of(bob)[0].role == Role.VIEWER


def test_each_request_gets_its_own_instances(bob_client):
    first = _request(bob_client)[0].wsgi_request
    first.team.name = "changed by a view, never saved"
    first.team.connection.workspace_ids.append("ws_mutated")
    second = _request(bob_client)[0].wsgi_request
    assert second.team.name == "Acme"
    assert "ws_mutated" not in second.team.connection.workspace_ids


def test_a_team_without_connection_is_kept_as_such(client, django_user_model):
    user = django_user_model.objects.create_user("nocon")
    team = Team.objects.create(name="Bare", slug="bare")
    Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    client.force_login(user)
    _request(client)
    request = _request(client)[0].wsgi_request
    with pytest.raises(FloraConnection.DoesNotExist):
        request.team.connection  # noqa: B018 - as select_related leaves it: no query, an error


def test_without_a_cache_every_request_reads_the_rows(bob_client, monkeypatch):
    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    monkeypatch.setattr(access_cache, "cache", Down())
    for _ in range(2):
        response, sql = _request(bob_client)
        assert response.status_code == 200
        assert len(_membership_queries(sql)) == 1


def test_disabled_reads_every_time(bob_client, monkeypatch):
    # bench/bench_urls.py's control (BENCH_NO_MEMBERSHIP_CACHE) turns it off like this.
    monkeypatch.setattr(access_cache, "ENABLED", False)
    _request(bob_client)
    assert len(_membership_queries(_request(bob_client)[1])) == 1


def test_a_deleted_team_or_user_takes_the_access_away(bob_client, bob, team_a):
    _request(bob_client)
    team_a.delete()  # cascades to the memberships: their post_delete renews the token
    assert _request(bob_client)[0].status_code == 404


def test_logout_and_password_change_still_end_sessions(bob, client):
    client.force_login(bob)
    other = type(client)()
    other.force_login(bob)
    assert _request(client)[0].status_code == 200
    assert _request(other)[0].status_code == 200
    # A password change ends every other session (Django's session auth hash check).
    bob.set_password("a new long passphrase 1")
    bob.save()
    assert _request(other)[0].status_code == 302
    # Logging out ends this one.
    client.force_login(bob)
    assert _request(client)[0].status_code == 200
    client.post("/accounts/logout/")
    assert _request(client)[0].status_code == 302
