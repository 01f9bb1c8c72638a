"""``ecitizen housekeeping``: periodic clean-up, safe to run as often as wanted (cron, a
systemd timer or a Kubernetes CronJob; daily is enough)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from ecitizen.accounts.services import signin_throttle_prune
from ecitizen.payments.services import pay_throttle_prune


class Command(BaseCommand):
    help = "Forget stale sign-in failure counts and prune finished background-task results."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--task-results-days",
            type=int,
            default=7,
            help="Keep finished task results (which hold queued emails) this many days.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = signin_throttle_prune()
        self.stdout.write(f"Forgot {pruned} stale sign-in failure counts.")
        pruned = pay_throttle_prune()
        self.stdout.write(f"Forgot {pruned} stale pay-by-reference failure counts.")
        if settings.TASKS_BACKEND != "database":
            return  # no task results are stored
        call_command(
            "prune_db_task_results",
            min_age_days=options["task_results_days"],
            stdout=self.stdout,
            stderr=self.stderr,
        )
