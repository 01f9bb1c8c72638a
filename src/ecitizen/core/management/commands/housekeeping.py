"""``ecitizen housekeeping``: periodic clean-up, safe to run as often as wanted (the
scheduler runs it daily as the job ``core.housekeeping``).

Runs each prune hook the apps registered (``registry.register_prune_hook``: stale sign-in
and pay-by-reference failure counts, for instance), removes expired sessions (what Django's
``clearsessions`` does), then prunes finished background-task results.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from ecitizen.core.registry import registry


class Command(BaseCommand):
    help = (
        "Run the apps' clean-ups (stale failure counts...), remove expired sessions and prune "
        "finished task results."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--task-results-days",
            type=int,
            default=7,
            help="Keep finished task results (which hold queued emails) this many days.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for hook in registry.prune_hooks.values():
            pruned = hook.prune()
            self.stdout.write(f"Forgot {pruned} {hook.label}.")
        # A session past its expiry can no longer be used, but it still holds who was signed
        # in and from where: removed here rather than by a separate cron line.
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        self.stdout.write("Removed the expired sessions.")
        if settings.TASKS_BACKEND != "database":
            return  # no task results are stored
        call_command(
            "prune_db_task_results",
            min_age_days=options["task_results_days"],
            stdout=self.stdout,
            stderr=self.stderr,
        )
