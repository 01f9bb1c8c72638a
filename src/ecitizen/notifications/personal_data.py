"""What the notifications app holds about a resident, for their data rights (the
``privacy`` app): the messages sent to them by email, text message and in their inbox,
decrypted. Registered as ``notifications`` in ``NotificationsConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "notifications"


def export(user: Any) -> dict[str, Any]:
    """Every message written to ``user``: channel, address it went to, subject, text,
    delivery status and times."""
    from ecitizen.notifications.models import Notification

    items = [
        {
            "kind": "message",
            "event": notification.event,
            "channel": notification.channel,
            "language": notification.language,
            "address": notification.address or "",
            "subject": notification.subject,
            "body": notification.body,
            "url": notification.url,
            "status": notification.status,
            "created_at": notification.created_at,
            "sent_at": notification.sent_at,
            "read_at": notification.read_at,
        }
        for notification in Notification.objects.filter(recipient=user).order_by("created_at", "pk")
    ]
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your messages"),
    purpose=_("To tell you about your applications, bills, documents and anything you follow."),
    lawful_basis="public_task",
    categories=(
        _("Messages sent to you and their delivery status"),
        _("The email address or phone number they were sent to"),
    ),
    recipients=_(
        "The email and text-message providers that deliver them; support staff when a "
        "message could not be delivered."
    ),
    retention=_(
        "As set by the retention rules for messages, and at most while you have an account."
    ),
    export=export,
    order=60,
)
