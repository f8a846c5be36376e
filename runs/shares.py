"""Share links: random tokens, stored only as hashes, and the public page's rate limit.

A share link is a capability: whoever holds the token sees the run's result. The token is
`secrets.token_urlsafe(24)` (192 random bits), shown once to its creator; the database keeps
its SHA-256 (hex) and the first few characters as a hint to tell links apart. A stolen
database therefore opens no link, and a fast hash is enough because the token is random,
not a password. Revoking or expiry takes effect at once: every request looks the link up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from florasite.lib import ratelimit
from florasite.lib.net import client_ip
from runs.models import Run, ShareLink

__all__ = [
    "EXPIRY_CHOICES",
    "TOKEN_BYTES",
    "CreatedShare",
    "create_share",
    "find_active_share",
    "hash_token",
    "new_token",
    "rate_limited",
    "record_view",
    "revoke",
]

TOKEN_BYTES = 24  # 192 bits; url-safe base64 makes 32 characters
HINT_LENGTH = 6
SHARE_RATE_WINDOW = timedelta(minutes=1)
# What the public URL may contain before we even hash it: url-safe base64, sane length.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")

EXPIRY_CHOICES: dict[str, tuple[str, timedelta | None]] = {
    "never": ("Never", None),
    "1d": ("In 1 day", timedelta(days=1)),
    "7d": ("In 7 days", timedelta(days=7)),
    "30d": ("In 30 days", timedelta(days=30)),
}


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CreatedShare:
    """The new link, and the only copy of its token there will ever be."""

    link: ShareLink
    token: str


def create_share(
    run: Run, *, created_by: object, hide_inputs: bool, expires: str, now: datetime | None = None
) -> CreatedShare:
    """Create a link to `run`; `expires` is a key of EXPIRY_CHOICES."""
    now = now or timezone.now()
    lifetime = EXPIRY_CHOICES[expires][1]
    token = new_token()
    link = ShareLink.objects.create(
        run=run,
        token_hash=hash_token(token),
        token_hint=token[:HINT_LENGTH],
        created_by=created_by,
        created_at=now,
        expires_at=None if lifetime is None else now + lifetime,
        hide_inputs=hide_inputs,
    )
    return CreatedShare(link=link, token=token)


def find_active_share(token: str, now: datetime | None = None) -> ShareLink | None:
    """The live link for this token, or None (unknown, malformed, revoked or expired)."""
    if not _TOKEN_SHAPE.fullmatch(token or ""):
        return None
    link = ShareLink.objects.select_related("run").filter(token_hash=hash_token(token)).first()
    if link is None or not link.is_active(now):
        return None
    return link


def record_view(link: ShareLink, now: datetime | None = None) -> None:
    # F() so simultaneous viewers all count.
    ShareLink.objects.filter(pk=link.pk).update(
        views=F("views") + 1, last_viewed_at=now or timezone.now()
    )


def revoke(link: ShareLink, by: object, now: datetime | None = None) -> bool:
    """Revoke the link; False when it already was (the first revocation is kept)."""
    return bool(
        ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=now or timezone.now(), revoked_by=by
        )
    )


def rate_limited(request: HttpRequest, bucket: str, per_minute: int | None = None) -> int:
    """Count one request of this client in `bucket`; over the limit, the seconds to wait.

    A one-minute window per client IP (florasite.lib.net.client_ip, which knows about reverse
    proxies), counted in the database by florasite.lib.ratelimit, the log-in throttle's
    mechanism, so every web process counts together. 0 (falsy) when within the limit.
    """
    limit = per_minute or settings.FLORASITE_SHARE_VIEWS_PER_MINUTE
    client = hashlib.sha256(client_ip(request).encode()).hexdigest()[:24]
    return ratelimit.hit(f"share:{bucket}:{client}", limit, SHARE_RATE_WINDOW).retry_after
