"""``ecitizen cases tick``: the periodic job of the cases app (run it every hour or so).

Reminds residents of applications about to expire, expires old ones, and escalates
nearly-due and overdue cases to supervisors. Idempotent: running it twice in a row does
nothing more the second time.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecitizen.cases.services import cases_escalate, drafts_expire


class Command(BaseCommand):
    help = "Periodic work on applications and cases: draft reminders and expiry, SLA escalation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["tick"])

    def handle(self, *args: Any, **options: Any) -> None:
        reminded, expired = drafts_expire()
        escalated = cases_escalate()
        self.stdout.write(
            f"drafts reminded: {reminded}, drafts expired: {expired}, cases escalated: {escalated}"
        )
