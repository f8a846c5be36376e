"""Teams, their members' roles, and each team's connection to FLORA.

The connection's API key and webhook signing secret are stored encrypted (teams.crypto);
the plaintext exists only in memory, at the moment a FLORA client is built.
"""

from __future__ import annotations

import re
import secrets
import zoneinfo
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.views.decorators.debug import sensitive_variables

from teams import crypto

DEFAULT_BASE_URL = "https://app.flora.ai/api/v1"
WORKSPACE_ID_RE = re.compile(r"^ws_[A-Za-z0-9_-]{1,100}$")
MAX_SECRET_LENGTH = 1000


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    MANAGER = "manager", "Manager"


# viewer < member < manager: each role can do everything the ones before it can.
ROLE_RANK: dict[str, int] = {Role.VIEWER: 0, Role.MEMBER: 1, Role.MANAGER: 2}


def role_rank(role: str) -> int:
    try:
        return ROLE_RANK[role]
    except KeyError:
        # A typo in a permission check must fail loudly, not grant or deny silently.
        raise ValueError(
            f"Unknown role {role!r}; expected one of {', '.join(ROLE_RANK)}."
        ) from None


def validate_time_zone(value: str) -> None:
    if not value:
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not a time zone name; use an IANA name such as Europe/Paris."
        ) from None


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="Identifies the team in URLs and commands."
    )
    # The FLORA webhook receiver is mounted at /hooks/flora/<webhook_token>: a random
    # token, so the URL neither reveals nor enumerates teams.
    webhook_token = models.CharField(
        max_length=64, unique=True, default=new_webhook_token, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The team's months (budgets, spend) are calendar months in this zone; empty: TIME_ZONE.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="An IANA zone such as Europe/Paris; empty means the site's TIME_ZONE.",
    )

    class Meta:
        ordering = ["name", "slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The zone of the team's calendar months (an unknown name falls back to TIME_ZONE)."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="teams_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.team})"

    def has_role(self, minimum: str) -> bool:
        return role_rank(self.role) >= role_rank(minimum)


class SecretUnavailable(ImproperlyConfigured):
    """A stored secret cannot be decrypted with the configured keys.

    The message names the connection and the setting, and never contains the ciphertext.
    """


class ConnectionStatus(models.TextChoices):
    UNCHECKED = "unchecked", "Not checked yet"
    OK = "ok", "OK"
    FAILING = "failing", "Failing"


class SecretKind(models.TextChoices):
    API_KEY = "api_key", "API key"
    WEBHOOK_SECRET = "webhook_secret", "Webhook signing secret"


def validate_secret(value: str, label: str) -> str:
    """The cleaned secret, or ValidationError. Messages never echo the value."""
    value = value.strip()
    if not value:
        raise ValidationError(f"The {label} is empty.")
    if len(value) > MAX_SECRET_LENGTH:
        raise ValidationError(f"The {label} is too long (over {MAX_SECRET_LENGTH} characters).")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValidationError(f"The {label} must be one line without spaces.")
    return value


def validate_workspace_ids(ids: list[str]) -> list[str]:
    """Checked, de-duplicated workspace ids in the given order."""
    cleaned: list[str] = []
    for raw in ids:
        ws = raw.strip()
        if not WORKSPACE_ID_RE.match(ws):
            raise ValidationError(f"{ws[:40]!r} is not a FLORA workspace id (ws_...).")
        if ws not in cleaned:
            cleaned.append(ws)
    return cleaned


def validate_base_url(value: str) -> None:
    # Not URLValidator: it refuses hosts without a dot (an internal proxy, "testserver").
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an absolute http:// or https:// URL.")
    if parts.username or parts.password:
        raise ValidationError("Put no credentials in the URL: the API key has its own field.")
    if parts.query or parts.fragment:
        raise ValidationError("The base URL takes no query or fragment.")


class FloraConnection(models.Model):
    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="connection")
    base_url = models.CharField(
        "base URL",
        max_length=300,
        default=DEFAULT_BASE_URL,
        validators=[validate_base_url],
        help_text="FLORA's API root: " + DEFAULT_BASE_URL,
    )
    # Fernet tokens; the plaintext is never stored. Read them only through decrypt_*().
    api_key_encrypted = models.TextField(blank=True, editable=False)
    api_key_hint = models.CharField("API key", max_length=40, blank=True, editable=False)
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret_hint = models.CharField(
        "webhook signing secret", max_length=40, blank=True, editable=False
    )
    # The workspaces the team is limited to, e.g. ["ws_demo", "ws_brand"].
    workspace_ids = models.JSONField("workspaces", default=list, blank=True)
    default_workspace_id = models.CharField("default workspace", max_length=110, blank=True)
    # What GET /workspaces answered at the last successful check: offered to admins as
    # the choices for workspace_ids. [{"workspace_id", "name", "role"}]
    available_workspaces = models.JSONField(default=list, blank=True, editable=False)
    status = models.CharField(
        max_length=10,
        choices=ConnectionStatus.choices,
        default=ConnectionStatus.UNCHECKED,
        editable=False,
    )
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_request_id = models.CharField(max_length=100, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "FLORA connection"
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"FLORA connection of {self.team.name}" if self.team_id else "FLORA connection"

    def clean(self) -> None:
        self.base_url = self.base_url.strip().rstrip("/")
        self.workspace_ids = validate_workspace_ids(list(self.workspace_ids or []))
        if self.default_workspace_id and self.default_workspace_id not in self.workspace_ids:
            raise ValidationError(
                {"default_workspace_id": "The default workspace must be one of the workspaces."}
            )
        if not self.default_workspace_id and self.workspace_ids:
            self.default_workspace_id = self.workspace_ids[0]

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    @property
    def has_webhook_secret(self) -> bool:
        return bool(self.webhook_secret_encrypted)

    @property
    def is_sandbox(self) -> bool:
        """True when the team talks to the built-in FLORA sandbox (shown as a banner)."""
        return bool(settings.FLORA_SANDBOX_ENABLED) and urlsplit(self.base_url).path.startswith(
            "/sandbox/api/"
        )

    # -- secrets ---------------------------------------------------------------------
    # Setting a secret changes only this instance; save it and record a SecretChange
    # (teams.services.save_connection does both).

    @sensitive_variables("api_key")
    def set_api_key(self, api_key: str) -> None:
        api_key = validate_secret(api_key, "API key")
        self.api_key_encrypted = crypto.encrypt(api_key)
        self.api_key_hint = crypto.secret_hint(api_key)
        # A new key has not been tried yet: the old verdict no longer applies.
        self.status = ConnectionStatus.UNCHECKED
        self.last_error = ""
        self.last_request_id = ""

    @sensitive_variables("secret")
    def set_webhook_secret(self, secret: str) -> None:
        secret = validate_secret(secret, "webhook signing secret")
        self.webhook_secret_encrypted = crypto.encrypt(secret)
        self.webhook_secret_hint = crypto.secret_hint(secret)

    def clear_webhook_secret(self) -> None:
        self.webhook_secret_encrypted = ""
        self.webhook_secret_hint = ""

    def decrypt_api_key(self) -> str:
        """The plaintext key. Only teams.services calls this, to build a client."""
        return self._decrypt(self.api_key_encrypted, "API key")

    def decrypt_webhook_secret(self) -> str:
        """The plaintext signing secret ("" when none is set), to verify a webhook."""
        if not self.webhook_secret_encrypted:
            return ""
        return self._decrypt(self.webhook_secret_encrypted, "webhook signing secret")

    @sensitive_variables()
    def _decrypt(self, token: str, label: str) -> str:
        if not token:
            raise SecretUnavailable(f"The {self} has no {label} set.")
        try:
            return crypto.decrypt(token)
        except crypto.DecryptionFailed as exc:
            raise SecretUnavailable(
                f"The {label} of the {self} (team {self.team.slug!r}) cannot be decrypted: "
                f"{exc}. The key it was encrypted with was removed or changed: put it back in "
                f"{crypto.SETTING} (newest first), or set a new {label} for the team."
            ) from None

    @property
    def secret_tokens(self) -> dict[str, str]:
        """Field name -> ciphertext, for key rotation."""
        return {
            "api_key_encrypted": self.api_key_encrypted,
            "webhook_secret_encrypted": self.webhook_secret_encrypted,
        }


class SecretChange(models.Model):
    """Audit trail: who set which secret of which team, and when. Never the value."""

    # Kept when the team is deleted; team_name says which team it was.
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="secret_changes"
    )
    team_name = models.CharField(max_length=100)
    secret = models.CharField(max_length=20, choices=SecretKind.choices)
    hint = models.CharField(
        "new hint", max_length=40, blank=True, help_text="Empty when the secret was removed."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(
        "changed by", max_length=150, help_text="Username, or the command that made the change."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        action = f"set to {self.hint}" if self.hint else "removed"
        return f"{self.get_secret_display()} of {self.team_name} {action} by {self.actor_label}"
