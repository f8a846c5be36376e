"""florasite/gunicorn.conf.py reads the environment as strictly as the settings do."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "florasite" / "gunicorn.conf.py"
GUNICORN_VARIABLES = (
    "GUNICORN_BIND",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_ACCESSLOG",
)


@pytest.fixture
def unset(monkeypatch):
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_its_defaults(unset):
    conf = runpy.run_path(str(CONF))
    assert conf["bind"] == "127.0.0.1:8000"
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (2, 8, 60)
    assert conf["accesslog"] is None


def test_it_reads_the_environment(unset, monkeypatch):
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    monkeypatch.setenv("GUNICORN_WORKERS", "4")
    monkeypatch.setenv("GUNICORN_THREADS", "16")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "0")
    monkeypatch.setenv("GUNICORN_ACCESSLOG", "-")
    conf = runpy.run_path(str(CONF))
    assert conf["bind"] == "0.0.0.0:9000"
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (4, 16, 0)
    assert conf["accesslog"] == "-"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("GUNICORN_WORKERS", "two", "GUNICORN_WORKERS must be a whole number, got 'two'"),
        ("GUNICORN_THREADS", "0", "GUNICORN_THREADS must be at least 1, got 0"),
        ("GUNICORN_TIMEOUT", "60s", "GUNICORN_TIMEOUT must be a whole number, got '60s'"),
    ],
)
def test_a_malformed_value_names_the_variable(unset, monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        runpy.run_path(str(CONF))


def test_a_malformed_value_stops_gunicorn_at_start_up(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in GUNICORN_VARIABLES}
    env["GUNICORN_WORKERS"] = "two"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(CONF), "--check-config"],
        cwd=tmp_path,  # the config finds florasite from wherever gunicorn starts
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GUNICORN_WORKERS must be a whole number, got 'two'" in result.stderr
