from __future__ import annotations

import stat

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from teams.models import FloraConnection, Membership, SecretChange, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    return settings.VAR_DIR


def _setup_demo(capsys) -> str:
    call_command("setup_demo")
    return capsys.readouterr().out


def _snapshot() -> tuple:
    return (
        list(Team.objects.values_list("slug", "name", "webhook_token")),
        list(FloraConnection.objects.values()),
        list(Membership.objects.values_list("user__username", "team__slug", "role")),
        list(User.objects.values_list("username", "password", "is_superuser")),
        SecretChange.objects.count(),
    )


def test_setup_demo_creates_teams_users_and_private_credentials(var_dir, capsys):
    out = _setup_demo(capsys)

    studio = Team.objects.get(slug="demo-studio")
    other = Team.objects.get(slug="other-agency")
    assert studio.name == "Demo Studio" and other.name == "Other Agency"
    connection = studio.connection
    assert connection.base_url == "http://127.0.0.1:8000/sandbox/api/v1"
    assert connection.decrypt_api_key() == "sk_sandbox_demo"
    assert connection.decrypt_webhook_secret() == "whsec_sandbox_demo"
    assert connection.workspace_ids == ["ws_demo", "ws_brand"]
    assert other.connection.decrypt_api_key() == "sk_sandbox_other"
    assert other.connection.workspace_ids == ["ws_other"]

    demo = User.objects.get(username="demo")
    admin = User.objects.get(username="admin")
    assert not demo.is_staff and admin.is_superuser and admin.is_staff
    roles = set(Membership.objects.values_list("user__username", "team__slug", "role"))
    assert roles == {
        ("demo", "demo-studio", "member"),
        ("admin", "demo-studio", "manager"),
        ("admin", "other-agency", "manager"),
    }

    path = var_dir / "demo-credentials.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = dict(line.split() for line in path.read_text().splitlines() if not line.startswith("#"))
    assert demo.check_password(saved["demo"]) and admin.check_password(saved["admin"])
    assert saved["demo"] in out and saved["admin"] in out
    assert saved["demo"] != saved["admin"]
    # The demo keys are stored like real ones: encrypted.
    assert "sk_sandbox_demo" not in connection.api_key_encrypted


def test_setup_demo_twice_changes_nothing_and_prints_the_same_credentials(var_dir, capsys):
    first = _setup_demo(capsys)
    before = _snapshot()
    file_before = (var_dir / "demo-credentials.txt").read_text()
    second = _setup_demo(capsys)
    assert _snapshot() == before
    assert (var_dir / "demo-credentials.txt").read_text() == file_before

    def logins(out: str) -> list[str]:
        return [line for line in out.splitlines() if line.startswith("  ")]

    assert logins(first) == logins(second) and len(logins(first)) == 2


def test_setup_demo_follows_a_changed_public_base_url(var_dir, settings, capsys):
    _setup_demo(capsys)
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9000"
    out = _setup_demo(capsys)
    assert "base URL updated" in out
    for team in Team.objects.all():
        assert team.connection.base_url == "http://127.0.0.1:9000/sandbox/api/v1"
        assert team.connection.decrypt_api_key().startswith("sk_sandbox_")


def test_setup_demo_leaves_existing_users_alone(var_dir, capsys):
    User.objects.create_superuser("admin", "", "my own password 123")
    out = _setup_demo(capsys)
    assert User.objects.get(username="admin").check_password("my own password 123")
    assert "password not changed" in out
    assert "admin" not in (var_dir / "demo-credentials.txt").read_text().split("\n", 1)[1]


def test_setup_demo_does_nothing_without_the_sandbox(var_dir, settings, capsys):
    settings.FLORA_SANDBOX_ENABLED = False
    assert "no demo teams" in _setup_demo(capsys)
    assert not Team.objects.exists()
