"""``ecitizen payments reconcile``: the periodic job that settles or expires unfinished
payments by asking their provider (run it every few minutes). Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ecitizen.payments.services import payments_reconcile


class Command(BaseCommand):
    help = "Ask providers about unfinished payments; settle or expire them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["reconcile"])

    def handle(self, *args: Any, **options: Any) -> None:
        checked, expired = payments_reconcile()
        self.stdout.write(f"unfinished payments checked: {checked}, expired: {expired}")
