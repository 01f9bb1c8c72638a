"""Reads about notifications: the template catalogue, a person's inbox, staff views."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from ecitizen.accounts.models import ContactPreference
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.services import audit_record
from ecitizen.notifications.models import (
    Channel,
    Notification,
    SmsOutboxMessage,
    Status,
    stuck_before,
)
from ecitizen.notifications.templating import event_specs

#: Seeing and resending notification deliveries (every department's, with recipients):
#: an operator's capability (roles: ``NotificationsConfig.ready``).
DELIVERIES = "notifications.deliveries"

INBOX_PAGE_SIZE = 20
STAFF_PAGE_SIZE = 50
#: The delivery page's filter value for notifications stuck in the queue (not a status).
STUCK = "stuck"


# --- The template catalogue -------------------------------------------------------------


def notification_events() -> list[str]:
    """The names of every event that has a template set, sorted."""
    return sorted(event_specs())


def notification_event_exists(event: str) -> bool:
    """Whether ``event`` names a template set (``messages/<event>/``)."""
    return event in event_specs()


def notification_event_placeholders(event: str) -> frozenset[str]:
    """The placeholders of ``event``'s texts. Callers of ``notification_send`` give all of
    them in ``context`` except ``name``, which the service fills in. ``KeyError`` for an
    unknown event."""
    return event_specs()[event].placeholders


def notification_event_channels(event: str) -> tuple[str, ...]:
    """The channels ``event`` uses when the caller does not say. ``KeyError`` if unknown."""
    return event_specs()[event].channels


def notification_language(user: Any) -> str:
    """The language to write to ``user`` in: their preferred language when the platform
    offers it, else the platform's default."""
    language = str(getattr(user, "language", "") or "")
    offered = {code for code, _name in settings.LANGUAGES}
    return language if language in offered else str(settings.LANGUAGE_CODE)


def notification_channels_for(
    *, allowed: Iterable[str], contact_preference: str, has_phone: bool
) -> list[str]:
    """Which of the ``allowed`` channels to use for someone with this contact preference.

    - ``inbox`` whenever it is allowed;
    - ``sms`` when allowed, the person prefers text messages and has a phone number;
    - otherwise ``email`` when allowed. A preference for post is treated as email (printed
      letters are not produced by the platform).

    The order is email or sms first, then inbox.
    """
    allowed = set(allowed)
    chosen: list[str] = []
    if contact_preference == ContactPreference.SMS and has_phone and Channel.SMS in allowed:
        chosen.append(Channel.SMS)
    elif Channel.EMAIL in allowed:
        chosen.append(Channel.EMAIL)
    if Channel.INBOX in allowed:
        chosen.append(Channel.INBOX)
    return [str(channel) for channel in chosen]


# --- The inbox --------------------------------------------------------------------------


def inbox_messages(*, user: Any) -> QuerySet[Notification]:
    """The person's inbox, newest first (deferring what the list does not show)."""
    return (
        Notification.objects.filter(recipient=user, channel=Channel.INBOX)
        .only("pk", "subject", "language", "created_at", "read_at", "recipient_id", "channel")
        .order_by("-created_at", "-pk")
    )


def inbox_page(*, user: Any, page_number: Any) -> Page[Notification]:
    """One page of the person's inbox; a page number out of range gives the last page."""
    return Paginator(inbox_messages(user=user), INBOX_PAGE_SIZE).get_page(page_number)


def inbox_message_get_for_user(*, user: Any, notification_id: int) -> Notification:
    """One message of the person's own inbox; ``Http404`` for anyone else's, or for a
    notification that is not an inbox message."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    message = Notification.objects.filter(
        pk=notification_id, recipient=user, channel=Channel.INBOX
    ).first()
    if message is None:
        raise Http404
    return message


def inbox_unread_count(*, user: Any) -> int:
    """How many inbox messages the person has not opened (one query; 0 when signed out,
    without a query)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return _UNREAD_IN_INBOX.value(recipient=user.pk) or 0


def _unread_in_inbox(recipient: int) -> QuerySet[Notification, dict[str, Any]]:
    """One row, the count, when the recipient has unread messages; none otherwise."""
    return (
        Notification.objects.filter(
            recipient=recipient, channel=Channel.INBOX, read_at__isnull=True
        )
        .order_by()
        .values("recipient")
        .annotate(unread=Count("pk"))
        .values("unread")
    )


#: Compiled once per process (core.compiled): every page a signed-in person sees shows
#: the count, and building it in the ORM cost twice what running it does.
_UNREAD_IN_INBOX = CompiledQuery(
    Notification,
    _unread_in_inbox,
    recipient=(-7_031_962_441, Notification._meta.get_field("recipient")),
)


# --- Staff ------------------------------------------------------------------------------


def notifications_for_staff(
    *, status: str | None = None, channel: str | None = None
) -> QuerySet[Notification]:
    """Notifications for the delivery page, newest first, optionally filtered by status
    (or :data:`STUCK`: see :func:`notifications_stuck`) and channel.

    Only delivery facts are loaded (no text, no address): the page shows no personal data.
    """
    notifications = Notification.objects.only(
        "pk",
        "event",
        "channel",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
        "due_at",
    )
    if status == STUCK:
        notifications = notifications.filter(_stuck_filter())
    elif status:
        notifications = notifications.filter(status=status)
    if channel:
        notifications = notifications.filter(channel=channel)
    return notifications.order_by("-created_at", "-pk")


def notification_get_for_staff(*, notification_id: int) -> Notification:
    """One notification by id, or ``Http404``."""
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        raise Http404
    return notification


def notification_failed_count() -> int:
    return Notification.objects.filter(status=Status.FAILED).count()


def _stuck_filter() -> Q:
    return Q(status=Status.QUEUED, due_at__lte=stuck_before()) & ~Q(channel=Channel.INBOX)


def notifications_stuck() -> QuerySet[Notification]:
    """Email and SMS notifications still ``queued`` ``NOTIFICATION_STUCK_MINUTES`` after
    their delivery was due: their task was lost or no worker runs. Staff may resend them."""
    return Notification.objects.filter(_stuck_filter())


def notification_stuck_count() -> int:
    return notifications_stuck().count()


def sms_outbox_page_for_staff(
    *, actor: Any, page_number: Any, ip_address: str | None = None
) -> Page[SmsOutboxMessage]:
    """One page of the development SMS outbox, newest first.

    Precondition: the caller has checked the official's role. Side effect: the messages
    shown hold phone numbers, so the view is written to the audit trail
    (``notifications.sms_outbox_viewed``, with the ids of the messages shown).
    """
    page = Paginator(SmsOutboxMessage.objects.order_by("-created_at", "-pk"), STAFF_PAGE_SIZE)
    result = page.get_page(page_number)
    audit_record(
        action="notifications.sms_outbox_viewed",
        actor=actor,
        actor_role=user_acting_as(actor),
        object_type="notifications.smsoutboxmessage",
        changes={"messages": {"before": None, "after": [m.pk for m in result.object_list]}},
        ip_address=ip_address,
    )
    return result
