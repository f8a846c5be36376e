"""manage.py on a machine without the secrets: help works, anything else says what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(
    path.stem
    for path in ROOT.glob("*/management/commands/*.py")
    if not path.stem.startswith("_") and ".venv" not in path.parts
)


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    """manage.py as a new user runs it: none of the key variables, DEBUG off."""
    ours = ("SECRET_KEY", "FLORA", "DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_project_has_commands():
    assert {"add_member", "set_api_key", "db_worker"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_works_without_the_secrets(command):
    result = _manage(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: manage.py {command}" in result.stdout


@pytest.mark.parametrize("argv", [["help"], ["help", "add_member"], [], ["add_member", "-h"]])
def test_help_in_other_words_works_too(argv):
    result = _manage(*argv)
    assert result.returncode == 0, result.stderr
    assert "settings are not properly configured" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["add_member", "--team", "acme", "--username", "u", "--role", "viewer"],
        # The worker still refuses to start without them.
        ["db_worker"],
        ["migrate"],
        # "--help" as an option's value, or after "--", asks for no help.
        ["set_api_key", "--team", "acme", "--api-key-file=--help"],
    ],
)
def test_a_command_that_does_something_says_what_is_missing_in_one_line(argv):
    result = _manage(*argv)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "manage.py: SECRET_KEY is not set. Set SECRET_KEY or SECRET_KEY_FILE "
        "(`make run` generates one in var/secret_key)."
    ]
