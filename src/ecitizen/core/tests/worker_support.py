"""Support for the worker tests: an email notification to queue, ``ecitizen worker``'s
worker for a test to drive, a task that fails on the database error a test chooses, and a
mail backend that a real ``ecitizen worker`` process loads, which writes each message to a
folder and can be made to hang.

``ECITIZEN_TEST_MAIL_DIR`` names the folder. While a file ``block`` exists there, a
delivery first creates ``started-<pid>`` (so the test knows the worker is inside the
task) and then waits until ``block`` is removed, as a mail server that never answers
would make it wait; the killed-worker test kills the worker in that wait.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django_tasks import task

from ecitizen.core.management.commands.worker import Worker
from ecitizen.core.outages import DatabaseOutage
from ecitizen.notifications.services import notification_send


def batch_options(worker_id: str) -> dict[str, Any]:
    """What ``db_worker --batch`` gives its worker on the default queue: the options of
    django-tasks-db's ``Worker`` and of ecitizen's."""
    return {
        "queue_names": ["default"],
        "interval": 0,
        "batch": True,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": worker_id,
        "excluded_queue_names": [],
    }


def batch_worker(worker_id: str = "w1") -> Worker:
    """``ecitizen worker --batch``'s worker on the default queue, made for a test that
    drives it itself (``run_task`` on a row it claimed, or ``run``)."""
    return Worker(outage=DatabaseOutage(), **batch_options(worker_id))


def queue_email(recipient: Any) -> Any:
    """Queue the email a case's submission sends to ``recipient``; return its
    notification (one delivery task, queued as the task backend queues)."""
    (email,) = notification_send(
        recipient=recipient,
        event="case_submitted",
        context={
            "reference": "RIV-BP-2026-000123",
            "service": "Garden waste collection",
            "expected_decision": "We expect to make a decision by 12 March 2026.",
            "url": "/cases/RIV-BP-2026-000123/",
        },
        channels=["email"],
    )
    return email


@task()
def execute_sql(statement: str) -> None:
    """Execute ``statement``: a task that fails on the database's own error for it."""
    with connection.cursor() as cursor:
        cursor.execute(statement)


class BlockingFileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(os.environ["ECITIZEN_TEST_MAIL_DIR"])
        block = folder / "block"
        if block.exists():
            (folder / f"started-{os.getpid()}").touch()
            while block.exists():
                time.sleep(0.05)
        for message in email_messages:
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)
