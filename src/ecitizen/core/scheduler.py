"""The scheduler: runs the periodic jobs that apps register, one scheduler across machines.

Each app registers its idempotent jobs from ``AppConfig.ready()``
(``registry.register_job(PeriodicJob(name, command, every))``); a job is a management
command an operator could run by hand. ``ecitizen scheduler`` runs each one every
``every``, in its own process, one job after another:

- **Exactly one scheduler runs.** Any number may be started (one per machine, for
  instance): the one holding the lock runs the jobs, the others wait as standbys and take
  over when it stops. On PostgreSQL the lock is a session advisory lock
  (``pg_try_advisory_lock``) held on a connection of its own: it is released the moment
  the scheduler's session ends, however the process died (a machine that vanished: within
  a minute, by TCP keepalives), and not before (a server's ``idle_session_timeout`` does
  not apply to that session, idle while a job runs). Elsewhere (SQLite) it is a lease
  row (:class:`~ecitizen.core.models.SchedulerLease`) that the running scheduler renews
  every third of ``--lease-seconds`` from a heartbeat thread (so a long job does not lose
  it); a standby takes the lease once it has expired.
- **A missed run is caught up once.** Each job's next due time is kept in
  :class:`~ecitizen.core.models.ScheduledJob`. A job is due when that time has passed;
  after it ran, the next due time is the first slot of its cadence after now
  (:func:`next_due_after`), so a job missed for three periods while no scheduler ran
  runs once, and keeps its rhythm. A job never run before is due at once.
- **At least once.** The next due time moves on only when the run ends. A scheduler that
  dies in the middle of a job leaves it due, and the standby that takes over runs it
  again: jobs must be idempotent (the platform's are).
- **A failure waits for the next slot.** A job that raises (a ``CommandError``, for
  instance) is recorded as failed with its error, logged, and run again at its next
  slot; ``ecitizen scheduler --list`` shows it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.core import checks
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import F, Q
from django.utils import timezone

from ecitizen.core.models import ScheduledJob, SchedulerLease
from ecitizen.core.registry import PeriodicJob, registry

logger = logging.getLogger(__name__)

#: The name of the lease row (and of the advisory lock's purpose).
LOCK_NAME = "scheduler"

#: The PostgreSQL advisory lock key: a fixed 64-bit number derived from this platform's
#: name, so that it does not collide with a lock another program takes on the database.
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"ecitizen.core.scheduler").digest()[:8], "big", signed=True
)

#: How long a lease lasts unless renewed (``--lease-seconds``).
DEFAULT_LEASE = timedelta(seconds=60)
#: How often the running scheduler looks for due jobs (``--interval``).
DEFAULT_INTERVAL = timedelta(seconds=30)

#: The server's TCP keepalives on the advisory lock's session (PostgreSQL settings, in
#: seconds): a holder's machine that vanished is found dead, and the lock freed, after
#: idle + count * interval = 60 s, as a lease of the default length would expire.
KEEPALIVE_SETTINGS = (
    ("tcp_keepalives_idle", 30),
    ("tcp_keepalives_interval", 10),
    ("tcp_keepalives_count", 3),
)

#: How much of a failed job's error output is kept in the table.
ERROR_KEPT_CHARS = 2000


# --- the cadence ----------------------------------------------------------------------------


def next_due_after(*, due: datetime, every: timedelta, now: datetime) -> datetime:
    """The first time of the cadence ``due + k * every`` (k ≥ 0) that is after ``now``.

    ``due`` is when the job was due; however many periods were missed, the job is then
    due once more, at the next slot, not once per missed period.
    """
    if every <= timedelta(0):
        raise ValueError("a job's period must be positive")
    if due > now:
        return due
    missed = (now - due) // every
    return due + (missed + 1) * every


def period_label(every: timedelta) -> str:
    """``every 5 minutes``, ``every hour``, ``every day``, ``every 2 days 6 hours``."""
    seconds = int(every.total_seconds())
    parts: list[tuple[int, str]] = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append((count, unit))
    if len(parts) == 1 and parts[0][0] == 1:
        return f"every {parts[0][1]}"
    return "every " + " ".join(f"{n} {unit}{'s' if n > 1 else ''}" for n, unit in parts)


def _close_old_connections() -> None:
    """Django's ``close_old_connections`` (a broken or too old connection is replaced at
    its next use), sparing a connection inside a transaction, which it would close."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


# --- the jobs' state ------------------------------------------------------------------------


def scheduled_jobs_ensure(jobs: Iterable[PeriodicJob]) -> dict[str, ScheduledJob]:
    """The state row of each job, created (due at once) for a job seen for the first time.
    Rows of jobs no longer registered are kept, and ignored."""
    jobs = list(jobs)
    names = [job.name for job in jobs]
    existing = {row.name: row for row in ScheduledJob.objects.filter(name__in=names)}
    missing = [ScheduledJob(name=name) for name in names if name not in existing]
    if missing:
        ScheduledJob.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {row.name: row for row in ScheduledJob.objects.filter(name__in=names)}
    return existing


def jobs_due(*, jobs: Iterable[PeriodicJob], now: datetime) -> list[PeriodicJob]:
    """The jobs due at ``now``, the longest overdue first (never run: first of all)."""
    jobs = list(jobs)
    states = scheduled_jobs_ensure(jobs)
    # Never run: due since the beginning of time.
    floor = datetime.min.replace(tzinfo=now.tzinfo)
    due_at = {job.name: states[job.name].next_due_at or floor for job in jobs}
    due = [job for job in jobs if due_at[job.name] <= now]
    return sorted(due, key=lambda job: (due_at[job.name], job.name))


@dataclass(frozen=True)
class JobOutcome:
    name: str
    ok: bool
    started_at: datetime
    finished_at: datetime
    output: str
    error: str = ""


#: Runs a management command (its name and arguments) with ``stdout=`` and ``stderr=``.
CommandRunner = Callable[..., Any]


def job_run(*, job: PeriodicJob, run_command: CommandRunner = call_command) -> JobOutcome:
    """Run ``job``'s command now, in this process, and record the run.

    Side effects: the command's own; the job's :class:`ScheduledJob` row marked
    ``running`` when it starts, then its result, error (if any), run count and next due
    time (the next slot of its cadence after the run ended). A command that raises is a
    failed run; the exception is not propagated (a ``KeyboardInterrupt`` is).
    """
    state = scheduled_jobs_ensure([job])[job.name]
    started = timezone.now()
    ScheduledJob.objects.filter(pk=state.pk).update(
        last_started_at=started, last_result=ScheduledJob.Result.RUNNING
    )
    out, err = io.StringIO(), io.StringIO()
    error = ""
    try:
        run_command(*job.command, stdout=out, stderr=err)
    except (Exception, SystemExit) as exc:  # SystemExit: a command that calls sys.exit
        error = f"{type(exc).__name__}: {exc}".strip()
        details = err.getvalue().strip()
        if details:
            error = f"{error}\n{details}"
        # A CommandError says what went wrong; anything else gets its traceback.
        expected = isinstance(exc, CommandError | SystemExit)
        logger.error("job %s failed: %s", job.name, error, exc_info=not expected)
    finally:
        _close_old_connections()  # a job may leave a broken connection behind
    finished = timezone.now()
    ScheduledJob.objects.filter(pk=state.pk).update(
        last_finished_at=finished,
        last_result=ScheduledJob.Result.FAILED if error else ScheduledJob.Result.OK,
        last_error=error[-ERROR_KEPT_CHARS:],
        runs=F("runs") + 1,
        next_due_at=next_due_after(due=state.next_due_at or started, every=job.every, now=finished),
    )
    if not error:
        logger.info("job %s ran in %.1fs", job.name, (finished - started).total_seconds())
    return JobOutcome(job.name, not error, started, finished, out.getvalue(), error)


# --- the lock -------------------------------------------------------------------------------


def _holder_id() -> str:
    """This scheduler: its machine, process and a random suffix (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SchedulerLock(Protocol):
    holder: str

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this scheduler holds it now."""

    def held(self) -> bool:
        """True while this scheduler still holds the lock (checked before each job)."""

    def beat(self) -> None:
        """Called every ``lease / 3`` from a thread of its own while the lock is held."""

    def release(self) -> None:
        """Let a standby take over at once."""


class LeaseLock:
    """The lock as a lease row: held while its ``expires_at`` is ahead.

    Taking it and renewing it are each one conditional ``UPDATE`` (``WHERE holder is me
    OR expired``), which the database runs one at a time, so two schedulers cannot both
    take it. Works on every database; the one used on SQLite.
    """

    def __init__(self, *, holder: str | None = None, lease: timedelta = DEFAULT_LEASE) -> None:
        self.holder = holder or _holder_id()
        self.lease = lease

    def acquire(self) -> bool:
        now = timezone.now()
        SchedulerLease.objects.get_or_create(
            name=LOCK_NAME,
            defaults={"holder": "", "acquired_at": now, "renewed_at": now, "expires_at": now},
        )
        taken = (
            SchedulerLease.objects.filter(name=LOCK_NAME)
            .filter(Q(holder=self.holder) | Q(expires_at__lte=now))
            .update(
                holder=self.holder, acquired_at=now, renewed_at=now, expires_at=now + self.lease
            )
        )
        return taken == 1

    def held(self) -> bool:
        """Renew the lease; False when another scheduler has taken it meanwhile."""
        now = timezone.now()
        renewed = SchedulerLease.objects.filter(name=LOCK_NAME, holder=self.holder).update(
            renewed_at=now, expires_at=now + self.lease
        )
        return renewed == 1

    def beat(self) -> None:
        if not self.held():
            logger.warning("scheduler %s: the lease was taken by another scheduler", self.holder)

    def release(self) -> None:
        SchedulerLease.objects.filter(name=LOCK_NAME, holder=self.holder).update(
            holder="", expires_at=timezone.now()
        )


class AdvisoryLock:
    """The lock as a PostgreSQL session advisory lock, on a connection of its own (a job
    that closes or breaks the default connection does not release it).

    PostgreSQL releases it when that session ends: a scheduler that dies, or whose
    connection is lost, lets a standby take over at its next attempt. The lease row is
    written too, only to say who holds the lock (``--list``).
    """

    def __init__(
        self,
        *,
        holder: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        using: str = DEFAULT_DB_ALIAS,
        key: int = ADVISORY_LOCK_KEY,
    ) -> None:
        self.holder = holder or _holder_id()
        self.lease = lease
        self.using = using
        self.key = key
        self._session: Any = None

    def _open_session(self) -> Any:
        """A new session for the lock, set so that it ends with its scheduler and only
        then. Side effect: opens a database connection (closed by :meth:`_close`)."""
        session = connections.create_connection(self.using)
        try:
            with session.cursor() as cursor:
                # The session is idle while a job runs. A server or role
                # idle_session_timeout would end it mid-job and free the lock: a standby
                # would take over and run the same job, still due, while this scheduler
                # runs it too. (PostgreSQL 14 has it, and Django 5.2 needs 14.)
                cursor.execute("SET idle_session_timeout = 0")
                # A machine that vanishes (power, network) sends no FIN: without keepalives
                # the server keeps the session, and the lock, for over two hours (the
                # system's default), and no scheduler runs. With these, within a minute.
                # (No effect over a Unix socket, where a dead peer is seen at once.)
                for setting, seconds in KEEPALIVE_SETTINGS:
                    cursor.execute(f"SET {setting} = {seconds}")
        except DatabaseError:
            with contextlib.suppress(DatabaseError):
                session.close()
            raise
        return session

    def _query(self, sql: str) -> Any:
        if self._session is None:
            self._session = self._open_session()
        with self._session.cursor() as cursor:
            cursor.execute(sql, [self.key])
            return cursor.fetchone()[0]

    def _close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(DatabaseError):
                self._session.close()
            self._session = None

    def _record(self, *, acquired: bool) -> None:
        now = timezone.now()
        fields: dict[str, Any] = {"renewed_at": now, "expires_at": now + self.lease}
        if acquired:
            fields.update(holder=self.holder, acquired_at=now)
            SchedulerLease.objects.update_or_create(name=LOCK_NAME, defaults=fields)
        else:
            SchedulerLease.objects.filter(name=LOCK_NAME, holder=self.holder).update(**fields)

    def acquire(self) -> bool:
        try:
            taken = bool(self._query("SELECT pg_try_advisory_lock(%s)"))
        except DatabaseError:
            self._close()
            raise
        if taken:
            self._record(acquired=True)
        return taken

    def held(self) -> bool:
        """Whether the lock's session still holds the lock (False once the session was
        lost: Django would open a new session, without the lock, at the next query)."""
        if self._session is None:
            return False
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        try:
            with self._session.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = %s::oid AND objid = %s::oid"
                    " AND objsubid = 1",
                    [unsigned >> 32, unsigned & 0xFFFFFFFF],
                )
                held = bool(cursor.fetchone()[0])
        except DatabaseError:
            held = False
        if not held:
            self._close()
        return held

    def beat(self) -> None:
        self._record(acquired=False)

    def release(self) -> None:
        if self._session is None:
            return
        try:
            self._query("SELECT pg_advisory_unlock(%s)")
            SchedulerLease.objects.filter(name=LOCK_NAME, holder=self.holder).update(
                holder="", expires_at=timezone.now()
            )
        finally:
            self._close()


def scheduler_lock(*, lease: timedelta = DEFAULT_LEASE, holder: str | None = None) -> Any:
    """The lock for this database: advisory on PostgreSQL, a lease elsewhere."""
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return AdvisoryLock(holder=holder, lease=lease)
    return LeaseLock(holder=holder, lease=lease)


class _Heartbeat(threading.Thread):
    def __init__(self, lock: SchedulerLock, every: float) -> None:
        super().__init__(name="ecitizen-scheduler-heartbeat", daemon=True)
        self.lock = lock
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    _close_old_connections()
                    self.lock.beat()
                except Exception:
                    # Tried again at the next beat; the lease outlives two missed beats.
                    logger.exception("scheduler heartbeat failed")
        finally:
            connections.close_all()


# --- the scheduler --------------------------------------------------------------------------


def _registered_jobs() -> Iterable[PeriodicJob]:
    return registry.jobs.values()


class Scheduler:
    """Runs the due jobs while it holds the lock; otherwise waits as a standby."""

    def __init__(
        self,
        *,
        lock: SchedulerLock,
        jobs: Callable[[], Iterable[PeriodicJob]] | None = None,
        interval: timedelta = DEFAULT_INTERVAL,
        lease: timedelta = DEFAULT_LEASE,
        run_command: CommandRunner = call_command,
    ) -> None:
        self.lock = lock
        self.jobs = jobs or _registered_jobs
        self.interval = interval
        self.lease = lease
        self.run_command = run_command

    def run_due(self) -> list[JobOutcome]:
        """Run every job due now, the longest overdue first, while the lock is held."""
        outcomes = []
        for job in jobs_due(jobs=self.jobs(), now=timezone.now()):
            if not self.lock.held():
                logger.warning("scheduler %s lost the lock; stopping", self.lock.holder)
                break
            outcomes.append(job_run(job=job, run_command=self.run_command))
        return outcomes

    def run_once(self) -> list[JobOutcome] | None:
        """Take the lock, run what is due and let the lock go; ``None`` when another
        scheduler holds the lock (then nothing is run)."""
        if not self.lock.acquire():
            return None
        try:
            return self.run_due()
        finally:
            self.lock.release()

    def serve(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: as the running scheduler, run the due jobs every
        ``interval``; as a standby, try to take the lock every ``interval``. A job under
        way when ``stop`` is set is finished first; the lock is then released."""
        active = False
        heartbeat: _Heartbeat | None = None
        try:
            while not stop.is_set():
                _close_old_connections()
                try:
                    if not active:
                        active = self.lock.acquire()
                        if active:
                            logger.info("scheduler %s is running the jobs", self.lock.holder)
                            heartbeat = _Heartbeat(self.lock, self.lease.total_seconds() / 3)
                            heartbeat.start()
                    elif not self.lock.held():
                        logger.warning("scheduler %s lost the lock", self.lock.holder)
                        active = False
                    if active:
                        self.run_due()
                except DatabaseError:
                    logger.exception("scheduler %s: the database failed", self.lock.holder)
                if not active and heartbeat is not None:
                    heartbeat.stopped.set()
                    heartbeat = None
                stop.wait(self.interval.total_seconds())
        finally:
            if heartbeat is not None:
                heartbeat.stopped.set()
                heartbeat.join(timeout=5)
            if active:
                try:
                    self.lock.release()
                except DatabaseError:
                    logger.exception("scheduler %s could not release the lock", self.lock.holder)


# --- what --list shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    job: PeriodicJob
    state: ScheduledJob


def scheduler_status(
    jobs: Iterable[PeriodicJob] | None = None,
) -> tuple[list[JobStatus], SchedulerLease | None]:
    """Each registered job (by name) with its state, and the lease row (who runs the
    scheduler), for ``ecitizen scheduler --list``."""
    jobs = sorted(jobs if jobs is not None else registry.jobs.values(), key=lambda j: j.name)
    states = scheduled_jobs_ensure(jobs)
    return [JobStatus(job, states[job.name]) for job in jobs], SchedulerLease.objects.filter(
        name=LOCK_NAME
    ).first()


def scheduler_jobs_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: every registered job names a management command that exists."""
    commands = get_commands()
    return [
        checks.Error(
            f"The periodic job {job.name!r} runs the command {job.command[0]!r}, "
            "which does not exist.",
            hint="Register a job with the name and arguments of a management command.",
            id="ecitizen.E032",
        )
        for job in registry.jobs.values()
        if not job.command or job.command[0] not in commands
    ]
