from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables

from teams import services
from teams.cli import (
    COMMAND_LINE_ACTOR,
    bad_input,
    check_stdin_once,
    read_secret,
    validation_message,
)
from teams.models import FloraConnection, Team, validate_base_url, validate_workspace_ids


class Command(BaseCommand):
    help = (
        "Create a team and its FLORA connection; prints the team's slug. Secrets are read "
        "from files, or stdin with '-'. No call to FLORA is made."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", help="Default: derived from the name.")
        parser.add_argument("--base-url", required=True, help="e.g. https://app.flora.ai/api/v1")
        parser.add_argument("--api-key-file", required=True, help="File with the key, or -.")
        parser.add_argument("--webhook-secret-file", help="File with the whsec_ secret, or -.")
        parser.add_argument(
            "--workspaces", required=True, help="Comma-separated workspace ids: ws_a,ws_b"
        )
        parser.add_argument("--default-workspace", help="Default: the first of --workspaces.")

    @sensitive_variables("api_key", "webhook_secret")
    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise bad_input("--name must be 1 to 100 characters.")
        slug = (options["slug"] or slugify(name)).strip()
        if not slug or slug != slugify(slug) or len(slug) > 50:
            raise bad_input(
                f"--slug {slug!r} is not a slug (lowercase letters, digits, hyphens; max 50)."
            )
        if Team.objects.filter(slug=slug).exists():
            raise bad_input(f"A team with slug {slug!r} already exists.")
        base_url = options["base_url"].strip().rstrip("/")
        try:
            validate_base_url(base_url)
            workspaces = validate_workspace_ids(
                [ws for ws in options["workspaces"].split(",") if ws.strip()]
            )
        except ValidationError as exc:
            raise bad_input(validation_message(exc)) from None
        if not workspaces:
            raise bad_input("--workspaces needs at least one workspace id (ws_...).")
        default = (options["default_workspace"] or workspaces[0]).strip()
        if default not in workspaces:
            raise bad_input(f"--default-workspace {default!r} is not one of --workspaces.")

        check_stdin_once(options["api_key_file"], options["webhook_secret_file"])
        api_key = read_secret(options["api_key_file"], "API key", "--api-key-file")
        webhook_secret = None
        if options["webhook_secret_file"]:
            webhook_secret = read_secret(
                options["webhook_secret_file"], "webhook signing secret", "--webhook-secret-file"
            )

        try:
            with transaction.atomic():
                team = Team.objects.create(name=name, slug=slug)
                connection = FloraConnection(
                    team=team,
                    base_url=base_url,
                    workspace_ids=workspaces,
                    default_workspace_id=default,
                )
                services.save_connection(
                    connection,
                    actor=COMMAND_LINE_ACTOR,
                    api_key=api_key,
                    webhook_secret=webhook_secret,
                )
        except ValidationError as exc:
            raise bad_input(validation_message(exc)) from None
        self.stdout.write(team.slug)
