"""``ecitizen worker``: run background tasks, and tell ``/healthz`` that this worker lives.

Runs django-tasks-db's ``db_worker`` loop (same options; ``--reload`` is ignored) through
:class:`Worker`, which rides out database outages, and adds a heartbeat thread that
records this process in ``WorkerHeartbeat`` every ``WORKER_HEARTBEAT_SECONDS`` and, at each
beat, requeues the tasks of workers that died while running them (their lease expired:
:mod:`ecitizen.core.leases`). Any number of workers can run against PostgreSQL; each
claims tasks with row locks.

While the database is away (restarting, failing over, cutting sessions) the process stays
up: a transient error (:mod:`ecitizen.core.outages`) while claiming a task, recording an
outcome or beating closes the thread's connection, logs one warning (then at most one a
minute), and the thread waits with growing pauses until the database answers. A task the
error cut goes back to the queue; SIGTERM and SIGINT still stop the worker at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.management.base import CommandError
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone
from django_tasks.base import TaskContext, TaskResultStatus
from django_tasks.signals import task_finished, task_started
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker as DbWorker
from django_tasks_db.models import DBTaskResult

from ecitizen.core.compiled import CompiledUpdate
from ecitizen.core.leases import task_leases_reclaim
from ecitizen.core.outages import DatabaseOutage, is_transient_database_error, task_retry_or_fail
from ecitizen.core.services import worker_heartbeat, worker_heartbeat_remove

logger = logging.getLogger(__name__)

#: How one run of a task is recorded on its (locked) row.
Outcome = Callable[[DBTaskResult], None]


@dataclass(frozen=True)
class Succeeded:
    """A run that returned ``value``: recorded by :data:`SUCCESS_RECORD` in one statement."""

    value: Any


#: A successful run recorded as django-tasks-db's ``set_successful()`` records it (the same
#: columns, in the model's order: the ``UPDATE`` its ``save()`` writes), only while the row
#: is still this run's: still ``RUNNING`` since the same ``started_at``. One statement,
#: compiled once, where the general path takes a transaction, a locked read and the ORM's
#: ``save()``: most runs succeed, and this was a fifth of a task's CPU in the worker.
SUCCESS_FIELDS = ("status", "finished_at", "return_value", "exception_class_path", "traceback")
SUCCESS_RECORD = CompiledUpdate(DBTaskResult, SUCCESS_FIELDS, guards=["status", "started_at"])


class Heartbeat(threading.Thread):
    """The thread that beats for one worker process (a daemon: it ends with the process)."""

    def __init__(self, worker_id: str, outage: DatabaseOutage) -> None:
        super().__init__(name="ecitizen-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.outage = outage
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def beat(self) -> None:
        """Say this worker lives, then requeue the tasks of workers that do not. Raises
        what writing the heartbeat raises, and a transient database error of the
        requeueing (any other is logged: the next beat tries again)."""
        close_old_connections()
        worker_heartbeat(worker_id=self.worker_id, started_at=self.started_at, pid=os.getpid())
        try:
            task_leases_reclaim(worker_id=self.worker_id)
        except Exception as error:
            if is_transient_database_error(error):
                raise
            # The heartbeat itself was written; a failed reclaim is tried at the next beat.
            logger.exception("requeueing the tasks of stopped workers failed")

    def tick(self) -> None:
        """One beat that raises nothing: a transient database error goes to the
        process's :class:`DatabaseOutage` (this thread's connection closed, so that the
        next beat opens a new one; a rate-limited warning), any other is logged."""
        try:
            self.beat()
        except Exception as error:
            if not is_transient_database_error(error):
                logger.exception("worker heartbeat failed")
                return
            self.outage.failed(error)
        else:
            self.outage.recovered()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS):
                self.tick()
        finally:
            connection.close()


class Worker(DbWorker):
    """django-tasks-db's worker loop, which waits out database outages instead of exiting
    and sends a task cut by a transient database error back to the queue.

    Differences from the library's worker: a transient error while claiming a task
    (:meth:`run`) or recording its outcome (:meth:`run_task`) makes it wait for the
    database; a task that raised a transient error is recorded by
    :func:`~ecitizen.core.outages.task_retry_or_fail` rather than failed; and an outcome
    is recorded only on a row still claimed by this run (a worker away longer than its
    lease may find its task requeued by another: ``core.leases``).
    """

    def __init__(self, *, outage: DatabaseOutage, **options: Any) -> None:
        super().__init__(**options)
        self.outage = outage
        self.stopping = threading.Event()

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        # Set first: the library's handler exits the process outside a task, but while a
        # task's outcome waits for the database it only asks the loop to stop.
        self.stopping.set()
        super().shutdown(signum, frame)

    def run(self) -> None:
        """The library's loop; a transient database error while it claims a task makes
        the worker wait for the database, then resume. Returns when the loop ends, or
        when the worker is told to stop during a wait."""
        while True:
            try:
                super().run()
                return
            except Exception as error:
                if not is_transient_database_error(error):
                    raise
                self.outage.failed(error)
            if not self.outage.wait(self.stopping):
                return

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """Run one claimed task and record how it ended, as the library does (the
        ``task_started`` and ``task_finished`` signals included), waiting for the
        database to record it if need be.

        Told to stop (SIGTERM, SIGINT) while waiting, the worker leaves the row
        ``RUNNING``: once this worker's heartbeat is gone, another requeues it
        (``core.leases``).
        """
        self.running_task = True
        try:
            outcome = self._call(db_task_result)
            try:
                recorded = self._record(db_task_result, outcome)
            except Exception as error:
                # As the library does: an outcome that cannot be stored (a return value
                # that is not JSON) fails the task with that error.
                recorded = self._record(db_task_result, partial(DBTaskResult.set_failed, exc=error))
            if recorded:
                self._finished(db_task_result)
        finally:
            self.running_task = False
            self._run_tasks += 1

    def _call(self, result: DBTaskResult) -> Outcome | Succeeded:
        """Run the task of ``result``; return how to record its run."""
        try:
            task = result.task
            task_result = result.task_result
            # The row's stored arguments, already read to claim it: the request id the
            # task runs under is taken from them (core.observability).
            task_started.send(
                sender=task.get_backend(),
                task_result=task_result,
                stored_arguments=result.args_kwargs,
            )
            args, kwargs = task_result.args, task_result.kwargs
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
        except BaseException as error:
            if is_transient_database_error(error):
                # The connection it broke would fail the recording too.
                connections.close_all()
                return partial(task_retry_or_fail, error=error)
            return partial(DBTaskResult.set_failed, exc=error)
        return Succeeded(value)

    def _record(self, result: DBTaskResult, outcome: Outcome | Succeeded) -> bool:
        """Record ``outcome`` on the row of ``result`` if this run still holds it,
        waiting out transient database errors; ``False`` when the worker was told to stop
        first, or another worker had requeued the task meanwhile."""
        while True:
            try:
                if isinstance(outcome, Succeeded):
                    held = self._record_success(result, outcome.value)
                else:
                    held = self._record_with_lock(result, outcome)
            except Exception as error:
                if not is_transient_database_error(error):
                    raise
                self.outage.failed(error)
                if not self.outage.wait(self.stopping):
                    return False
                continue
            if not held:
                logger.warning(
                    "task %s (%s) was requeued while this worker could not record its run; "
                    "its next run records it",
                    result.pk,
                    result.task_path,
                )
            return held

    @staticmethod
    def _record_success(result: DBTaskResult, value: Any) -> bool:
        """Write the successful run of ``result`` (the fields ``set_successful()`` sets)
        if its row is still this run's; whether it was. A value that is not JSON raises
        (``TypeError``), as that ``save()`` does."""
        started_at = result.started_at
        claimed = {name: getattr(result, name) for name in SUCCESS_FIELDS}
        result.status = TaskResultStatus.SUCCESSFUL
        result.finished_at = timezone.now()
        result.return_value = value
        result.exception_class_path = ""
        result.traceback = ""
        written = SUCCESS_RECORD.update_unless_changed(
            result, expected={"status": TaskResultStatus.RUNNING, "started_at": started_at}
        )
        if not written:
            # Another worker requeued the task (the row is READY, or RUNNING since a later
            # claim): this run's outcome is not kept, and the object is left as claimed.
            for name, as_claimed in claimed.items():
                setattr(result, name, as_claimed)
        return written

    @staticmethod
    def _record_with_lock(result: DBTaskResult, outcome: Outcome) -> bool:
        """Apply ``outcome`` to the row of ``result`` under its lock if the row is still
        this run's; whether it was."""
        with transaction.atomic():
            held = (
                DBTaskResult.objects.select_for_update()
                .filter(
                    pk=result.pk,
                    status=TaskResultStatus.RUNNING,
                    started_at=result.started_at,
                )
                .exists()
            )
            if held:
                outcome(result)
        return held

    def _finished(self, result: DBTaskResult) -> None:
        """Send ``task_finished`` for the recorded run of ``result``, as the library does."""
        try:
            sender = type(result.task.get_backend())
            task_result = result.task_result
        except (ImportError, SuspiciousOperation):
            logger.exception("Task id=%s failed unexpectedly", result.id)
        else:
            task_finished.send(sender=sender, task_result=task_result)


class Command(DbWorkerCommand):
    help = "Run background tasks (emails, notifications, jobs) from the database queue."

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker until it is stopped (``--batch``, ``--max-tasks``, a signal).

        The options are parsed as ``db_worker`` parses them. Side effects: this worker's
        ``WorkerHeartbeat`` row, written at once (unless the database is away: the loop
        then waits for it) and at every beat, removed when the worker stops.
        """
        if settings.TASKS_BACKEND != "database":
            self.stderr.write(
                "TASKS_BACKEND is not 'database': tasks run in the web process; "
                "no worker is needed."
            )
            return
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        outage = DatabaseOutage()
        worker = Worker(
            outage=outage,
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        heartbeat = Heartbeat(options["worker_id"], outage)
        try:
            heartbeat.beat()
        except Exception as error:
            if not is_transient_database_error(error):
                raise
            outage.failed(error)
        heartbeat.start()
        try:
            worker.configure_signals()
            worker.run()
        finally:
            heartbeat.stopped.set()
            heartbeat.join(timeout=5)
            try:
                worker_heartbeat_remove(worker_id=options["worker_id"])
            except Exception as error:
                if not is_transient_database_error(error):
                    raise
                logger.warning(
                    "this worker's heartbeat could not be removed (the database is "
                    "unavailable); it goes stale by itself"
                )
