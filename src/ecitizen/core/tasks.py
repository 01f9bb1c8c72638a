"""Background tasks of the core."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django_tasks import task

from ecitizen.core.mail import message_from_dict


@task()
def send_email(message: dict[str, Any]) -> None:
    """Deliver one queued message with ``EMAIL_DELIVERY_BACKEND``; an exception marks the
    task failed (and visible in the task results) rather than losing the mail silently."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    email = message_from_dict(message)
    email.connection = connection
    email.send(fail_silently=False)
