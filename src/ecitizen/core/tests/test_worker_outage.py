"""The worker and database outages (``core.outages``, ``ecitizen worker``): a task cut by a
transient database error runs again, a bounded number of times, and has its effect once
(an email the mail server took before the cut is recorded, not sent again, unless the
database stays away past its claim: then it goes again with its Message-ID); any other
error fails it as before; the worker and its heartbeat wait for the database instead of
exiting, and say so once.

The errors are the database's own. On PostgreSQL the worker's session is really
terminated (``pg_terminate_backend``) just before a statement the test chooses, which
then fails on the lost connection. SQLite has no session to cut: there, the statement
fails with "database is locked", as when another writer holds the file past the busy
timeout. Real worker processes cut from outside: ``tests/faults/test_worker_database_cut.py``.
"""

from __future__ import annotations

import logging
import re
import signal
import sqlite3
import threading
from contextlib import contextmanager, suppress
from datetime import timedelta

import psycopg
import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, InterfaceError, OperationalError, ProgrammingError, connection
from django.utils import timezone
from django_tasks import task
from django_tasks.signals import task_finished
from django_tasks_db.models import DBTaskResult

from ecitizen.core import outages
from ecitizen.core.management.commands.worker import Heartbeat
from ecitizen.core.models import WorkerHeartbeat
from ecitizen.core.outages import TASK_RETRY_DELAYS, DatabaseOutage, is_transient_database_error
from ecitizen.core.tests.worker_support import batch_worker, execute_sql, queue_email
from ecitizen.notifications.models import Status

pytestmark = pytest.mark.db_specific

#: The statements of a delivery task's claim of its notification (the first it runs).
NOTIFICATION_CLAIM = r'FROM "notifications_notification"'
#: The worker's claim of a task (PostgreSQL: SQLite has no SKIP LOCKED).
TASK_CLAIM = r"FOR UPDATE SKIP LOCKED"
#: The worker's recording of a finished run (successful or failed).
RECORD_OUTCOME = r'^UPDATE "django_tasks_database_dbtaskresult" SET "status" = %s, "finished_at"'
OUTAGE_STARTS = "database unavailable"
OUTAGE_ENDS = "database available again"
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a claim that fails on a lost connection (SQLite: django-tasks-db already "
    "retries a locked claim)",
)


class Cut:
    """An execute wrapper (``connection.execute_wrapper``): the statements matching
    ``pattern``, after ``skip`` of them, fail ``times`` times with a transient error of
    the database (see the module's text)."""

    def __init__(self, pattern, *, times=1, skip=0):
        self.pattern = re.compile(pattern)
        self.times = times
        self.skip = skip
        self.cuts = 0

    def __call__(self, execute, sql, params, many, context):
        if self.cuts < self.times and self.pattern.search(sql):
            if self.skip:
                self.skip -= 1
            else:
                self.cuts += 1
                database = context["connection"]
                if database.vendor != "postgresql":
                    raise OperationalError("database is locked") from sqlite3.OperationalError(
                        "database is locked"
                    )
                # Already closed by an earlier cut: the statement fails all the same.
                with suppress(psycopg.OperationalError):
                    database.connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return execute(sql, params, many, context)


def _before(pattern, action):
    """An execute wrapper that calls ``action`` once, before the first statement
    matching ``pattern``."""
    pending = [action]

    def wrapper(execute, sql, params, many, context):
        if pending and re.search(pattern, sql):
            pending.pop()()
        return execute(sql, params, many, context)

    return wrapper


@pytest.fixture
def quick_pauses(monkeypatch):
    """The worker's pauses while the database is away: hundredths of a second."""
    monkeypatch.setattr(outages, "FIRST_PAUSE", 0.01)
    monkeypatch.setattr(outages, "LONGEST_PAUSE", 0.05)


@contextmanager
def _wrapped(*wrappers):
    """This thread's statements go through the execute ``wrappers`` (the first outermost)."""
    connection.execute_wrappers.extend(wrappers)
    try:
        yield
    finally:
        for wrapper in wrappers:
            connection.execute_wrappers.remove(wrapper)


def _run_worker(*wrappers):
    """``ecitizen worker --batch`` in this thread, its statements going through
    ``wrappers``."""
    with _wrapped(*wrappers):
        call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w1", verbosity=0)


def _log(caplog, text):
    return [record for record in caplog.records if text in record.getMessage()]


# --- which errors are transient ---------------------------------------------------------


def _raised(django_class, cause):
    """``cause`` as Django raises it: in its own class of error, ``from`` the driver's."""
    try:
        raise django_class(str(cause)) from cause
    except django_class as error:
        return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_raised(OperationalError, psycopg.OperationalError("connection failed")), True),
        (_raised(OperationalError, psycopg.OperationalError("the connection is lost")), True),
        (_raised(OperationalError, psycopg.errors.ConnectionFailure("08006")), True),
        (_raised(OperationalError, psycopg.errors.AdminShutdown("terminating")), True),
        (_raised(OperationalError, psycopg.errors.CrashShutdown("crash")), True),
        (_raised(OperationalError, psycopg.errors.CannotConnectNow("starting up")), True),
        (_raised(OperationalError, psycopg.errors.SerializationFailure("serialize")), True),
        (_raised(OperationalError, psycopg.errors.DeadlockDetected("deadlock")), True),
        (_raised(OperationalError, sqlite3.OperationalError("database is locked")), True),
        (_raised(OperationalError, psycopg.errors.QueryCanceled("statement timeout")), False),
        (_raised(OperationalError, psycopg.errors.InvalidPassword("password")), False),
        (_raised(OperationalError, psycopg.errors.InvalidCatalogName("no database")), False),
        (_raised(OperationalError, sqlite3.OperationalError("no such table: x")), False),
        (_raised(ProgrammingError, psycopg.errors.UndefinedTable("no relation")), False),
        (_raised(IntegrityError, psycopg.errors.UniqueViolation("duplicate key")), False),
        (_raised(InterfaceError, psycopg.InterfaceError("the cursor is closed")), False),
        (OperationalError(), False),
        (ConnectionRefusedError("SMTP server down"), False),
    ],
    ids=repr,
)
def test_which_database_errors_are_transient(error, transient):
    assert is_transient_database_error(error) is transient


# --- a task cut by the database -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_task_cut_by_the_database_runs_again_later_and_delivers_once(
    resident, database_queue, caplog
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = queue_email(resident)
        cut = Cut(NOTIFICATION_CLAIM)
        _run_worker(cut)
    assert cut.cuts == 1
    task = DBTaskResult.objects.get()
    assert task.status == "READY"  # not failed, not left running
    assert task.started_at is None
    assert task.run_after == start + timedelta(seconds=TASK_RETRY_DELAYS[0])
    assert task.worker_ids == ["w1"]
    email.refresh_from_db()
    assert email.status == Status.QUEUED
    assert email.claimed_until is None  # the claim's transaction was rolled back
    assert mail.outbox == []
    (warning,) = _log(caplog, "cut by a database error")
    assert warning.levelno == logging.WARNING
    assert f"runs again in {TASK_RETRY_DELAYS[0]} s" in warning.getMessage()

    with time_machine.travel(start + timedelta(seconds=TASK_RETRY_DELAYS[0] / 2), tick=False):
        _run_worker()
    task.refresh_from_db()
    assert task.status == "READY"  # not before its delay

    with time_machine.travel(start + timedelta(seconds=TASK_RETRY_DELAYS[0]), tick=False):
        _run_worker()
    task.refresh_from_db()
    email.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["w1", "w1"]
    assert email.status == Status.SENT
    assert email.attempts == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("statement", "error_class"),
    [
        ("SELECT * FROM no_such_table", "ProgrammingError|OperationalError"),
        ("INSERT INTO core_workerheartbeat (worker_id) VALUES (NULL)", "IntegrityError"),
    ],
    ids=["missing table", "integrity"],
)
def test_a_task_failing_on_another_database_error_fails_at_once(
    database_queue, statement, error_class
):
    execute_sql.enqueue(statement)
    _run_worker()
    task = DBTaskResult.objects.get()
    assert task.status == "FAILED"
    assert re.fullmatch(rf"django\.db\.utils\.({error_class})", task.exception_class_path)
    assert "no_such_table" in task.traceback or "worker_id" in task.traceback
    assert task.worker_ids == ["w1"]


@pytest.mark.django_db(transaction=True)
def test_a_task_cut_at_every_run_fails_after_its_last_retry_with_the_error(
    resident, database_queue, caplog
):
    now = timezone.now()
    email = queue_email(resident)
    cut = Cut(NOTIFICATION_CLAIM, times=100)
    task = DBTaskResult.objects.get()
    for run, delay in enumerate(TASK_RETRY_DELAYS, start=1):
        with time_machine.travel(now, tick=False):
            _run_worker(cut)
        task.refresh_from_db()
        assert (task.status, len(task.worker_ids)) == ("READY", run)
        assert task.run_after == now + timedelta(seconds=delay)
        now = task.run_after
    with time_machine.travel(now, tick=False):
        _run_worker(cut)
    task.refresh_from_db()
    runs = len(TASK_RETRY_DELAYS) + 1
    assert cut.cuts == runs
    assert task.status == "FAILED"
    assert len(task.worker_ids) == runs
    assert task.exception_class_path == "django.db.utils.OperationalError"
    assert re.search(
        r"OperationalError: (the connection is (lost|closed)|database is locked)", task.traceback
    )
    (error,) = _log(caplog, f"failed after {runs} runs, the last cut by a database error")
    assert error.levelno == logging.ERROR
    email.refresh_from_db()
    assert email.status == Status.QUEUED
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_an_email_the_mail_server_took_before_its_recording_was_cut_is_recorded_and_goes_once(
    resident, database_queue, caplog
):
    email = queue_email(resident)
    # Not the claim, the statement after it: the recording, once the email was handed over.
    cut = Cut(NOTIFICATION_CLAIM, skip=1)
    _run_worker(cut)
    assert cut.cuts == 1
    task = DBTaskResult.objects.get()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["w1"]  # run once: only the recording was tried again
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 1)
    (sent,) = mail.outbox
    assert sent.extra_headers["Message-ID"] == email.provider_message_id
    (warning,) = _log(caplog, "was handed over but its recording was cut by a database error")
    assert warning.levelno == logging.WARNING


@pytest.mark.django_db(transaction=True)
def test_an_email_whose_recording_fails_until_its_claim_runs_out_goes_again_with_its_message_id(
    resident, database_queue, quick_pauses, settings, caplog
):
    settings.WORKER_HEARTBEAT_SECONDS = 1
    settings.TASK_LEASE_SECONDS = 2  # a claim of one second
    email = queue_email(resident)
    # Every recording fails, for the second the claim lasts (real time passes).
    cut = Cut(NOTIFICATION_CLAIM, skip=1, times=1000)
    _run_worker(cut)
    assert 1 < cut.cuts < 1000
    task = DBTaskResult.objects.get()
    assert task.status == "READY"  # cut by a database error: it runs again
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.QUEUED, 0)
    assert len(mail.outbox) == 1
    (error,) = _log(caplog, "could not be recorded before its claim ran out")
    assert error.levelno == logging.ERROR

    # Sent again rather than perhaps never: with the same Message-ID, by which mail
    # systems can tell the second copy for what it is.
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        _run_worker()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 1)
    assert [sent.extra_headers["Message-ID"] for sent in mail.outbox] == [
        email.provider_message_id
    ] * 2


# --- the worker waits for the database ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_outcome_the_database_refused_is_recorded_once_it_answers(
    resident, database_queue, quick_pauses, caplog
):
    email = queue_email(resident)
    # Refused three times in a row: the worker waits for the database between tries.
    cut = Cut(RECORD_OUTCOME, times=3)
    _run_worker(cut)
    assert cut.cuts == 3
    task = DBTaskResult.objects.get()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["w1"]  # run once: only its outcome waited
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1
    assert len(_log(caplog, OUTAGE_STARTS)) == 1
    assert len(_log(caplog, OUTAGE_ENDS)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_successful_run_is_recorded_in_one_statement_guarded_by_the_claim(
    resident, database_queue
):
    """No transaction, no locked read: one UPDATE that writes only while the row is
    still RUNNING since this run's start (the claim)."""
    email = queue_email(resident)
    statements: list[str] = []

    def seen(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    _run_worker(seen)
    task = DBTaskResult.objects.get()
    assert (task.status, task.exception_class_path, task.traceback) == ("SUCCESSFUL", "", "")
    assert task.finished_at is not None
    email.refresh_from_db()
    assert email.status == Status.SENT
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    recorded = [sql for sql in statements if re.search(RECORD_OUTCOME, sql)]
    assert len(recorded) == 1
    guard = f'{table}."status" = %s AND {table}."started_at" = %s'
    assert recorded[0].endswith(guard)
    locked_read = f'SELECT 1 AS "a" FROM {table}'  # noqa: S608 - a statement to look for
    assert not [sql for sql in statements if sql.startswith(locked_read)]


@task()
def returns_what_json_cannot_hold() -> object:
    """A task whose return value cannot be stored (the next test)."""
    return {1, 2}


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_value_cannot_be_stored_is_recorded_as_failed(database_queue):
    """As django-tasks-db records it: the task fails with the error of storing it."""
    returns_what_json_cannot_hold.enqueue()
    _run_worker()
    task_row = DBTaskResult.objects.get()
    assert task_row.status == "FAILED"
    assert task_row.return_value is None
    assert task_row.exception_class_path == "builtins.TypeError"
    assert "not JSON serializable" in task_row.traceback


@pytest.mark.django_db(transaction=True)
def test_an_outcome_is_not_recorded_on_a_task_requeued_meanwhile(
    resident, database_queue, quick_pauses, caplog
):
    email = queue_email(resident)
    task = DBTaskResult.objects.get()

    def requeued_by_another_worker():
        # What core.leases does when a worker stays away longer than its lease.
        DBTaskResult.objects.filter(pk=task.pk).update(status="READY", started_at=None)

    # The outcome refused; while the worker waits for the database, the task is requeued.
    _run_worker(Cut(RECORD_OUTCOME, times=3), _before(r"^SELECT 1$", requeued_by_another_worker))
    assert len(_log(caplog, "was requeued while this worker could not record its run")) == 1
    # The batch worker took it again; the rerun found the email sent.
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["w1", "w1"]
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_an_outcome_is_not_recorded_on_a_task_another_worker_claimed_meanwhile(
    resident, database_queue
):
    """The guard is the claim itself (RUNNING since this run's start), not the status
    alone: a run whose task another worker requeued and claimed again writes nothing."""
    queue_email(resident)
    task_row = DBTaskResult.objects.get()
    task_row.claim("w1")
    later = task_row.started_at + timedelta(seconds=1)
    # What core.leases and another worker's claim leave: RUNNING again, since later.
    DBTaskResult.objects.filter(pk=task_row.pk).update(started_at=later, worker_ids=["w1", "w2"])
    finished = []

    def note(sender, task_result, **kwargs):
        finished.append(task_result)

    task_finished.connect(note, weak=False)
    try:
        batch_worker().run_task(task_row)
    finally:
        task_finished.disconnect(note)
    stored = DBTaskResult.objects.get()
    assert (stored.status, stored.started_at, stored.finished_at) == ("RUNNING", later, None)
    assert stored.return_value is None
    assert finished == []  # the run's end is the other worker's to tell
    assert (task_row.status, task_row.finished_at) == ("RUNNING", None)  # left as claimed


@pytest.mark.django_db(transaction=True)
def test_a_worker_told_to_stop_while_an_outcome_waits_for_the_database_stops_at_once(
    resident, database_queue, monkeypatch
):
    monkeypatch.setattr(outages, "FIRST_PAUSE", 600.0)  # only the stop can end the wait
    email = queue_email(resident)
    worker = batch_worker()
    # SIGTERM a moment after the outcome was first refused, while the worker waits.
    sigterm = threading.Timer(0.2, worker.shutdown, (signal.SIGTERM, None))
    with _wrapped(_before(RECORD_OUTCOME, sigterm.start), Cut(RECORD_OUTCOME, times=3)):
        worker.run()
    assert not worker.running
    # Left running, for the lease to give to another worker once this one is gone.
    assert DBTaskResult.objects.get().status == "RUNNING"
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
@needs_postgresql
def test_a_worker_whose_claims_fail_waits_for_the_database_and_says_so_once(
    resident, database_queue, quick_pauses, caplog
):
    email = queue_email(resident)
    # Four claims cut, and the worker's first two attempts to reach the database.
    claims, probes = Cut(TASK_CLAIM, times=4), Cut(r"^SELECT 1$", times=2)
    _run_worker(claims, probes)
    assert (claims.cuts, probes.cuts) == (4, 2)
    (warning,) = _log(caplog, OUTAGE_STARTS)
    assert warning.levelno == logging.WARNING
    assert "OperationalError" in warning.getMessage()
    assert len(_log(caplog, OUTAGE_ENDS)) == 1
    task = DBTaskResult.objects.get()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["w1"]
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_started_while_the_database_is_away_does_not_exit(
    resident, database_queue, quick_pauses, caplog
):
    queue_email(resident)
    _run_worker(Cut(r'"core_workerheartbeat"'))
    assert len(_log(caplog, OUTAGE_STARTS)) == 1
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_rides_out_a_cut_and_beats_again_on_a_new_connection(caplog):
    heartbeat = Heartbeat("w1", DatabaseOutage())
    connection.ensure_connection()
    with connection.execute_wrapper(Cut(r'"core_workerheartbeat"')):
        heartbeat.tick()  # raises nothing
    if connection.vendor == "postgresql":  # (Django never closes SQLite's memory database)
        assert connection.connection is None  # closed, not left broken
    assert not WorkerHeartbeat.objects.exists()
    heartbeat.tick()
    assert WorkerHeartbeat.objects.get().worker_id == "w1"
    assert len(_log(caplog, OUTAGE_STARTS)) == 1
    assert len(_log(caplog, OUTAGE_ENDS)) == 1
    assert not _log(caplog, "worker heartbeat failed")


def test_an_outage_is_reported_once_a_minute_however_often_it_fails(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger=outages.__name__)
    clock = [0.0]
    monkeypatch.setattr(outages, "monotonic", lambda: clock[0])
    outage = DatabaseOutage()
    cut = _raised(OperationalError, psycopg.errors.AdminShutdown("terminating connection"))

    def at(seconds, *events):
        clock[0] = seconds
        for event in events:
            outage.failed(cut) if event == "failed" else outage.recovered()
        messages = [record.getMessage() for record in caplog.records]
        caplog.clear()
        return messages

    (started,) = at(0, "failed", "failed")
    assert started.startswith("database unavailable (OperationalError 57P01: terminating")
    assert at(30, "failed", "failed") == []
    assert at(61, "failed") == [
        "database still unavailable after 61 s (OperationalError 57P01: terminating connection)"
    ]
    assert at(70, "recovered", "recovered") == [
        "database available again after 70 s; the worker resumes"
    ]
    # Flapping: an outage starting within a minute of the last warning is not reported,
    # nor its end; one starting later is.
    assert at(100, "failed", "recovered") == []
    (again,) = at(200, "failed")
    assert again.startswith("database unavailable")
    assert at(201, "recovered") == ["database available again after 1 s; the worker resumes"]
