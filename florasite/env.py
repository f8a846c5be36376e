"""Strict readers for settings that come from the environment.

Every reader raises ImproperlyConfigured naming the variable when a value is malformed, so a
typo in a deployment fails at start-up instead of silently picking a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    raise ImproperlyConfigured(f"{name} must be 'true' or 'false', got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    items = [item.strip() for item in raw.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} has an empty item in its comma-separated list.")
    return items


def env_secret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (never both)."""
    direct = os.environ.get(name, "")
    file_name = os.environ.get(f"{name}_FILE", "")
    if direct and file_name:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if file_name:
        path = Path(file_name)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE points to {file_name!r}, which cannot be read ({exc.strerror})."
            ) from None
        if not value:
            raise ImproperlyConfigured(f"{name}_FILE points to an empty file: {file_name!r}.")
        return value
    return direct.strip()


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        allowed = " or ".join(schemes)
        raise ImproperlyConfigured(f"{name} must be an absolute {allowed} URL, got {raw!r}.")
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name} must not have a query or fragment, got {raw!r}.")
    return raw.rstrip("/")
