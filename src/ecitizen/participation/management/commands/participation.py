"""``ecitizen participation export-pabulib|announce``.

``export-pabulib SLUG FILE [--heading SLUG]`` writes the ballots of the budget of process
``SLUG`` as a Pabulib ``.pb`` file (https://pabulib.org/format): the whole budget as one
instance, or one heading's with ``--heading``. Voters are anonymised (numbered in a
random order); nothing in the file names a person.

``announce`` tells the followers of each process of the phases that have begun and the
results published since the last run (the scheduler runs it hourly; idempotent: each
phase and each result is announced once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Participation: export a budget's ballots as Pabulib, announce phases to followers."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        export = commands.add_parser("export-pabulib", help="Write a budget's ballots as Pabulib.")
        export.add_argument("slug", help="The process whose budget to export.")
        export.add_argument("file", help="Where to write the .pb file.")
        export.add_argument("--heading", help="Only this heading (its slug).")
        commands.add_parser("announce", help="Tell followers of new phases and results.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "export-pabulib":
            from ecitizen.participation.services.budgets import budget_pabulib_write
            from ecitizen.participation.services.common import ParticipationError

            try:
                summary = budget_pabulib_write(
                    slug=options["slug"], path=Path(options["file"]), heading=options["heading"]
                )
            except ParticipationError as error:
                raise CommandError(str(error.message)) from error
            self.stdout.write(summary)
        else:
            from ecitizen.participation.services.follows import phases_announce

            announced = phases_announce()
            self.stdout.write(f"{announced} announcements sent")
