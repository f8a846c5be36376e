"""Recompute the history's tallies (counts and spend per status, technique names) from the
runs table, or check them against it.

The database's triggers keep the tallies exact for every write; this is for after a restore
or a bulk load made without them, and for a check when in doubt. The rebuild holds a SHARE
lock on the runs table (PostgreSQL; SQLite's write lock): pages keep reading, writes of runs
wait until it ends (seconds for a million runs).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs import tallies
from teams.models import Team


class Command(BaseCommand):
    help = "Rebuild the run history tallies from the runs table (or --check them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", help="Only this team (its slug).")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Compare the tallies with the runs, change nothing; exit 1 on a difference.",
        )

    def handle(self, *args: Any, team: str | None, check: bool, **options: Any) -> None:
        team_id = None
        if team:
            team_id = Team.objects.filter(slug=team).values_list("pk", flat=True).first()
            if team_id is None:
                raise CommandError(f"No team with the slug {team!r}.")
        if check:
            if not tallies.triggers_present():
                raise CommandError(
                    "The runs table's tally triggers are missing: run without --check."
                )
            problems = tallies.check(team_id)
            for problem in problems[:50]:
                self.stdout.write(problem)
            if problems:
                raise CommandError(f"{len(problems)} tallies differ from the runs table.")
            self.stdout.write("The tallies match the runs table.")
            return
        if not tallies.triggers_present():
            # A bulk load that died before putting them back: without them nothing is counted.
            tallies.drop_triggers()
            tallies.create_triggers()
            self.stdout.write("The runs table's tally triggers were missing: created.")
        tallies.rebuild(team_id)
        self.stdout.write("Tallies rebuilt from the runs table.")
