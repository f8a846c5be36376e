"""Where FLORA should POST a run's webhook, if it can reach us at all.

Submission passes ``callback_url_for(team)`` as the run's ``callback_url``. FLORA only calls
https URLs on public hosts, so a deployment on plain http gets no callback, except when the
team's FLORA is served from this very origin (the built-in sandbox, or any FLORA-compatible
service living beside the dashboard): that one can reach us whatever the scheme. Without a
callback, the status fragment and the background sweep still bring every run to its end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from teams.models import FloraConnection

if TYPE_CHECKING:
    from teams.models import Team

__all__ = ["callback_url_for", "same_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:  # a malformed port
        return None
    return scheme, parts.hostname.lower(), port


def same_origin(a: str, b: str) -> bool:
    """Scheme, host and port equal (default ports made explicit)."""
    origin = _origin(a)
    return origin is not None and origin == _origin(b)


def callback_url_for(team: Team) -> str | None:
    """The team's webhook receiver as an absolute URL, or None when FLORA cannot use it.

    None also when the team has no webhook signing secret: every delivery would then be
    rejected as unverifiable, and FLORA would retry each one for nothing.
    """
    base = settings.PUBLIC_BASE_URL
    if not base:
        return None
    try:
        connection = team.connection
    except FloraConnection.DoesNotExist:
        return None
    if not connection.has_webhook_secret:
        return None
    reachable = urlsplit(base).scheme == "https" or same_origin(connection.base_url, base)
    if not reachable:
        return None
    return base.rstrip("/") + reverse("runs:webhook", args=[team.webhook_token])
