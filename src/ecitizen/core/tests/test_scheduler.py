"""The scheduler: each job runs when due, a missed run is caught up once, a failure is
recorded, exactly one scheduler holds the lock (a lease, or PostgreSQL's advisory lock,
also against a second process), ``--list`` and ``--once``. Time is frozen throughout."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ecitizen.core.models import ScheduledJob, SchedulerLease
from ecitizen.core.registry import PeriodicJob, registry
from ecitizen.core.scheduler import (
    AdvisoryLock,
    LeaseLock,
    Scheduler,
    job_run,
    jobs_due,
    next_due_after,
    period_label,
    scheduler_jobs_check,
    scheduler_lock,
)
from ecitizen.core.services import audit_record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TICK = PeriodicJob("test.tick", ("tick",), HOUR)
SWEEP = PeriodicJob("test.sweep", ("sweep", "--all"), timedelta(days=1))


class Runner:
    """Stands for ``call_command``: records each command; fails the ones in ``failing``."""

    def __init__(self, failing=()):
        self.calls: list[tuple[str, ...]] = []
        self.failing = set(failing)

    def __call__(self, *command, stdout, stderr):
        self.calls.append(command)
        if command[0] in self.failing:
            stderr.write("the details")
            raise CommandError(f"{command[0]} broke")
        stdout.write(f"{command[0]} done")


def _scheduler(runner, *, jobs=(TICK,), holder="a"):
    return Scheduler(lock=LeaseLock(holder=holder), jobs=lambda: jobs, run_command=runner)


# --- the cadence ----------------------------------------------------------------------------


def test_next_due_is_the_next_slot_of_the_cadence():
    assert next_due_after(due=T0, every=HOUR, now=T0 - timedelta(minutes=5)) == T0
    assert next_due_after(due=T0, every=HOUR, now=T0) == T0 + HOUR
    assert next_due_after(due=T0, every=HOUR, now=T0 + timedelta(minutes=59)) == T0 + HOUR
    # Three and a half periods missed: due once more, at the next slot, rhythm kept.
    assert next_due_after(due=T0, every=HOUR, now=T0 + 3.5 * HOUR) == T0 + 4 * HOUR
    with pytest.raises(ValueError, match="positive"):
        next_due_after(due=T0, every=timedelta(0), now=T0)


def test_schedules_read_as_words():
    assert period_label(timedelta(minutes=5)) == "every 5 minutes"
    assert period_label(HOUR) == "every hour"
    assert period_label(timedelta(days=1)) == "every day"
    assert period_label(timedelta(hours=1, minutes=30)) == "every 1 hour 30 minutes"
    assert period_label(timedelta(days=2)) == "every 2 days"


# --- running what is due ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_job_runs_at_once_then_every_period():
    runner = Runner()
    scheduler = _scheduler(runner, jobs=(TICK, SWEEP))
    with time_machine.travel(T0, tick=False):
        assert [o.name for o in scheduler.run_once()] == ["test.sweep", "test.tick"]
        assert scheduler.run_once() == []  # nothing more is due
    tick = ScheduledJob.objects.get(name="test.tick")
    assert (tick.last_started_at, tick.last_finished_at) == (T0, T0)
    assert (tick.last_result, tick.runs, tick.next_due_at) == ("ok", 1, T0 + HOUR)
    with time_machine.travel(T0 + HOUR - timedelta(seconds=1), tick=False):
        assert scheduler.run_once() == []
    with time_machine.travel(T0 + HOUR, tick=False):
        assert [o.name for o in scheduler.run_once()] == ["test.tick"]
    assert runner.calls == [("sweep", "--all"), ("tick",), ("tick",)]


@pytest.mark.django_db
def test_a_job_missed_for_three_periods_is_caught_up_once():
    runner = Runner()
    scheduler = _scheduler(runner)
    with time_machine.travel(T0, tick=False):
        scheduler.run_once()
    # No scheduler ran for three and a half hours.
    late = T0 + 3.5 * HOUR
    with time_machine.travel(late, tick=False):
        assert [job.name for job in jobs_due(jobs=[TICK], now=late)] == ["test.tick"]
        scheduler.run_once()
        scheduler.run_once()
        assert jobs_due(jobs=[TICK], now=late) == []
    assert runner.calls == [("tick",), ("tick",)]
    tick = ScheduledJob.objects.get(name="test.tick")
    assert (tick.runs, tick.next_due_at) == (2, T0 + 4 * HOUR)  # the rhythm is kept
    with time_machine.travel(T0 + 4 * HOUR, tick=False):
        scheduler.run_once()
    assert len(runner.calls) == 3


@pytest.mark.django_db
def test_the_longest_overdue_job_runs_first():
    runner = Runner()
    with time_machine.travel(T0, tick=False):
        _scheduler(runner, jobs=(TICK, SWEEP)).run_once()
    runner.calls.clear()
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        # The sweep was due a day after T0, the tick an hour after: the tick first.
        _scheduler(runner, jobs=(SWEEP, TICK)).run_once()
    assert runner.calls == [("tick",), ("sweep", "--all")]


@pytest.mark.django_db
def test_a_failed_job_is_recorded_and_tried_at_its_next_slot(caplog):
    runner = Runner(failing={"tick"})
    with time_machine.travel(T0, tick=False):
        outcomes = _scheduler(runner, jobs=(TICK, SWEEP)).run_once()
    assert [(o.name, o.ok) for o in outcomes] == [("test.sweep", True), ("test.tick", False)]
    tick = ScheduledJob.objects.get(name="test.tick")
    assert tick.last_result == "failed"
    assert tick.last_error == "CommandError: tick broke\nthe details"
    assert tick.next_due_at == T0 + HOUR
    assert "job test.tick failed: CommandError: tick broke" in caplog.text


@pytest.mark.django_db
def test_a_job_interrupted_by_the_end_of_its_scheduler_stays_due():
    class Died(BaseException):  # the process ends in the middle of the job
        pass

    def dies(*command, stdout, stderr):
        raise Died

    with time_machine.travel(T0, tick=False):
        with pytest.raises(Died):
            job_run(job=TICK, run_command=dies)
        tick = ScheduledJob.objects.get(name="test.tick")
        assert (tick.last_result, tick.next_due_at) == ("running", None)
        # The scheduler that takes over runs it again.
        assert jobs_due(jobs=[TICK], now=T0) == [TICK]


# --- one scheduler ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_lease_holder_and_a_standby_that_takes_over_when_it_expires():
    lease = timedelta(seconds=60)
    a = LeaseLock(holder="machine-a:1:aa", lease=lease)
    b = LeaseLock(holder="machine-b:2:bb", lease=lease)
    with time_machine.travel(T0, tick=False):
        assert a.acquire()
        assert not b.acquire()
    with time_machine.travel(T0 + timedelta(seconds=50), tick=False):
        assert a.held()  # renewed until T0+110s
        assert not b.acquire()
    with time_machine.travel(T0 + timedelta(seconds=109), tick=False):
        assert not b.acquire()
    # a stopped renewing (killed, or cut off from the database): b takes over.
    with time_machine.travel(T0 + timedelta(seconds=110), tick=False):
        assert b.acquire()
        assert not a.held()
        assert not a.acquire()
        b.release()
        assert a.acquire()  # a released lease is free at once
    row = SchedulerLease.objects.get()
    assert row.holder == "machine-a:1:aa"


@pytest.mark.django_db
def test_a_second_scheduler_runs_nothing_while_the_first_holds_the_lock():
    runner = Runner()
    first = scheduler_lock(holder="first")  # this database's kind of lock
    try:
        with time_machine.travel(T0, tick=False):
            assert first.acquire()
            second = Scheduler(
                lock=scheduler_lock(holder="second"), jobs=lambda: [TICK], run_command=runner
            )
            assert second.run_once() is None
            out = StringIO()
            call_command("scheduler", "--once", stdout=out)
            assert out.getvalue() == "Another scheduler holds the lock: nothing was run.\n"
    finally:
        first.release()
    assert runner.calls == []
    assert not ScheduledJob.objects.filter(runs__gt=0).exists()


@pytest.mark.django_db
def test_serving_runs_the_due_jobs_and_releases_the_lock_when_stopped():
    stop = threading.Event()

    def runner(*command, stdout, stderr):
        stop.set()  # as SIGTERM arriving during the job: it is finished first

    scheduler = _scheduler(runner, holder="serving")
    with time_machine.travel(T0, tick=False):
        scheduler.serve(stop)
    assert ScheduledJob.objects.get(name="test.tick").last_result == "ok"
    lease = SchedulerLease.objects.get()
    assert (lease.holder, lease.expires_at) == ("", T0)


@pytest.mark.django_db
def test_serving_as_a_standby_runs_nothing():
    runner = Runner()
    with time_machine.travel(T0, tick=False):
        assert LeaseLock(holder="running").acquire()
        stop = threading.Event()
        scheduler = _scheduler(runner, holder="standby")
        scheduler.interval = timedelta(0)
        attempts = []
        acquire = scheduler.lock.acquire

        def counting_acquire():
            attempts.append(1)
            if len(attempts) == 3:
                stop.set()
            return acquire()

        scheduler.lock.acquire = counting_acquire  # type: ignore[method-assign]
        scheduler.serve(stop)
    assert len(attempts) == 3
    assert runner.calls == []
    assert SchedulerLease.objects.get().holder == "running"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock")
@pytest.mark.django_db
def test_postgresql_advisory_lock_one_session_at_a_time():
    a, b = AdvisoryLock(holder="a"), AdvisoryLock(holder="b")
    try:
        assert a.acquire()
        assert a.held()
        assert not b.acquire()
        a.release()
        assert not a.held()
        assert b.acquire()
        # The holder's session ends (the process died): the lock goes with it.
        b._session.close()
        assert not b.held()
        assert a.acquire()
    finally:
        a.release()
        b.release()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock")
@pytest.mark.django_db
def test_postgresql_a_scheduler_in_another_process_stands_by():
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@"
        f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/"
        f"{settings_dict['NAME']}"
    )
    holder = AdvisoryLock(holder="this-test")
    try:
        assert holder.acquire()
        other = subprocess.run(
            [sys.executable, "-m", "ecitizen", "scheduler", "--once"],
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        holder.release()
    assert other.returncode == 0, other.stderr
    assert "Another scheduler holds the lock: nothing was run." in other.stdout


# --- the command ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_once_runs_every_registered_job_then_nothing_until_due():
    out = StringIO()
    with time_machine.travel(T0, tick=False):
        # A platform in use: its audit trail has something for the daily anchor to sign.
        audit_record(action="test.something_happened", object_type="test", object_id="1")
        call_command("scheduler", "--once", stdout=out)
        lines = out.getvalue().splitlines()
        assert sorted(line.split(":")[0] for line in lines) == sorted(registry.jobs)
        assert all(": ok (" in line for line in lines), lines
        again = StringIO()
        call_command("scheduler", "--once", stdout=again)
        assert again.getvalue() == "No job is due.\n"
    assert set(ScheduledJob.objects.values_list("last_result", flat=True)) == {"ok"}


@pytest.mark.django_db
def test_once_exits_with_an_error_when_a_job_failed(monkeypatch):
    monkeypatch.setattr(registry, "jobs", {"test.tick": TICK})
    out = StringIO()
    with time_machine.travel(T0, tick=False), pytest.raises(CommandError, match=r"test\.tick"):
        call_command("scheduler", "--once", stdout=out)  # there is no command "tick"
    assert out.getvalue().startswith("test.tick: FAILED: CommandError: Unknown command: 'tick'")


@pytest.mark.django_db
def test_list_shows_each_job_its_schedule_last_run_and_result(settings, monkeypatch):
    settings.TIME_ZONE = "UTC"
    jobs = {"test.sweep": SWEEP, "test.tick": TICK}
    monkeypatch.setattr(registry, "jobs", jobs)
    with time_machine.travel(T0, tick=False):
        job_run(job=TICK, run_command=Runner(failing={"tick"}))
        assert LeaseLock(holder="host-a:12:ab").acquire()
    out = StringIO()
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        call_command("scheduler", "--list", stdout=out)
    assert out.getvalue().splitlines() == [
        "Scheduler: host-a:12:ab, running since 2026-03-02 09:00:00 UTC, "
        "seen 2026-03-02 09:00:00 UTC.",
        "JOB         SCHEDULE    COMMAND               LAST RUN                 RESULT  NEXT DUE",
        "test.sweep  every day   ecitizen sweep --all  never                    -       now",
        "test.tick   every hour  ecitizen tick         2026-03-02 09:00:00 UTC  failed  "
        "2026-03-02 10:00:00 UTC",
        "test.tick last failed with: CommandError: tick broke",
    ]
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        later = StringIO()
        call_command("scheduler", "--list", stdout=later)
    assert later.getvalue().startswith(
        "Scheduler: none running (last: host-a:12:ab, seen 2026-03-02 09:00:00 UTC)."
    )


def test_the_platform_registers_its_periodic_work():
    every = {name: job.every for name, job in registry.jobs.items()}
    assert every["cases.tick"] == HOUR
    assert every["payments.reconcile"] == timedelta(minutes=5)
    assert every["core.cache_prune"] == timedelta(minutes=10)
    for daily in (
        "taxes.remind",
        "core.housekeeping",
        "documents.sweep",
        "core.audit_anchor",
        "payments.ledger_check",
    ):
        assert every[daily] == timedelta(days=1)
    assert scheduler_jobs_check() == []


def test_a_job_naming_no_command_fails_the_check(monkeypatch):
    monkeypatch.setattr(registry, "jobs", {"test.tick": TICK})
    assert [error.id for error in scheduler_jobs_check()] == ["ecitizen.E032"]
