"""``ecitizen webhooks retry|prune``.

``retry`` queues the webhook deliveries whose next attempt is due (after a failure, with
exponential backoff); the scheduler runs it every minute. Idempotent: a delivery queued
twice is sent once.

``prune`` deletes finished deliveries older than ``--days`` (90 by default) from the log.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Webhooks: queue the deliveries due for another attempt; prune the delivery log."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        commands.add_parser("retry", help="Queue the deliveries due for another attempt.")
        prune = commands.add_parser("prune", help="Delete finished deliveries older than N days.")
        prune.add_argument("--days", type=int, default=90)

    def handle(self, *args: Any, **options: Any) -> None:
        from ecitizen.api.webhooks import deliveries_prune, deliveries_retry

        if options["subcommand"] == "prune":
            count = deliveries_prune(older_than_days=max(1, options["days"]))
            self.stdout.write(f"{count} old deliveries deleted")
            return
        count = deliveries_retry()
        self.stdout.write(f"{count} deliveries queued")
