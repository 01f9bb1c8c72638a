"""``ecitizen opendata publish``: the periodic job of the open-data app (the scheduler
runs it daily; an operator may run it by hand).

Refreshes the platform's own datasets (``opendata.platform``): each file is built again
and replaces the dataset's file only when it changed, which is one new revision.
Idempotent: a second run straight after changes nothing. Prints one line per dataset.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecitizen.opendata.platform import publish_all


class Command(BaseCommand):
    help = "Publish the platform's own open datasets again (only what changed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["publish"])

    def handle(self, *args: Any, **options: Any) -> None:
        outcomes = publish_all()
        for outcome in outcomes:
            if outcome.action == "skipped":
                line = f"{outcome.slug}: skipped (its department does not exist)"
            else:
                line = (
                    f"{outcome.slug}: {outcome.action}, {outcome.rows} rows, "
                    f"revision {outcome.revision}"
                )
            self.stdout.write(line)
        changed = sum(1 for o in outcomes if o.action in {"created", "updated"})
        self.stdout.write(f"datasets changed: {changed} of {len(outcomes)}")
