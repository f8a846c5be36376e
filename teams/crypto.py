"""Encryption of the teams' FLORA secrets (API keys, webhook signing secrets).

Keys come from settings.FLORASITE_ENCRYPTION_KEYS (Fernet keys, newest first), never from
SECRET_KEY: rotating the session secret must not make the secrets unreadable, and the
other way round. MultiFernet encrypts with the newest key and decrypts with any of them,
which is what lets `manage.py rotate_encryption_keys` retire an old key.

Apps above teams keep secrets of their own with the same keys (runs: share link tokens, so
members can copy a link again). They register those fields here from their AppConfig.ready(),
and the rotation command re-encrypts them too, without teams importing any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from flora import mask_key

SETTING = "FLORASITE_ENCRYPTION_KEYS"

__all__ = [
    "SETTING",
    "DecryptionFailed",
    "EncryptedField",
    "decrypt",
    "encrypt",
    "encrypted_fields",
    "is_current",
    "reencrypt",
    "register_encrypted_field",
    "secret_hint",
]


class DecryptionFailed(Exception):
    """No configured key opens this token. Callers add which secret it was."""


@dataclass(frozen=True)
class EncryptedField:
    """A text field of another app holding Fernet tokens made by encrypt() ("" when none)."""

    model: str  # "app_label.ModelName", resolved by the command through django.apps
    field: str
    label: str  # what it holds, in words: "share link token"


_OTHER_FIELDS: dict[tuple[str, str], EncryptedField] = {}


def register_encrypted_field(model: str, field: str, label: str) -> None:
    """Have `manage.py rotate_encryption_keys` re-encrypt `model.field` as well."""
    _OTHER_FIELDS[(model, field)] = EncryptedField(model, field, label)


def encrypted_fields() -> tuple[EncryptedField, ...]:
    return tuple(_OTHER_FIELDS.values())


def _keys() -> list[str]:
    keys = list(getattr(settings, SETTING, []) or [])
    if not keys:
        # Settings already refuse to start without keys unless DEBUG is on; this is the
        # DEBUG case, where we still must not store a secret we could never read back.
        raise ImproperlyConfigured(
            f"{SETTING} is empty: team secrets cannot be encrypted or decrypted. Set it (or "
            f"{SETTING}_FILE) to a comma-separated list of Fernet keys, newest first."
        )
    return keys


def _multi() -> MultiFernet:
    # Built per call (cheap) so that a changed setting, e.g. in tests, takes effect at once.
    return MultiFernet([Fernet(key) for key in _keys()])


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    return _multi().encrypt(plaintext.encode("utf-8")).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    if not getattr(settings, SETTING, None):
        raise DecryptionFailed(f"{SETTING} is empty")
    try:
        return _multi().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        # Deliberately no detail: the token must never travel on as if it were the key.
        raise DecryptionFailed(f"no key in {SETTING} opens it") from None


def is_current(token: str) -> bool:
    """True when the newest key opens the token (nothing for rotation to do)."""
    try:
        Fernet(_keys()[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def reencrypt(token: str) -> str:
    """The same secret, encrypted with the newest key. Raises DecryptionFailed."""
    try:
        return _multi().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionFailed(f"no key in {SETTING} opens it") from None


@sensitive_variables("secret")
def secret_hint(secret: str) -> str:
    """A hint at which secret is set, safe to display and log: "sk_live_…abcd".

    The same hint as the flora client shows (flora.mask_key): kind and last four.
    """
    return mask_key(secret)
