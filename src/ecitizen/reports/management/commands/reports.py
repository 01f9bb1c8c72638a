"""``ecitizen reports alerts``: the periodic job of the reports app (the scheduler runs it
every 15 minutes; an operator may run it by hand).

Emails each active alert the street reports that became public since its last run and
that it watches, one message per alert. Idempotent: a second run straight after sends
nothing, and the run after a missed one sends each report once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecitizen.reports.services import report_alerts_send


class Command(BaseCommand):
    help = "Email new street reports to the alerts that watch where they are."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["alerts"])

    def handle(self, *args: Any, **options: Any) -> None:
        run = report_alerts_send()
        self.stdout.write(
            f"alerts due: {run.alerts}, emails written: {run.emails}, reports sent: {run.reports}"
        )
