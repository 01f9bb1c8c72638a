"""Background tasks of the core."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone
from django_tasks import task

from ecitizen.core.mail import message_from_dict, unseal

logger = logging.getLogger(__name__)

#: Delays before each new attempt to deliver a message: 1 min, 5 min, 30 min, 2 h.
EMAIL_RETRY_DELAYS = (60, 300, 1800, 7200)


@task()
def send_email(sealed_message: str, attempt: int = 0) -> None:
    """Deliver one queued message with ``EMAIL_DELIVERY_BACKEND``.

    When delivery fails, a new attempt is queued after a growing delay; after the last one
    the failure is logged as an error (and this task ends failed, visible in the task
    results) rather than the mail being lost silently.
    """
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    email = message_from_dict(unseal(sealed_message))
    email.connection = connection
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
