"""Database outages in the worker: which errors are transient, what becomes of a task one
of them cut, and how a worker process waits for the database and says so.

**Transient** (:func:`is_transient_database_error`) means the error says nothing about the
task or its data, only that the database could not be reached or asked for the work to
be done again: the same statements may succeed a moment later. Exactly:

- on PostgreSQL, an ``OperationalError`` raised by psycopg itself, without a SQLSTATE
  (it could not connect, or the connection was lost or is closed), or by the server with
  a SQLSTATE of class ``08`` (connection exception), ``57P01`` (admin shutdown: a fast
  shutdown or restart, ``pg_terminate_backend``), ``57P02`` (crash shutdown), ``57P03``
  (cannot connect now: starting up, shutting down, in recovery), ``40001`` (serialization
  failure) or ``40P01`` (deadlock detected); PostgreSQL asks for the last two to be
  retried;
- on SQLite, "database is locked" (another writer held the file past the busy timeout).

Nothing else is: an ``IntegrityError`` or ``DataError`` (the data), a ``ProgrammingError``
(a missing table or column: the code or its migrations), a statement cancelled by
``statement_timeout`` (57014: it would be as slow again), a refused password or an unknown
database (class 28, 3D000: a configuration to fix), SQLite's "no such table" (an
``OperationalError`` there), and ``InterfaceError``, which psycopg 3 raises for misuse (a
closed cursor, a type it cannot adapt); it reports a lost connection as
``OperationalError``. A task that catches a database error and raises another exception
is judged by the exception it raised.

A task cut by a transient error goes back to the queue (:func:`task_retry_or_fail`) after
the delays of :data:`TASK_RETRY_DELAYS`, then fails. ``ecitizen worker``
(``core/management/commands/worker.py``) waits for the database whenever one of its
threads meets a transient error, reporting through one :class:`DatabaseOutage` per
process.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from time import monotonic

import psycopg
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import is_locked_database_exception

logger = logging.getLogger(__name__)

#: The server's SQLSTATEs that are transient besides class 08 (see the module's text).
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01"})

#: Seconds before a task cut by a transient database error runs again: after its n-th
#: run, the n-th delay. A task cut at every run fails after the last delay's run, so it
#: runs at most ``len(TASK_RETRY_DELAYS) + 1`` times. The first is short (the database
#: was back when the retry was recorded); the others give a failing-over database time.
TASK_RETRY_DELAYS = (1, 10, 60, 300)

#: The worker's first pause while the database is away, in seconds; each failed attempt
#: doubles it, up to :data:`LONGEST_PAUSE`.
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
#: While the database stays away, a warning at most this often (seconds).
WARN_EVERY = 60.0


def is_transient_database_error(error: BaseException) -> bool:
    """Is ``error`` a transient database error (see the module's text)?"""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if isinstance(cause, psycopg.Error):
        sqlstate = cause.sqlstate
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in TRANSIENT_SQLSTATES
    return bool(error.args) and is_locked_database_exception(error)


def describe(error: BaseException) -> str:
    """What a log line says of a database error: its class, its SQLSTATE and the first
    line of its message (the server's detail lines may quote data, which logs must not
    hold)."""
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    message = str(error).strip().splitlines()
    return (
        f"{type(error).__name__}"
        + (f" {sqlstate}" if sqlstate else "")
        + (f": {message[0]}" if message else "")
    )


def task_retry_or_fail(result: DBTaskResult, *, error: BaseException) -> None:
    """Record the run of ``result`` that the transient database error ``error`` cut.

    Precondition: ``result`` is the row as its worker claimed it (``RUNNING``, its
    ``worker_ids`` ending with that worker), locked by the caller; the database answers.
    The runs so far are the task's claims (``worker_ids``, which also counts the runs
    of workers that died: ``core.leases``). After its n-th run the task goes back to
    ``READY``, due :data:`TASK_RETRY_DELAYS` [n-1] seconds from now (``started_at``
    cleared, ``worker_ids`` kept), and a warning is logged; after the last, it is
    ``FAILED`` with ``error`` as its exception, as any failed task, and an error is logged.
    """
    runs = len(result.worker_ids or [])
    if runs > len(TASK_RETRY_DELAYS):
        result.set_failed(error)
        logger.error(
            "task %s (%s) failed after %d runs, the last cut by a database error (%s)",
            result.pk,
            result.task_path,
            runs,
            describe(error),
        )
        return
    delay = TASK_RETRY_DELAYS[runs - 1]
    result.status = TaskResultStatus.READY
    result.started_at = None
    result.run_after = timezone.now() + timedelta(seconds=delay)
    result.save(update_fields=["status", "started_at", "run_after"])
    logger.warning(
        "task %s (%s) cut by a database error (%s) in run %d; it runs again in %d s",
        result.pk,
        result.task_path,
        describe(error),
        runs,
        delay,
    )


class DatabaseOutage:
    """What one worker process knows of the database being away, shared by its threads:
    one warning when an outage starts, at most one every :data:`WARN_EVERY` seconds while
    it lasts (flapping included), and a line when it ends if its start was reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self._reported = False
        self._warned_at: float | None = None

    def failed(self, error: BaseException) -> None:
        """The database failed the calling thread with the transient error ``error``.

        Side effects: every database connection of the calling thread is closed (Django
        keeps a broken one open until it notices, and a thread's next query must open a
        new one), and perhaps a warning is logged.
        """
        connections.close_all()
        now = monotonic()
        with self._lock:
            if self._since is None:
                self._since, self._reported = now, False
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
                return
            self._warned_at = now
            first, self._reported = not self._reported, True
            lasted = now - self._since
        if first:
            logger.warning(
                "database unavailable (%s); the worker waits for it, trying again after "
                "pauses of up to %d s",
                describe(error),
                LONGEST_PAUSE,
            )
        else:
            logger.warning(
                "database still unavailable after %d s (%s)", round(lasted), describe(error)
            )

    def recovered(self) -> None:
        """The database answered the calling thread again (a no-op outside an outage)."""
        with self._lock:
            if self._since is None:
                return
            lasted, reported = monotonic() - self._since, self._reported
            self._since = None
        if reported:
            logger.info("database available again after %d s; the worker resumes", round(lasted))

    def wait(self, stop: threading.Event) -> bool:
        """Wait until the database answers ``SELECT 1``, pausing :data:`FIRST_PAUSE`,
        then twice as long after each failed attempt, up to :data:`LONGEST_PAUSE`.

        Returns ``True`` once it answers (the calling thread holds a working
        connection), ``False`` as soon as ``stop`` is set. A non-transient error (a
        refused password) is raised.
        """
        pause = FIRST_PAUSE
        while not stop.wait(pause):
            try:
                with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                    cursor.execute("SELECT 1")
            except OperationalError as error:
                if not is_transient_database_error(error):
                    raise
                self.failed(error)
                pause = min(2 * pause, LONGEST_PAUSE)
            else:
                self.recovered()
                return True
        return False
