from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from teams.cli import bad_input, read_secret, validation_message
from teams.models import Membership, Role, Team


class Command(BaseCommand):
    help = (
        "Add a user to a team with a role, or change their role. With --create-user, the "
        "user is created too; the password is read from --password-file (or stdin with '-')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument("--create-user", action="store_true")
        parser.add_argument("--password-file", help="With --create-user: file, or -.")

    @sensitive_variables("password")
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise bad_input(f"No team with slug {options['team']!r}.")
        username = options["username"].strip()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()

        password = None
        if options["create_user"]:
            if user is not None:
                raise bad_input(f"User {username!r} already exists: leave out --create-user.")
            if not options["password_file"]:
                raise bad_input("--create-user needs --password-file (a file, or - for stdin).")
            password = read_secret(
                options["password_file"], "password", "--password-file", password=True
            )
            candidate = User(**{User.USERNAME_FIELD: username})
            try:
                User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
                validate_password(password, user=candidate)
            except ValidationError as exc:
                raise bad_input(validation_message(exc)) from None
        else:
            if options["password_file"]:
                raise bad_input("--password-file is only used with --create-user.")
            if user is None:
                raise bad_input(f"No user {username!r}: add --create-user to create them.")

        with transaction.atomic():
            if user is None:
                user = User._default_manager.create_user(username, password=password)
                self.stdout.write(f"Created user {username}.")
            membership, created = Membership.objects.get_or_create(
                user=user, team=team, defaults={"role": options["role"]}
            )
            if created:
                self.stdout.write(f"{username} is now {membership.role} of {team.slug}.")
            elif membership.role != options["role"]:
                previous = membership.role
                membership.role = options["role"]
                membership.save(update_fields=["role"])
                self.stdout.write(
                    f"{username} is now {membership.role} of {team.slug} (was {previous})."
                )
            else:
                self.stdout.write(f"{username} already is {membership.role} of {team.slug}.")
