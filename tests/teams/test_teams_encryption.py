from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from teams import crypto
from teams.models import FloraConnection, SecretUnavailable

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_live_Zx81mQv0TtR4pL2nB7cY5wE9aK3sD6fH"


def test_round_trip_and_the_token_is_not_the_plaintext():
    token = crypto.encrypt(KEY)
    assert KEY not in token
    assert crypto.decrypt(token) == KEY
    # Fernet tokens are randomised: the same key twice gives two different tokens.
    assert crypto.encrypt(KEY) != token


def test_encryption_is_independent_of_secret_key(settings):
    token = crypto.encrypt(KEY)
    settings.SECRET_KEY = "a-completely-different-secret-key-" + "y" * 30
    assert crypto.decrypt(token) == KEY


def test_wrong_key_error_names_the_connection_and_setting_without_ciphertext(settings, team_a):
    connection = team_a.connection
    settings.FLORASITE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretUnavailable) as info:
        connection.decrypt_api_key()
    message = str(info.value)
    assert "FLORA connection of Acme" in message and "'acme'" in message
    assert "FLORASITE_ENCRYPTION_KEYS" in message
    assert connection.api_key_encrypted not in message
    assert connection.api_key_encrypted[:16] not in message
    assert "sk_sandbox_demo" not in message
    # Nothing chained either: a traceback shows no ciphertext.
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_keys_error_names_the_connection_and_setting(settings, team_a):
    settings.FLORASITE_ENCRYPTION_KEYS = []
    with pytest.raises(SecretUnavailable, match="FLORASITE_ENCRYPTION_KEYS is empty") as info:
        team_a.connection.decrypt_webhook_secret()
    assert "webhook signing secret of the FLORA connection of Acme" in str(info.value)


def test_storing_a_secret_without_keys_is_refused(settings):
    settings.FLORASITE_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="FLORASITE_ENCRYPTION_KEYS is empty"):
        crypto.encrypt(KEY)


def test_a_corrupted_token_is_an_error_not_a_key(team_a):
    connection = team_a.connection
    connection.api_key_encrypted = "not-a-fernet-token"
    with pytest.raises(SecretUnavailable):
        connection.decrypt_api_key()


def test_production_refuses_to_start_without_encryption_keys():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECRET_KEY", "FLORA", "DEBUG", "DJANGO_SETTINGS"))
    }
    env.update(
        {"DJANGO_SETTINGS_MODULE": "florasite.settings", "DEBUG": "false", "SECRET_KEY": "x" * 50}
    )
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FLORASITE_ENCRYPTION_KEYS is not set" in result.stderr


# --- rotate_encryption_keys -------------------------------------------------------------


def _rotate(capsys) -> str:
    call_command("rotate_encryption_keys")
    return capsys.readouterr().out


def test_rotation_rewrites_with_the_newest_key_then_the_old_key_can_go(
    settings, capsys, team_a, team_b
):
    old = settings.FLORASITE_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FLORASITE_ENCRYPTION_KEYS = [new, old]
    before = {c.pk: c.secret_tokens for c in FloraConnection.objects.all()}

    # team A: key + webhook secret; team B: key only.
    assert "Re-encrypted 3 secret(s)" in _rotate(capsys)
    after = {c.pk: c.secret_tokens for c in FloraConnection.objects.all()}
    assert after != before

    # Safe to run twice: nothing left to do.
    assert "Re-encrypted 0 secret(s) with the newest key; 3 already used it." in _rotate(capsys)
    assert {c.pk: c.secret_tokens for c in FloraConnection.objects.all()} == after

    settings.FLORASITE_ENCRYPTION_KEYS = [new]
    team_a.connection.refresh_from_db()
    assert team_a.connection.decrypt_api_key() == "sk_sandbox_demo"
    assert team_a.connection.decrypt_webhook_secret() == "whsec_sandbox_demo"
    team_b.connection.refresh_from_db()
    assert team_b.connection.decrypt_api_key() == "sk_sandbox_other"


def test_rotation_leaves_everything_else_of_the_connection_alone(settings, capsys, team_a):
    connection = team_a.connection
    old = settings.FLORASITE_ENCRYPTION_KEYS[0]
    settings.FLORASITE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    _rotate(capsys)
    fresh = FloraConnection.objects.get(pk=connection.pk)
    assert fresh.api_key_hint == connection.api_key_hint
    assert fresh.workspace_ids == connection.workspace_ids
    assert fresh.status == connection.status


def test_rotation_without_the_old_key_fails_and_changes_nothing(settings, team_a, team_b):
    # team A's secrets use a key still configured ("middle"); team B's use one that was
    # dropped without rotating. Team A comes first, so its rewrite must be rolled back.
    middle = Fernet.generate_key().decode()
    settings.FLORASITE_ENCRYPTION_KEYS = [middle]
    FloraConnection.objects.filter(pk=team_a.connection.pk).update(
        api_key_encrypted=crypto.encrypt("sk_sandbox_demo"),
        webhook_secret_encrypted=crypto.encrypt("whsec_sandbox_demo"),
    )
    settings.FLORASITE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), middle]
    before = {c.pk: c.secret_tokens for c in FloraConnection.objects.all()}

    with pytest.raises(CommandError) as info:
        call_command("rotate_encryption_keys")
    assert info.value.returncode == 2
    assert "API key of the FLORA connection of Bravo" in str(info.value)
    assert "FLORASITE_ENCRYPTION_KEYS" in str(info.value)
    assert {c.pk: c.secret_tokens for c in FloraConnection.objects.all()} == before
