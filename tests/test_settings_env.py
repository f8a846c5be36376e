from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from florasite import env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), ("TRUE", True)])
def test_env_bool_accepts_only_true_and_false(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.env_bool("SOME_FLAG") is expected


@pytest.mark.parametrize("raw", ["1", "yes", "on", "ture"])
def test_env_bool_rejects_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env.env_bool("SOME_FLAG")


def test_env_bool_default_when_unset(monkeypatch):
    monkeypatch.delenv("SOME_FLAG", raising=False)
    assert env.env_bool("SOME_FLAG", True) is True


def test_env_list_splits_and_rejects_empty_items(monkeypatch):
    monkeypatch.setenv("SOME_LIST", "a.example, b.example")
    assert env.env_list("SOME_LIST") == ["a.example", "b.example"]
    monkeypatch.setenv("SOME_LIST", "a.example,,b")
    with pytest.raises(ImproperlyConfigured, match="SOME_LIST"):
        env.env_list("SOME_LIST")


def test_env_float_and_int_are_strict(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "fast")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env.env_float("SOME_NUMBER", 1.0)
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env.env_int("SOME_NUMBER", 1)
    monkeypatch.setenv("SOME_NUMBER", "nan")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env.env_float("SOME_NUMBER", 1.0)


def test_env_secret_reads_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("MY_SECRET", raising=False)
    monkeypatch.setenv("MY_SECRET_FILE", str(secret))
    assert env.env_secret("MY_SECRET") == "s3cret"


def test_env_secret_missing_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("MY_SECRET", raising=False)
    monkeypatch.setenv("MY_SECRET_FILE", str(tmp_path / "nope"))
    with pytest.raises(ImproperlyConfigured, match="MY_SECRET_FILE"):
        env.env_secret("MY_SECRET")


def test_env_secret_refuses_both_forms(monkeypatch, tmp_path):
    monkeypatch.setenv("MY_SECRET", "x")
    monkeypatch.setenv("MY_SECRET_FILE", str(tmp_path / "nope"))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.env_secret("MY_SECRET")


def test_env_url_requires_absolute_http_url(monkeypatch):
    monkeypatch.setenv("SOME_URL", "example.com")
    with pytest.raises(ImproperlyConfigured, match="SOME_URL"):
        env.env_url("SOME_URL")
    monkeypatch.setenv("SOME_URL", "https://dash.example.com/")
    assert env.env_url("SOME_URL") == "https://dash.example.com"


def _import_settings(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    ours = ("SECRET_KEY", "FLORA", "DEBUG", "DATABASE_URL")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    clean.update({"DJANGO_SETTINGS_MODULE": "florasite.settings", **extra_env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = _import_settings({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_encryption_keys():
    result = _import_settings({"DEBUG": "false", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "FLORASITE_ENCRYPTION_KEYS is not set" in result.stderr


def test_malformed_debug_names_the_variable():
    result = _import_settings({"DEBUG": "yes"})
    assert result.returncode != 0
    assert "DEBUG must be 'true' or 'false'" in result.stderr


def test_bad_encryption_key_is_refused_without_echoing_it():
    result = _import_settings(
        {"DEBUG": "false", "SECRET_KEY": "x" * 50, "FLORASITE_ENCRYPTION_KEYS": "not-a-key-123"}
    )
    assert result.returncode != 0
    assert "key #1 is not a valid Fernet key" in result.stderr
    assert "not-a-key-123" not in result.stderr


def test_malformed_database_url_names_the_variable():
    result = _import_settings({"DEBUG": "true", "DATABASE_URL": "nosuchdb://x"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_debug_true_starts_without_secrets():
    result = _import_settings({"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
