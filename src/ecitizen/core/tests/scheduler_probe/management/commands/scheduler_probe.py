"""The probe job: writes which slot of its cadence this run serves, and which process ran
it, as a ``start`` line, then (after ``SCHEDULER_PROBE_HOLD_SECONDS``, a window in which a
test can kill the process in the middle of the job) a ``done`` line, to the file named by
``SCHEDULER_PROBE_LOG``."""

import os
import time
from typing import Any

from django.core.management.base import BaseCommand

from ecitizen.core.models import ScheduledJob
from ecitizen.core.tests.scheduler_probe.apps import PROBE_JOB


def _line(event: str, slot: str) -> None:
    # One write of one short line with O_APPEND: lines of two processes never mix.
    fd = os.open(os.environ["SCHEDULER_PROBE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{event} {slot} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


class Command(BaseCommand):
    help = "Test only: record the slot this run of the scheduler's probe job serves."

    def handle(self, *args: Any, **options: Any) -> None:
        # The scheduler moves the job's next due time on only once the run has ended, so
        # during the run it is still the slot being served.
        due = ScheduledJob.objects.get(name=PROBE_JOB).next_due_at
        slot = due.isoformat() if due else "first"
        _line("start", slot)
        time.sleep(float(os.environ.get("SCHEDULER_PROBE_HOLD_SECONDS", "0")))
        _line("done", slot)
