"""A worker cut off from PostgreSQL, as a restart, a failover or an administrator's
``pg_terminate_backend`` cuts it off, stays up and loses nothing.

A real ``ecitizen worker`` (with the fault points of :mod:`tests.faults.inject`) reaches
this test's database through a relay of the test's own (``DatabaseLink``) and under an
application name of the test's own: only its connections are cut. The machine's server,
which runs the other tests, is never stopped.

1. While it waits for work, its link to the server is broken (every connection dropped,
   every new one closed at once) for several of its attempts: it stays up, logs the
   outage once and its end once, its heartbeat comes back, and it delivers the next
   email. Cut off again, it stops on SIGTERM with status 0.
2. In the middle of a task (claimed, its function about to run: the ``task`` fault
   point), the server terminates its sessions: the task goes back to the queue, runs
   again, and its email is delivered once.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ecitizen.core.models import WorkerHeartbeat
from ecitizen.core.tests.worker_support import queue_email
from ecitizen.notifications.models import Status
from tests.faults.conftest import DatabaseLink, terminate_sessions
from tests.faults.stack import Stack, postgres_only
from tests.processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_specific, postgres_only]

WORKER = "worker"


@pytest.fixture
def stack_database(database_link: DatabaseLink) -> str:
    """The stack's processes reach the test's database through the link."""
    return database_link.url


@pytest.fixture
def worker_env(stack: Stack, database_queue: None) -> dict[str, Any]:
    """The worker's sessions named for this test alone; its emails written to a folder
    (``mail``); its log at INFO. Returns what the test needs to know."""
    mail = stack.workdir / "mail"
    mail.mkdir()
    name = f"ecitizen-faults-{uuid.uuid4().hex}"
    stack.env.update(
        PGAPPNAME=name,
        EMAIL_DELIVERY_BACKEND="ecitizen.core.tests.worker_support.BlockingFileEmailBackend",
        ECITIZEN_TEST_MAIL_DIR=str(mail),
        LOG_LEVEL="INFO",
    )
    return {"application_name": name, "mail": mail, "log": stack.logs / f"{WORKER}.log"}


def _messages(log: Path, text: str) -> list[str]:
    """The messages of the worker's log (one JSON object a line) that contain ``text``."""
    lines = (
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and line.endswith("}")  # not a line still being written
    )
    return [line["message"] for line in lines if text in line["message"]]


def _delivered(email: Any, mail: Path) -> bool:
    email.refresh_from_db()
    return email.status == Status.SENT and bool(list(mail.glob("*.eml")))


def test_a_worker_waiting_for_work_rides_out_an_outage_and_stops_on_sigterm_in_one(
    stack: Stack, worker_env: dict[str, Any], database_link: DatabaseLink, resident: Any
):
    log = worker_env["log"]
    worker = stack.start_worker(WORKER)
    wait_for(lambda: WorkerHeartbeat.objects.filter(worker_id=WORKER).exists(), "a heartbeat")

    database_link.cut()
    # Until the worker (its loop and its heartbeat) has tried again, in vain, a few times.
    wait_for(lambda: database_link.refused >= 4, "attempts to reconnect", processes=[worker])
    assert worker.poll() is None
    (started,) = _messages(log, "database unavailable")  # once, however many attempts
    assert "the worker waits for it" in started
    database_link.restore()
    back = timezone.now()
    wait_for(
        lambda: WorkerHeartbeat.objects.get(worker_id=WORKER).last_seen > back,
        "the heartbeat to come back",
        processes=[worker],
    )
    email = queue_email(resident)
    wait_for(lambda: _delivered(email, worker_env["mail"]), "the email", processes=[worker])
    # The task's result is written after its function returns, so after the delivery.
    wait_for(
        lambda: DBTaskResult.objects.get().status in {"SUCCESSFUL", "FAILED"},
        "the task to end",
        processes=[worker],
    )
    assert worker.poll() is None
    assert len(_messages(log, "database unavailable")) == 1
    assert len(_messages(log, "database available again")) == 1
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert len(list(worker_env["mail"].glob("*.eml"))) == 1

    database_link.cut()
    refused = database_link.refused
    wait_for(lambda: database_link.refused > refused, "the worker cut off", processes=[worker])
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    assert _messages(log, "heartbeat could not be removed")


def test_a_task_whose_sessions_are_cut_runs_again_and_delivers_once(
    stack: Stack, worker_env: dict[str, Any], resident: Any
):
    stack.arm("task", r"\.deliver_notification$")
    worker = stack.start_worker(WORKER)
    email = queue_email(resident)
    held = stack.wait_held("task", "the worker to start delivering the email")
    task = DBTaskResult.objects.get()
    assert (task.status, task.worker_ids) == ("RUNNING", [WORKER])

    assert terminate_sessions(worker_env["application_name"]) >= 1
    stack.release(held)
    wait_for(
        lambda: DBTaskResult.objects.get().status in {"SUCCESSFUL", "FAILED"},
        "the task to end",
        processes=[worker],
    )
    assert worker.poll() is None
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL", task.traceback
    assert task.worker_ids == [WORKER, WORKER]  # cut once, run again
    assert _delivered(email, worker_env["mail"])
    (cut,) = _messages(worker_env["log"], "cut by a database error")
    assert "in run 1; it runs again in 1 s" in cut
    email.refresh_from_db()
    assert email.attempts == 1
    assert len(list(worker_env["mail"].glob("*.eml"))) == 1
