"""``ecitizen scheduler``: run the periodic jobs the apps registered, one scheduler across
all machines (:mod:`ecitizen.core.scheduler`).

- ``ecitizen scheduler``: run for ever. Start one on each machine that may run it: the one
  holding the lock runs the jobs, the others wait and take over when it stops. SIGTERM or
  Ctrl+C stops it once the job under way has finished.
- ``ecitizen scheduler --once``: run what is due now, then exit (tests, or cron instead of
  a long-running process). Exits with an error when a job failed; does nothing (and says
  so) while another scheduler holds the lock.
- ``ecitizen scheduler --list``: each job, its command and schedule, its last run and
  result, when it is due next, and which scheduler holds the lock.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ecitizen.core.scheduler import (
    DEFAULT_INTERVAL,
    DEFAULT_LEASE,
    Scheduler,
    period_label,
    scheduler_lock,
    scheduler_status,
)


def _when(moment: datetime | None, *, empty: str = "never") -> str:
    if moment is None:
        return empty
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


class Command(BaseCommand):
    help = "Run the periodic jobs the apps register (exactly one scheduler runs them)."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--list", action="store_true", help="Show the jobs and their last run.")
        mode.add_argument("--once", action="store_true", help="Run the due jobs, then exit.")
        parser.add_argument(
            "--interval",
            type=int,
            default=int(DEFAULT_INTERVAL.total_seconds()),
            help="Seconds between two looks for due jobs, and between a standby's attempts "
            "to take over (default %(default)s).",
        )
        parser.add_argument(
            "--lease-seconds",
            type=int,
            default=int(DEFAULT_LEASE.total_seconds()),
            help="Without PostgreSQL: how long the running scheduler's lease lasts unless "
            "renewed; a standby takes over this long after it stopped (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        if options["interval"] < 1 or options["lease_seconds"] < 3:
            raise CommandError("--interval must be at least 1 and --lease-seconds at least 3")
        lease = timedelta(seconds=options["lease_seconds"])
        scheduler = Scheduler(
            lock=scheduler_lock(lease=lease),
            interval=timedelta(seconds=options["interval"]),
            lease=lease,
        )
        if options["once"]:
            self._once(scheduler, verbosity=options["verbosity"])
            return
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _stop)
        self.stdout.write(f"Scheduler {scheduler.lock.holder} started (Ctrl+C stops it).")
        scheduler.serve(stop)

    def _once(self, scheduler: Scheduler, *, verbosity: int) -> None:
        outcomes = scheduler.run_once()
        if outcomes is None:
            self.stdout.write("Another scheduler holds the lock: nothing was run.")
            return
        if not outcomes:
            self.stdout.write("No job is due.")
        for outcome in outcomes:
            seconds = (outcome.finished_at - outcome.started_at).total_seconds()
            result = "ok" if outcome.ok else f"FAILED: {outcome.error}"
            self.stdout.write(f"{outcome.name}: {result} ({seconds:.1f}s)")
            if outcome.output.strip() and verbosity >= 2:
                self.stdout.write("    " + outcome.output.strip().replace("\n", "\n    "))
        failed = [outcome.name for outcome in outcomes if not outcome.ok]
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}")

    def _list(self) -> None:
        statuses, lease = scheduler_status()
        now = timezone.now()
        if lease is None or not lease.holder:
            self.stdout.write("Scheduler: none running.")
        elif lease.expires_at <= now:
            self.stdout.write(
                f"Scheduler: none running (last: {lease.holder}, seen {_when(lease.renewed_at)})."
            )
        else:
            self.stdout.write(
                f"Scheduler: {lease.holder}, running since {_when(lease.acquired_at)}, "
                f"seen {_when(lease.renewed_at)}."
            )
        if not statuses:
            self.stdout.write("No periodic job is registered.")
            return
        rows = [("JOB", "SCHEDULE", "COMMAND", "LAST RUN", "RESULT", "NEXT DUE")]
        for status in statuses:
            state = status.state
            due = state.next_due_at
            rows.append(
                (
                    status.job.name,
                    period_label(status.job.every),
                    "ecitizen " + " ".join(status.job.command),
                    _when(state.last_started_at),
                    state.last_result or "-",
                    "now" if due is None or due <= now else _when(due),
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())
        for status in statuses:
            if status.state.last_result == "failed" and status.state.last_error:
                error = status.state.last_error.strip().splitlines()[0]
                self.stdout.write(f"{status.job.name} last failed with: {error}")
