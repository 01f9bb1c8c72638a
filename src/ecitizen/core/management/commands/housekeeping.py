"""``ecitizen housekeeping [--dry-run]``: periodic clean-up, safe to run as often as wanted
(the scheduler runs it daily as the job ``core.housekeeping``).

Runs each prune hook the apps registered (``registry.register_prune_hook``: stale sign-in
and pay-by-reference failure counts, for instance), removes expired sessions (what Django's
``clearsessions`` does), deletes the stored files that no row names
(:func:`ecitizen.core.stored_files.orphans_sweep`: older than
``STORAGE_ORPHAN_GRACE_HOURS``, under the folders the apps declare), then prunes finished
background-task results.

``--dry-run`` deletes nothing: it lists the stored files the sweep would delete, and skips
the other clean-ups (which cannot say what they would do without doing it).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.core.registry import registry
from ecitizen.core.stored_files import orphans_sweep


class Command(BaseCommand):
    help = (
        "Run the apps' clean-ups (stale failure counts...), remove expired sessions, delete "
        "stored files that no row names and prune finished task results."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--task-results-days",
            type=int,
            default=7,
            help="Keep finished task results (which hold queued emails) this many days.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=(
                "Delete nothing: list the stored files that no row names which would be "
                "deleted, and skip the other clean-ups."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            sweep = orphans_sweep(dry_run=True)
            for name in sweep.orphans:
                self.stdout.write(f"Would delete {name}")
            self.stdout.write(
                f"Would delete {len(sweep.orphans)} stored files that no row names (of "
                f"{sweep.listed} listed, written more than {sweep.grace} ago). Nothing was "
                "deleted (--dry-run)."
            )
            return
        for hook in registry.prune_hooks.values():
            pruned = hook.prune()
            self.stdout.write(f"Forgot {pruned} {hook.label}.")
        # A session past its expiry can no longer be used, but it still holds who was signed
        # in and from where: removed here rather than by a separate cron line.
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        self.stdout.write("Removed the expired sessions.")
        sweep = orphans_sweep()
        self.stdout.write(
            f"Deleted {len(sweep.orphans)} stored files that no row names (of {sweep.listed} "
            f"listed, written more than {sweep.grace} ago)."
        )
        if settings.TASKS_BACKEND == "database":  # else no task results are stored
            call_command(
                "prune_db_task_results",
                min_age_days=options["task_results_days"],
                stdout=self.stdout,
                stderr=self.stderr,
            )
        if sweep.failed:
            # After the other clean-ups, which do not depend on the storage; the job is then
            # recorded as failed, so that someone looks at the log.
            more = "..." if len(sweep.failed) > 3 else ""
            raise CommandError(
                f"Could not delete {len(sweep.failed)} stored files that no row names "
                f"({', '.join(sweep.failed[:3])}{more}): see the log."
            )
