"""``ecitizen worker``: run background tasks, and tell ``/healthz`` that this worker lives.

Wraps django-tasks-db's ``db_worker`` (same options) and adds a heartbeat thread that
records this process in ``WorkerHeartbeat`` every ``WORKER_HEARTBEAT_SECONDS`` and, at each
beat, requeues the tasks of workers that died while running them (their lease expired:
:mod:`ecitizen.core.leases`). Any number of workers can run against PostgreSQL; each
claims tasks with row locks.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from ecitizen.core.leases import task_leases_reclaim
from ecitizen.core.services import worker_heartbeat, worker_heartbeat_remove

logger = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, worker_id: str) -> None:
        super().__init__(name="ecitizen-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def beat(self) -> None:
        """Say this worker lives, then requeue the tasks of workers that do not."""
        close_old_connections()
        worker_heartbeat(worker_id=self.worker_id, started_at=self.started_at, pid=os.getpid())
        try:
            task_leases_reclaim(worker_id=self.worker_id)
        except Exception:
            # The heartbeat itself was written; a failed reclaim is tried at the next beat.
            logger.exception("requeueing the tasks of stopped workers failed")

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS):
                try:
                    self.beat()
                except Exception:
                    logger.exception("worker heartbeat failed")
        finally:
            connection.close()


class Command(DbWorkerCommand):
    help = "Run background tasks (emails, notifications, jobs) from the database queue."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.TASKS_BACKEND != "database":
            self.stderr.write(
                "TASKS_BACKEND is not 'database': tasks run in the web process; "
                "no worker is needed."
            )
            return
        options["reload"] = False
        heartbeat = Heartbeat(options["worker_id"])
        heartbeat.beat()
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stopped.set()
            heartbeat.join(timeout=5)
            worker_heartbeat_remove(worker_id=options["worker_id"])
