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
        "Replace a team's FLORA API key (read from a file, or stdin with '-'). No call to "
        "FLORA is made: test it in the admin, or it is checked at first use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--api-key-file", required=True, help="File with the key, or -.")

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
            services.save_connection(connection, actor=COMMAND_LINE_ACTOR, api_key=api_key)
        except ValidationError as exc:
            raise bad_input(validation_message(exc)) from None
        self.stdout.write(f"API key of {team.slug} set: {connection.api_key_hint}")
