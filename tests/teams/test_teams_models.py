from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import ValidationError

from teams import crypto
from teams.models import (
    FloraConnection,
    Membership,
    Role,
    Team,
    role_rank,
    validate_base_url,
    validate_workspace_ids,
)

pytestmark = pytest.mark.django_db


def test_roles_are_ordered_viewer_member_manager(alice, bob, carol, team_a):
    manager = Membership.objects.get(user=alice, team=team_a)
    member = Membership.objects.get(user=bob, team=team_a)
    viewer = Membership.objects.get(user=carol, team=team_a)
    assert [m.has_role(Role.MEMBER) for m in (viewer, member, manager)] == [False, True, True]
    assert [m.has_role(Role.MANAGER) for m in (viewer, member, manager)] == [False, False, True]
    assert all(m.has_role(Role.VIEWER) for m in (viewer, member, manager))


def test_unknown_role_name_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown role 'admin'"):
        role_rank("admin")


def test_a_user_can_belong_to_several_teams_once_each(bob, team_a, team_b):
    Membership.objects.create(user=bob, team=team_b, role=Role.VIEWER)
    assert Membership.objects.filter(user=bob).count() == 2
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError, backend-specific subclass
        Membership.objects.create(user=bob, team=team_b, role=Role.MEMBER)


def test_teams_get_distinct_random_webhook_tokens():
    first = Team.objects.create(name="One", slug="one")
    second = Team.objects.create(name="Two", slug="two")
    assert len(first.webhook_token) >= 40
    assert first.webhook_token != second.webhook_token


def test_connection_exposes_workspaces_and_default(team_a):
    connection = team_a.connection
    assert connection.workspace_ids == ["ws_demo", "ws_brand"]
    assert connection.default_workspace_id == "ws_demo"
    assert connection.is_sandbox
    assert connection.api_key_hint == "sk_sandbox_…demo"
    assert connection.decrypt_api_key() == "sk_sandbox_demo"
    assert connection.decrypt_webhook_secret() == "whsec_sandbox_demo"


def test_connection_without_webhook_secret_decrypts_to_empty(team_b):
    assert team_b.connection.decrypt_webhook_secret() == ""


def test_default_workspace_must_be_one_of_the_workspaces(team_a):
    connection = team_a.connection
    connection.default_workspace_id = "ws_other"
    with pytest.raises(ValidationError, match="default workspace"):
        connection.full_clean()


@pytest.mark.parametrize("bad", ["demo", "ws_", "ws demo", "WS_demo", "ws_a/b"])
def test_workspace_ids_are_checked(bad):
    with pytest.raises(ValidationError, match="not a FLORA workspace id"):
        validate_workspace_ids([bad])


def test_workspace_ids_are_deduplicated_in_order():
    assert validate_workspace_ids(["ws_b", " ws_a", "ws_b"]) == ["ws_b", "ws_a"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://flora.example/api",
        "app.flora.ai/api/v1",
        "https://u:p@flora.example/api",
        "https://x/?a=1",
    ],
)
def test_base_url_must_be_a_plain_http_url(url):
    with pytest.raises(ValidationError):
        validate_base_url(url)


def test_base_url_may_be_an_internal_host():
    validate_base_url("http://testserver/sandbox/api/v1")
    validate_base_url("https://flora-proxy:8443/api/v1")


@pytest.mark.parametrize(
    ("secret", "hint"),
    [
        ("sk_live_0123456789abcdefghijklmnopqrWXYZ", "sk_live_…WXYZ"),
        ("whsec_0123456789abcdefghijklmnop1234", "whsec_…1234"),
        ("sk_live_shortkey1234", "sk_live_…1234"),
        # The sandbox's public keys differ in their last four: told apart.
        ("sk_sandbox_demo", "sk_sandbox_…demo"),
        ("sk_sandbox_broke", "sk_sandbox_…roke"),
        # No known kind: nothing but the end.
        ("0123456789abcdefghijklmnop", "…mnop"),
        ("short_secret_key", "…_key"),
        # Under 12 characters: nothing of it at all.
        ("sk_live_a1b", "…"),
        ("hunter2", "…"),
    ],
)
def test_hint_shows_kind_and_last_four_only(secret, hint):
    assert crypto.secret_hint(secret) == hint
    assert secret not in hint
    assert len(hint.partition("…")[2]) <= 4


def test_str_and_repr_name_things_without_secrets(team_a, bob):
    connection = team_a.connection
    membership = Membership.objects.get(user=bob)
    assert str(connection) == "FLORA connection of Acme"
    assert str(membership) == "bob (Member of Acme)"
    for obj in (team_a, connection, membership):
        assert "sk_sandbox_demo" not in repr(obj) and "sk_sandbox_demo" not in str(obj)
        assert "whsec_sandbox_demo" not in repr(obj)


def test_connection_string_without_team():
    assert str(FloraConnection()) == "FLORA connection"


def test_hints_stored_before_the_last_four_rule_are_recomputed(team_a):
    from django.apps import apps

    migration = importlib.import_module("teams.migrations.0002_hints_show_last_four")
    FloraConnection.objects.filter(team=team_a).update(
        api_key_hint="sk_sandbox_...", webhook_secret_hint="whsec_sandbox_..."
    )
    migration.recompute_hints(apps, None)
    connection = FloraConnection.objects.get(team=team_a)
    assert (connection.api_key_hint, connection.webhook_secret_hint) == (
        "sk_sandbox_…demo",
        "whsec_sandbox_…demo",
    )
