"""Where `manage.py setup_demo` keeps the demo logins, for the command and the login page."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

CREDENTIALS_FILE = "demo-credentials.txt"


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / CREDENTIALS_FILE


def credentials_hint() -> str | None:
    """The demo logins' file as a person at the machine would type it (var/...), or None
    when there is no sandbox demo set up: a real deployment's login page names no file."""
    if not settings.FLORA_SANDBOX_ENABLED:
        return None
    path = credentials_path()
    if not path.is_file():
        return None
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)
