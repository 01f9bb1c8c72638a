"""A real ``ecitizen worker`` killed with SIGKILL in the middle of a task loses nothing.

The test starts a worker process against the test database, lets it take a notification's
delivery and hang inside the mail server call, kills it with SIGKILL, and checks that
``/healthz`` reports the stuck task once its lease has expired. A second worker then
requeues the task, runs it again, and the message is delivered exactly once.

The worker processes need the test database to be reachable from outside this process:
on PostgreSQL it is; on SQLite the test database lives in memory, so the test copies it
into a file and points this process at the copy for its duration.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse

from ecitizen.core.models import AuditEvent
from ecitizen.core.tests.worker_support import queue_email
from ecitizen.notifications.models import Notification, Status
from tests.processes import postgres_url, process_env, show_logs, spawn, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_specific]

#: Worker settings of this test: a heartbeat every second, leases of two seconds.
WORKER_ENV = {
    "TASKS_BACKEND": "database",
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_HEALTHY_WITHIN_SECONDS": "2",
    "TASK_LEASE_SECONDS": "2",
    "EMAIL_DELIVERY_BACKEND": "ecitizen.core.tests.worker_support.BlockingFileEmailBackend",
    "LOG_LEVEL": "INFO",
}
#: Waits: up to 90 s; a worker may have exited by itself (0) or been killed, no other way.
_wait_for = partial(wait_for, patience=90.0, interval=0.1, allowed_exits=(0, -signal.SIGKILL))


@pytest.fixture
def shared_database(tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL through which other processes see this test's database."""
    connection = connections["default"]
    if connection.vendor == "postgresql":
        yield postgres_url(connection.settings_dict)
        return
    memory = connection
    memory.ensure_connection()
    path = tmp_path / "shared.sqlite3"
    copy = sqlite3.connect(path)
    memory.connection.backup(copy)  # schema, triggers and rows, as they are now
    copy.close()
    wrapper_class = type(memory)
    file_db = wrapper_class({**memory.settings_dict, "NAME": str(path)}, "default")
    connections["default"] = file_db
    try:
        yield f"sqlite:///{path}"
    finally:
        file_db.close()
        connections["default"] = memory


@pytest.fixture
def start_worker(tmp_path: Path, shared_database: str) -> Iterator[Callable[[str], Any]]:
    """Start ``ecitizen worker --worker-id <id>`` against the shared database; every
    worker still running at the end is killed."""
    processes: list[subprocess.Popen] = []
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()

    def start(worker_id: str) -> subprocess.Popen:
        env = process_env(
            **WORKER_ENV, DATABASE_URL=shared_database, ECITIZEN_TEST_MAIL_DIR=str(mail_dir)
        )
        process = spawn(
            [
                sys.executable,
                "-m",
                "ecitizen",
                "worker",
                "--no-startup-delay",
                "--interval",
                "0.2",
                "--worker-id",
                worker_id,
            ],
            env=env,
            log=tmp_path / f"{worker_id}.log",
        )
        processes.append(process)
        return process

    start.mail_dir = mail_dir  # type: ignore[attr-defined]
    start.processes = processes  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        show_logs(tmp_path.glob("*.log"))


def _database_queue(settings: Any) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"
    settings.WORKER_HEARTBEAT_SECONDS = 1
    settings.WORKER_HEALTHY_WITHIN_SECONDS = 2
    settings.TASK_LEASE_SECONDS = 2


def test_a_task_of_a_killed_worker_is_run_again_and_delivers_once(
    client, resident, settings, start_worker
):
    from django_tasks_db.models import DBTaskResult

    _database_queue(settings)
    mail_dir: Path = start_worker.mail_dir
    email = queue_email(resident)
    task = DBTaskResult.objects.get()
    processes = start_worker.processes

    # The first worker takes the delivery and hangs inside the mail server call...
    (mail_dir / "block").touch()
    doomed = start_worker("doomed-worker")
    _wait_for(
        lambda: list(mail_dir.glob("started-*")), "the worker to start sending", processes=processes
    )
    task.refresh_from_db()
    assert task.status == "RUNNING"
    assert task.worker_ids == ["doomed-worker"]

    # ...and is killed there: no clean-up, no outcome recorded.
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    email.refresh_from_db()
    assert email.status == Status.QUEUED
    assert email.attempts == 0

    # Once its lease has expired, /healthz reports the task as stuck.
    def stuck_report() -> Any:
        response = client.get(reverse("core:healthz"))
        return response if response.json()["tasks"]["stuck"] else None

    response = _wait_for(stuck_report, "/healthz to report the stuck task", processes=processes)
    assert response.status_code == 503
    assert response.json()["tasks"] == {"status": "error", "stuck": 1, "lease_seconds": 2}
    assert list(mail_dir.glob("*.eml")) == []

    # A new worker requeues the task and runs it again; the mail server answers now.
    (mail_dir / "block").unlink()
    rescuer = start_worker("rescuer")

    def sent() -> bool:
        email.refresh_from_db()
        return email.status == Status.SENT

    _wait_for(sent, "the notification to be sent", processes=processes)
    task.refresh_from_db()
    _wait_for(
        lambda: task.refresh_from_db() or task.status == "SUCCESSFUL",
        "the task to be recorded as successful",
        processes=processes,
    )
    rescuer.send_signal(signal.SIGTERM)
    rescuer.wait(timeout=30)

    delivered = list(mail_dir.glob("*.eml"))
    assert len(delivered) == 1, "the message must be delivered exactly once"
    assert f"Message-ID: {email.provider_message_id}".encode() in delivered[0].read_bytes()
    assert email.attempts == 1
    assert task.worker_ids == ["doomed-worker", "rescuer"]
    requeued = AuditEvent.objects.get(action="tasks.requeued")
    assert requeued.object_id == str(task.pk)
    assert requeued.changes["worker"] == {"before": "doomed-worker", "after": None}
    assert requeued.changes["reclaimed_by"] == "rescuer"
    assert Notification.objects.get(pk=email.pk).claimed_until is None
    assert client.get(reverse("core:healthz")).json()["tasks"]["stuck"] == 0
