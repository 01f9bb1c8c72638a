"""Background tasks of the core, and :func:`enqueue_with_change`, how every service queues
a task for the change it makes."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from ecitizen.core.mail import message_from_dict, unseal

if TYPE_CHECKING:
    from django_tasks.base import Task

logger = logging.getLogger(__name__)


def enqueue_with_change(job: Task[..., Any], *args: Any, **kwargs: Any) -> None:
    """Queue the task ``job(*args, **kwargs)`` so that it runs if and only if the current change
    commits.

    Precondition: called inside the transaction that makes the change the task is for
    (outside one, each statement commits at once and the task is queued at once).

    With the database task backend (``TASKS_BACKEND`` ``"database"``, production's) the
    task's row is inserted now, in that transaction: it commits with the change or not at
    all, so a process that dies between the commit and anything after it loses no task
    (``transaction.on_commit`` would). With another backend (``immediate``, ``dummy``:
    development and tests) it is enqueued by ``transaction.on_commit``, so a rolled-back
    change never runs it and an immediate task sees the committed change.

    The task may run again (a worker that died: ``core.leases``; a retry), so it must be
    idempotent. ``job`` may carry options (``job.using(run_after=...)``).
    """
    if settings.TASKS_BACKEND == "database":
        job.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: job.enqueue(*args, **kwargs))


#: Delays before each new attempt to deliver a message: 1 min, 5 min, 30 min, 2 h.
EMAIL_RETRY_DELAYS = (60, 300, 1800, 7200)


def stable_message_id(sealed_message: str, from_email: str) -> str:
    """The Message-ID of a queued message, the same at every run of its task.

    A task is run again when its worker died (``ecitizen.core.leases``) and a delivery is
    retried after a failure; if the mail server had already accepted the message when the
    worker died, the second copy carries the same Message-ID, which mail systems treat as
    one message. The sealed text is unique per queued message (random nonce) and does not
    change between runs.
    """
    digest = hashlib.sha256(sealed_message.encode()).hexdigest()[:40]
    domain = parseaddr(from_email or settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return f"<{digest}@{domain or DNS_NAME}>"


@task()
def send_email(sealed_message: str, attempt: int = 0) -> None:
    """Deliver one queued message with ``EMAIL_DELIVERY_BACKEND``.

    When delivery fails, a new attempt is queued after a growing delay; after the last one
    the failure is logged as an error (and this task ends failed, visible in the task
    results) rather than the mail being lost silently. Every run sends the message with
    the same Message-ID (:func:`stable_message_id`), so a rerun after a worker died is
    recognised as the same message.
    """
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    email = message_from_dict(unseal(sealed_message))
    email.connection = connection
    if "message-id" not in {name.lower() for name in email.extra_headers}:
        email.extra_headers["Message-ID"] = stable_message_id(sealed_message, email.from_email)
    try:
        email.send(fail_silently=False)
    except Exception:
        if attempt < len(EMAIL_RETRY_DELAYS) and send_email.get_backend().supports_defer:
            delay = EMAIL_RETRY_DELAYS[attempt]
            logger.warning(
                "email to %d recipients failed (attempt %d); retrying in %ds",
                len(email.recipients()),
                attempt + 1,
                delay,
            )
            send_email.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
                sealed_message, attempt + 1
            )
            return
        logger.exception("email could not be delivered after %d attempts", attempt + 1)
        raise
