"""``ecitizen ledger check``: prove that every ledger transaction balances and that each
bill's paid and refunded amounts equal its postings. Exits 1 when they do not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.payments.ledger import ledger_verify


class Command(BaseCommand):
    help = "Check the double-entry ledger: balanced transactions, bills equal to postings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_verify()
        for key in report.unbalanced:
            self.stderr.write(f"unbalanced transaction: {key}")
        for line in report.bill_mismatches:
            self.stderr.write(f"bill does not match its postings: {line}")
        if not report.ok:
            raise CommandError(
                f"The ledger is NOT consistent: {len(report.unbalanced)} unbalanced "
                f"transactions, {len(report.bill_mismatches)} bills not matching."
            )
        self.stdout.write(
            f"The ledger is consistent: {report.transactions} transactions balance and every "
            "bill equals its postings."
        )
