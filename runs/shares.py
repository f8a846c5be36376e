"""Share links: random tokens, found by their hash, and the public page's rate limit.

A share link is a capability: whoever holds the token sees the run's result. The token is
`secrets.token_urlsafe(24)` (192 random bits). The public page finds the link by the token's
SHA-256 (hex): a fast hash is enough because the token is random, not a password, and the
lookup never needs a key. Revoking or expiry takes effect at once: every request looks the
link up.

Teammates must be able to copy a link again later (issue 14: a link shown once is lost the
moment its creator closes the tab, and "make a new one" leaves several live links to one
run). So the token is also kept encrypted, with the teams' secrets' keys (teams.crypto,
MultiFernet, rotated by `manage.py rotate_encryption_keys`): a stolen database alone still
opens no link. Only members and managers of the run's team get it back (copyable_token and
teams.permissions.can_copy_share), only while the link is active; revoking empties the
ciphertext, so a revoked link cannot be copied, even by someone with the database and keys.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from florasite.lib import ratelimit
from florasite.lib.net import client_ip
from runs.models import Run, ShareLink, TokenLink
from teams import crypto
from teams.models import Membership
from teams.permissions import can_copy_share, can_revoke_share

__all__ = [
    "EXPIRY_CHOICES",
    "TOKEN_BYTES",
    "CreatedShare",
    "copyable_token",
    "create_share",
    "find_active",
    "find_active_share",
    "hash_token",
    "new_token",
    "new_token_fields",
    "public_url",
    "rate_limited",
    "record_view",
    "revoke",
    "share_rows",
]

logger = logging.getLogger(__name__)

L = TypeVar("L", bound=TokenLink)

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


def public_url(token: str) -> str:
    # The configured public origin, not the request's Host header (which a client chooses).
    return settings.PUBLIC_BASE_URL + reverse("runs:share_public", args=[token])


@dataclass(frozen=True)
class CreatedShare:
    """The new link and its token (the only plaintext copy; the row keeps it encrypted)."""

    link: TokenLink
    token: str


@sensitive_variables()
def new_token_fields(expires: str, now: datetime) -> tuple[str, dict[str, object]]:
    """A new token and the TokenLink fields that keep it (hash, hint, ciphertext, expiry).

    `expires` is a key of EXPIRY_CHOICES. The token returned is the only plaintext copy.
    """
    lifetime = EXPIRY_CHOICES[expires][1]
    token = new_token()
    return token, {
        "token_hash": hash_token(token),
        "token_hint": token[:HINT_LENGTH],
        "token_encrypted": crypto.encrypt(token),
        "created_at": now,
        "expires_at": None if lifetime is None else now + lifetime,
    }


def create_share(
    run: Run, *, created_by: object, hide_inputs: bool, expires: str, now: datetime | None = None
) -> CreatedShare:
    """Create a link to `run`; `expires` is a key of EXPIRY_CHOICES."""
    token, fields = new_token_fields(expires, now or timezone.now())
    link = ShareLink.objects.create(
        run=run, created_by=created_by, hide_inputs=hide_inputs, **fields
    )
    return CreatedShare(link=link, token=token)


def find_active(links: QuerySet[L], token: str, now: datetime | None = None) -> L | None:
    """The live link of `links` for this token, or None (unknown, malformed, revoked or
    expired)."""
    if not _TOKEN_SHAPE.fullmatch(token or ""):
        return None
    link = links.filter(token_hash=hash_token(token)).first()
    if link is None or not link.is_active(now):
        return None
    return link


def find_active_share(token: str, now: datetime | None = None) -> ShareLink | None:
    """The live run share link for this token, or None."""
    return find_active(ShareLink.objects.select_related("run"), token, now)


@sensitive_variables()
def copyable_token(link: TokenLink, now: datetime | None = None) -> str:
    """The link's token, for members to copy again; "" when it cannot be copied.

    Not for revoked or expired links (nothing worth copying), nor links made before tokens
    were kept encrypted. A token no configured key opens (a key removed too soon) is "" as
    well: the link still works (the lookup is by hash), only copying it again is lost.
    The caller checks the role (teams.permissions.can_copy_share).
    """
    if not link.token_encrypted or not link.is_active(now):
        return ""
    try:
        return crypto.decrypt(link.token_encrypted)
    except crypto.DecryptionFailed:
        # The link's code names it; the ciphertext and token never reach the log.
        logger.warning(
            "share link %s cannot be copied: no key in %s opens its token",
            link.code,
            crypto.SETTING,
        )
        return ""


def record_view(link: TokenLink, now: datetime | None = None) -> None:
    # F() so simultaneous viewers all count.
    type(link)._default_manager.filter(pk=link.pk).update(
        views=F("views") + 1, last_viewed_at=now or timezone.now()
    )


def revoke(link: TokenLink, by: object, now: datetime | None = None) -> bool:
    """Revoke the link; False when it already was (the first revocation is kept).

    The encrypted token goes too: a dead link has nothing left to copy.
    """
    return bool(
        type(link)
        ._default_manager.filter(pk=link.pk, revoked_at__isnull=True)
        .update(revoked_at=now or timezone.now(), revoked_by=by, token_encrypted="")
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


def share_rows(
    links: Iterable[TokenLink],
    membership: Membership,
    *,
    revoke_url: Callable[[Any], str],
    public_url: Callable[[str], str],
) -> list[dict[str, Any]]:
    """Each link's facts for templates/runs/_share_row.html; `url` is the link to copy again
    ("" for whoever may not, or when it cannot be: see copyable_token)."""
    may_copy = can_copy_share(membership)
    rows = []
    for link in links:
        active = link.is_active()
        state = "active" if active else ("revoked" if link.revoked_at else "expired")
        token = copyable_token(link) if may_copy and active else ""
        rows.append(
            {
                "link": link,
                "state": state,
                "url": public_url(token) if token else "",
                "can_copy": may_copy,
                "can_revoke": active and can_revoke_share(membership, link.created_by_id),
                "revoke_url": revoke_url(link),
            }
        )
    return rows
