"""Two real ``ecitizen scheduler`` processes, started at the same time against the test
database, run each period of a job exactly once, also when the one running the jobs is
killed with SIGKILL in the middle of a job: the other takes over, runs that period again
(the killed run never finished) and carries on; no period is lost, none is run twice.

The job is the probe of the test-only app ``scheduler_probe`` (installed by the settings
module ``ecitizen.core.tests.scheduler_settings``), registered like every app's job. It
runs every :data:`PERIOD` seconds and writes a ``start`` and, :data:`HOLD` seconds later,
a ``done`` line naming the slot of its cadence it serves (the job's due time, which the
scheduler moves on only when a run ends) and its process. PostgreSQL only: the lock is
its session advisory lock, released when the killed process's session ends.

The lock's session also ends only with its scheduler: a server's idle-session timeout
does not end it while a job runs (a standby would then run that job a second time).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from ecitizen.core.models import ScheduledJob
from ecitizen.core.registry import registry
from ecitizen.core.scheduler import AdvisoryLock, scheduled_jobs_ensure
from ecitizen.core.tests.scheduler_probe.apps import PROBE_JOB
from tests.processes import postgres_url, process_env, show_logs, spawn, wait_for

pytestmark = [
    pytest.mark.db_specific,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock"),
]

#: The probe's period, and how long each run lasts (the window to kill a process in).
PERIOD = 3
HOLD = 0.3
#: Periods run before the kill (by the first scheduler) and in all.
BEFORE_KILL = 2
PERIODS = 5
#: Waits poll often: a run lasts :data:`HOLD` seconds, the window to kill a process in.
_wait_for = partial(wait_for, interval=0.05)


class ProbeLog:
    """The probe's lines: ``(event, slot, pid)``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[tuple[str, str, int]]:
        if not self.path.exists():
            return []
        return [
            (event, slot, int(pid))
            for event, slot, pid in (line.split() for line in self.path.read_text().splitlines())
        ]

    def done(self) -> list[tuple[str, int]]:
        return [(slot, pid) for event, slot, pid in self.lines() if event == "done"]

    def started_unfinished(self) -> tuple[str, int] | None:
        """A run under way: the last line is a ``start``."""
        lines = self.lines()
        if lines and lines[-1][0] == "start":
            return lines[-1][1], lines[-1][2]
        return None


@pytest.fixture
def schedulers(tmp_path: Path) -> Iterator[tuple[list[subprocess.Popen], ProbeLog]]:
    """Two ``ecitizen scheduler --interval 1`` processes on the test database, the probe
    not yet due and every platform job out of the way (due in a year); both are stopped
    at the end, and their output shown."""
    scheduled_jobs_ensure(registry.jobs.values())
    ScheduledJob.objects.update(next_due_at=timezone.now() + timedelta(days=365))
    ScheduledJob.objects.create(name=PROBE_JOB, next_due_at=timezone.now() + timedelta(days=365))
    log = ProbeLog(tmp_path / "probe.log")
    env = process_env(
        DJANGO_SETTINGS_MODULE="ecitizen.core.tests.scheduler_settings",
        DATABASE_URL=postgres_url(connection.settings_dict),
        SCHEDULER_PROBE_LOG=str(log.path),
        SCHEDULER_PROBE_SECONDS=str(PERIOD),
        SCHEDULER_PROBE_HOLD_SECONDS=str(HOLD),
        PYTHONUNBUFFERED="1",  # "started" reaches the file at once
    )
    processes = [
        spawn(
            # --skip-checks: the system checks import every view, which doubles the start
            # on a busy machine and is not what this test is about.
            [sys.executable, "-m", "ecitizen", "scheduler", "--interval", "1", "--skip-checks"],
            env=env,
            log=tmp_path / f"scheduler-{name}.log",
        )
        for name in ("a", "b")
    ]
    try:
        yield processes, log
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        show_logs(tmp_path.glob("scheduler-*.log"))


@pytest.mark.django_db(transaction=True)  # the schedulers see committed rows only
def test_two_schedulers_run_each_period_once_and_survive_a_kill(schedulers):
    processes, log = schedulers
    _wait_for(
        lambda: all(
            b"started" in (log.path.parent / f"scheduler-{name}.log").read_bytes()
            for name in ("a", "b")
        ),
        "both schedulers to start",
        processes=processes,
    )
    # The first slot: in a moment, on a whole second, so that slots are easy to read.
    first = (timezone.now() + timedelta(seconds=1)).replace(microsecond=0)
    ScheduledJob.objects.filter(name=PROBE_JOB).update(next_due_at=first)

    _wait_for(lambda: len(log.done()) >= BEFORE_KILL, "the first periods", processes=processes)
    running = {pid for _slot, pid in log.done()}
    assert len(running) == 1, "the standby ran a job while the other held the lock"
    (active,) = running
    # Kill it in the middle of its next run: started, not finished.
    killed_slot, pid = _wait_for(log.started_unfinished, "a run under way", processes=processes)
    assert pid == active
    victim = next(process for process in processes if process.pid == active)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert (killed_slot, active) not in log.done(), "the run finished before the kill"

    _wait_for(lambda: len(log.done()) >= PERIODS, "the later periods", processes=processes)
    survivor = next(process for process in processes if process is not victim)
    survivor.send_signal(signal.SIGTERM)  # a run under way is finished first
    assert survivor.wait(timeout=20) == 0

    done = log.done()
    slots = [slot for slot, _pid in done]
    expected = [(first + k * timedelta(seconds=PERIOD)).isoformat() for k in range(len(done))]
    # Every period once, in order: none lost (the killed one included), none doubled.
    assert slots == expected
    assert [pid for _slot, pid in done] == [active] * BEFORE_KILL + [survivor.pid] * (
        len(done) - BEFORE_KILL
    )
    # The only run started twice is the killed one: by the victim, then by the survivor.
    starts = Counter((slot, pid) for event, slot, pid in log.lines() if event == "start")
    assert starts == Counter({**dict.fromkeys(done, 1), (killed_slot, active): 1})
    assert killed_slot == expected[BEFORE_KILL]
    # The scheduler's own record agrees: one finished run per period.
    probe = ScheduledJob.objects.get(name=PROBE_JOB)
    assert (probe.runs, probe.last_result) == (len(done), "ok")
    assert probe.next_due_at == first + len(done) * timedelta(seconds=PERIOD)


@pytest.mark.django_db
def test_the_lock_session_ends_with_its_scheduler_and_only_then(monkeypatch):
    """A server (or role) with ``idle_session_timeout`` ends sessions idle that long. The
    lock's session is idle while a job runs: ended, it would free the lock under the
    running scheduler, and a standby would run the same job, still due, a second time.
    And a holder whose machine vanished is found dead by TCP keepalives within a minute,
    not the server's default two hours."""
    monkeypatch.setenv("PGOPTIONS", "-c idle_session_timeout=500")  # new sessions: 0.5 s
    holder, standby = AdvisoryLock(holder="holder"), AdvisoryLock(holder="standby")
    try:
        assert holder.acquire()
        time.sleep(1.5)  # a job runs
        assert holder.held()
        assert not standby.acquire()
        with holder._session.cursor() as cursor:
            cursor.execute(
                "SELECT inet_client_addr() IS NOT NULL, current_setting('tcp_keepalives_idle'),"
                " current_setting('tcp_keepalives_interval'),"
                " current_setting('tcp_keepalives_count')"
            )
            over_tcp, *keepalives = cursor.fetchone()
        if over_tcp:  # over a Unix socket a dead peer is seen at once, and these are 0
            assert keepalives == ["30", "10", "3"]
    finally:
        holder.release()
        standby.release()
