"""`make run`'s demo: two teams on the built-in sandbox, a member and a superuser.

Idempotent: a second run changes nothing and prints the same credentials. Only the demo
teams' base URL follows PUBLIC_BASE_URL (the sandbox is served by this very site).

Why two teams: `admin` manages both "Demo Studio" and "Other Agency", so the header team
switcher has something to switch; `demo` is a member of Demo Studio only, so logging in
as demo shows what tenant isolation looks like (Other Agency's things do not exist for
them).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from teams import demo, services
from teams.models import FloraConnection, Membership, Role, Team

ACTOR = "setup_demo"


@dataclass(frozen=True)
class DemoTeam:
    name: str
    slug: str
    # The sandbox's published demo keys: not secrets, but stored like real ones.
    api_key: str
    webhook_secret: str | None
    workspaces: tuple[str, ...]


@dataclass(frozen=True)
class DemoUser:
    username: str
    superuser: bool
    roles: tuple[tuple[str, str], ...]  # (team slug, role)
    description: str


TEAMS = (
    DemoTeam(
        "Demo Studio",
        "demo-studio",
        "sk_sandbox_demo",
        "whsec_sandbox_demo",
        ("ws_demo", "ws_brand"),
    ),
    DemoTeam("Other Agency", "other-agency", "sk_sandbox_other", None, ("ws_other",)),
)
USERS = (
    DemoUser("demo", False, (("demo-studio", Role.MEMBER),), "member of Demo Studio"),
    DemoUser(
        "admin",
        True,
        (("demo-studio", Role.MANAGER), ("other-agency", Role.MANAGER)),
        "superuser; manager of Demo Studio and Other Agency",
    ),
)


def _read_credentials(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    saved: dict[str, str] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            saved[parts[0]] = parts[1]
    return saved


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)  # in case the file existed with wider permissions
    os.replace(tmp, path)


class Command(BaseCommand):
    help = "Create (once) the demo teams on the built-in sandbox and the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.FLORA_SANDBOX_ENABLED:
            self.stdout.write("FLORA_SANDBOX_ENABLED is false: no demo teams to set up.")
            return
        base_url = f"{settings.PUBLIC_BASE_URL}/sandbox/api/v1"
        path = demo.credentials_path()
        saved = _read_credentials(path)

        with transaction.atomic():
            teams = {spec.slug: self._team(spec, base_url) for spec in TEAMS}
            passwords = {spec.username: self._user(spec, saved, teams) for spec in USERS}

        text = "# florasite demo logins, made by `manage.py setup_demo`\n" + "".join(
            f"{name} {password}\n" for name, password in passwords.items() if password
        )
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            _write_private(path, text)
        elif path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)

        self.stdout.write(f"Log in at {settings.PUBLIC_BASE_URL}/accounts/login/ as:")
        for spec in USERS:
            shown = passwords[spec.username] or "(an existing user: password not changed)"
            self.stdout.write(f"  {spec.username:<6} {shown}  {spec.description}")
        self.stdout.write(f"These are kept in {path} (readable only by you).")

    def _team(self, spec: DemoTeam, base_url: str) -> Team:
        team, created = Team.objects.get_or_create(slug=spec.slug, defaults={"name": spec.name})
        try:
            connection = team.connection
        except FloraConnection.DoesNotExist:
            connection = FloraConnection(
                team=team, base_url=base_url, workspace_ids=list(spec.workspaces)
            )
            services.save_connection(
                connection,
                actor=ACTOR,
                api_key=spec.api_key,
                webhook_secret=spec.webhook_secret,
            )
            self.stdout.write(f"{spec.name}: created, on the sandbox at {base_url}")
            return team
        if connection.base_url != base_url:
            # PUBLIC_BASE_URL changed (another port or host): follow it.
            connection.base_url = base_url
            connection.save(update_fields=["base_url", "updated_at"])
            self.stdout.write(f"{spec.name}: base URL updated to {base_url}")
        else:
            self.stdout.write(f"{spec.name}: already set up")
        return team

    def _user(self, spec: DemoUser, saved: dict[str, str], teams: dict[str, Team]) -> str | None:
        User = get_user_model()
        user = User._default_manager.filter(username=spec.username).first()
        password = saved.get(spec.username)
        if user is None:
            password = password or secrets.token_urlsafe(12)
            if spec.superuser:
                user = User._default_manager.create_superuser(spec.username, "", password)
            else:
                user = User._default_manager.create_user(spec.username, "", password)
        elif password is None or not user.check_password(password):
            # Made or changed by someone else: leave it alone, and show no stale password.
            password = None
        for slug, role in spec.roles:
            # get_or_create: an admin may have changed the role since; keep theirs.
            Membership.objects.get_or_create(user=user, team=teams[slug], defaults={"role": role})
        return password
