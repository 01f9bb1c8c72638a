"""``ecitizen audit verify``: recompute the audit hash chain and name the first broken row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.core.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Audit trail tools. 'verify' checks the whole hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify()
        if not report.ok:
            where = f"event #{report.broken_sequence}"
            if report.broken_id is not None:
                where += f" (row id {report.broken_id})"
            raise CommandError(
                f"Audit chain BROKEN at {where}: {report.reason}. "
                f"{report.events_checked} events before it are intact."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.events_checked} events; head hash {report.head_hash}"
            )
        )
