"""``ecitizen voting archive|tick``.

``archive SLUG DIR`` writes the election's public archive into DIR as ``<uuid>.bel``,
ready for ``belenios-tool election verify --dir DIR`` or ``ecitizen-verify DIR``.

``tick`` closes the ballot box of every open election whose closing time has passed
(EndBallots, the encrypted tally, the server's partial decryption), and asks its trustees
to decrypt. The scheduler runs it every five minutes; it is idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Voting: write an election's public archive; close ballot boxes whose time is over."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        archive = commands.add_parser("archive", help="Write an election's archive (.bel).")
        archive.add_argument("slug", help="The election's short name.")
        archive.add_argument("dir", help="The folder to write <uuid>.bel into (created if needed).")
        commands.add_parser("tick", help="Close the ballot boxes whose closing time has passed.")

    def handle(self, *args: Any, **options: Any) -> None:
        from ecitizen.voting.services.counting import election_close, elections_due_close
        from ecitizen.voting.services.record import archive_write

        if options["subcommand"] == "archive":
            try:
                path, size = archive_write(slug=options["slug"], folder=Path(options["dir"]))
            except LookupError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"wrote {path} ({size} bytes)")
            return
        closed = 0
        for election in elections_due_close():
            election_close(election=election, actor=None)
            closed += 1
        self.stdout.write(f"{closed} ballot boxes closed")
