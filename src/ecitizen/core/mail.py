"""Email goes through the task worker, delivered by ``EMAIL_DELIVERY_BACKEND`` and retried
with growing delays (see :func:`ecitizen.core.tasks.send_email`).

With the database task backend the task row is written in the caller's transaction: the
mail exists if and only if the change that caused it was committed. With any other backend
(the immediate one of the tests) it is enqueued once the transaction commits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from ecitizen.core import crypto


def message_to_dict(message: EmailMessage) -> dict[str, Any]:
    """A JSON-safe form of a message (attachments are not supported by the queue)."""
    if message.attachments:
        raise ValueError("queued email does not carry attachments; link to the document")
    alternatives = [
        [content, mimetype] for content, mimetype in getattr(message, "alternatives", [])
    ]
    return {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": alternatives,
    }


def message_from_dict(data: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    return message


EMAIL_CONTEXT = "core.queued_email"


def seal(message: dict[str, Any]) -> str:
    """The message, encrypted: queued mail holds sign-in and password-reset links, and the
    task table must not hand them to whoever can read the database or its backups."""
    return crypto.encrypt(json.dumps(message), context=EMAIL_CONTEXT)


def unseal(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(crypto.decrypt(token, context=EMAIL_CONTEXT))
    return data


class QueuedEmailBackend(BaseEmailBackend):
    """Hands each message to the ``send_email`` task, atomically with the current change."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from ecitizen.core.tasks import enqueue_with_change, send_email

        for message in email_messages:
            enqueue_with_change(send_email, seal(message_to_dict(message)))
        return len(email_messages)
