from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.views.decorators.debug import sensitive_variables

from teams import services
from teams.cli import COMMAND_LINE_ACTOR, bad_input, read_secret, validation_message
from teams.models import FloraConnection, Team


class Command(BaseCommand):
    help = (
        "Replace a team's FLORA API key (read from a file, or stdin with '-'). The new key "
        "is tried on FLORA first (GET /workspaces); a key FLORA refuses, or cannot be asked "
        "about, is not saved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--api-key-file", required=True, help="File with the key, or -.")
        parser.add_argument(
            "--no-check",
            action="store_true",
            help="Save the key without asking FLORA (a machine that cannot reach it).",
        )

    @sensitive_variables("api_key")
    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise bad_input(f"No team with slug {options['team']!r}.")
        try:
            connection = team.connection
        except FloraConnection.DoesNotExist:
            raise bad_input(
                f"{team.name} has no FLORA connection: create it in the admin first."
            ) from None
        api_key = read_secret(options["api_key_file"], "API key", "--api-key-file")
        try:
            if not options["no_check"]:
                # Before it replaces the working key: a refused one would lock the team out.
                services.try_key(api_key, base_url=connection.base_url, team_id=team.pk)
            services.save_connection(connection, actor=COMMAND_LINE_ACTOR, api_key=api_key)
        except ValidationError as exc:
            raise bad_input(validation_message(exc)) from None
        checked = "not checked with FLORA" if options["no_check"] else "FLORA accepted it"
        self.stdout.write(f"API key of {team.slug} set: {connection.api_key_hint} ({checked})")
