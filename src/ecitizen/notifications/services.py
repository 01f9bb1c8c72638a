"""Writes about notifications: sending a message to a person, delivering it, retrying it.

**How a message reaches a person.** Other apps call :func:`notification_send` with an
event (a template set in ``notifications/messages/<event>/``), the values of its
placeholders and the channels the service allows. The channels actually used follow the
recipient's ``ResidentProfile.contact_preference``
(:func:`ecitizen.notifications.selectors.notification_channels_for`):

- **inbox** whenever it is allowed (stored and shown at ``/account/inbox/``, status
  ``delivered`` at once);
- **sms** when allowed, the person prefers text messages *and* has a phone number on
  their profile;
- otherwise **email**, when allowed. A preference for **post** is treated as email: the
  platform does not print letters, and no note that a letter is due is recorded.

The language is the person's preferred language (``User.language``) when the platform
offers it, else ``LANGUAGE_CODE``; a template set without that language is written in
English.

**Transactions.** Call :func:`notification_send` inside the transaction of the change that
causes the message. The ``Notification`` rows (one per channel) are written at once; the
email and SMS deliveries are queued so that a rollback sends nothing: with the database
task backend the task row is written in the same transaction (as
``ecitizen.core.mail`` does for mail), with any other backend it is enqueued by
``transaction.on_commit``.

**Delivery** (:func:`notification_deliver`, run by the ``deliver_notification`` task):
email goes straight through ``EMAIL_DELIVERY_BACKEND`` (not the queueing
``EMAIL_BACKEND``), so the recorded status is the real outcome; SMS goes through the
``SMS_BACKEND`` provider. A failure is retried after 1 min, 5 min, 30 min and 2 h (as
``core.tasks.send_email``); after the last attempt (at once when the task backend cannot
run a task later) the notification is ``failed``, an error is logged and the audit event
``notifications.delivery_failed`` is written. Staff can send it again
(:func:`notification_retry`).
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from ecitizen.accounts.models import ResidentProfile, User
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.core.errors import DomainError
from ecitizen.core.services import audit_record
from ecitizen.notifications.models import Channel, Notification, Status
from ecitizen.notifications.selectors import (
    notification_channels_for,
    notification_language,
)
from ecitizen.notifications.sms import get_sms_backend
from ecitizen.notifications.templating import CHANNELS, event_specs, render_event

logger = logging.getLogger(__name__)

#: Delays before each new attempt to deliver: 1 min, 5 min, 30 min, 2 h (as core's mail).
DELIVERY_RETRY_DELAYS = (60, 300, 1800, 7200)


class NotificationContextError(ValueError):
    """``notification_send`` was called with an unknown event, channel or a context that
    does not match the event's placeholders: a programming error, not a user's."""

    code = "notification_context_invalid"


class NotificationNotRetryable(DomainError):
    code = "notification_not_retryable"


# --- Sending ----------------------------------------------------------------------------


def _public_base_url() -> str:
    return str(settings.PUBLIC_BASE_URL).rstrip("/")


def _absolute_url(key: str, value: str) -> str:
    if value.startswith(("https://", "http://")):
        return value
    if value.startswith("/") and not value.startswith("//"):
        return _public_base_url() + value
    raise NotificationContextError(
        f"context[{key!r}] must be an absolute http(s) address or a path starting with /"
    )


def _as_text(key: str, value: Any) -> str:
    """A context value as text in the active language (dates formatted for it)."""
    if isinstance(value, bool) or value is None:
        raise NotificationContextError(f"context[{key!r}] must be text or a number")
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Promise):  # a lazy translation: rendered in the person's language
        return str(value)
    if isinstance(value, datetime.datetime):
        return str(formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"))
    if isinstance(value, datetime.date):
        return str(formats.date_format(value, "DATE_FORMAT"))
    raise NotificationContextError(f"context[{key!r}] must be text or a number")


def _display_name(recipient: User, profile: ResidentProfile | None) -> str:
    if profile is not None and profile.display_name:
        return profile.display_name
    return recipient.full_name or recipient.email


def _enqueue_delivery(notification_id: int, attempt: int = 0, delay: int | None = None) -> None:
    """Queue the delivery task, atomically with the current transaction (database task
    backend) or once it commits (any other backend)."""
    from ecitizen.notifications.tasks import deliver_notification

    task = deliver_notification
    if delay is not None:
        task = task.using(run_after=timezone.now() + datetime.timedelta(seconds=delay))
    enqueue = partial(task.enqueue, notification_id, attempt)
    if settings.TASKS_BACKEND == "database":
        enqueue()
    else:
        transaction.on_commit(enqueue)


@transaction.atomic
def notification_send(
    *,
    recipient: User,
    event: str,
    context: Mapping[str, Any],
    channels: Sequence[str] | None = None,
    actor: User | None = None,
) -> list[Notification]:
    """Write ``event``'s message to ``recipient`` on the channels their preferences pick
    among ``channels`` (``None``: the event's default channels); return the notifications.

    Preconditions: called inside the transaction of the change that causes the message.
    ``context`` gives every placeholder of the event
    (:func:`~ecitizen.notifications.selectors.notification_event_placeholders`) except
    ``name``, which is the recipient's preferred or legal name. Values are text or numbers
    (a lazy translation is rendered in the recipient's language, a date or datetime is
    formatted for it); ``url`` and ``*_url`` values are absolute http(s) addresses or paths
    (``/cases/...``) that get ``PUBLIC_BASE_URL`` in front.

    Side effects: one ``Notification`` per channel used, with the rendered text stored
    (encrypted); the inbox one is ``delivered`` at once, email and SMS are ``queued`` and
    their delivery task is enqueued (a rollback sends nothing). Raises
    :class:`NotificationContextError` for an unknown event or channel, or a context that
    lacks a placeholder or has one the event does not know.
    """
    spec = event_specs().get(event)
    if spec is None:
        raise NotificationContextError(f"no templates for the event {event!r}")
    allowed = list(spec.channels if channels is None else channels)
    unknown_channels = set(allowed) - set(CHANNELS)
    if unknown_channels:
        raise NotificationContextError(f"unknown channels: {sorted(unknown_channels)}")
    expected = spec.placeholders - {"name"}
    missing, extra = expected - set(context), set(context) - expected
    if missing or extra:
        raise NotificationContextError(
            f"{event}: context is missing {sorted(missing)} and has unknown {sorted(extra)}; "
            f"it takes {sorted(expected)}"
        )

    profile = ResidentProfile.objects.filter(user=recipient).first()
    phone = (profile.phone or "") if profile is not None else ""
    chosen = notification_channels_for(
        allowed=allowed,
        contact_preference=profile.contact_preference if profile else "email",
        has_phone=bool(phone.strip()),
    )
    if not chosen:
        return []

    language = notification_language(recipient)
    with translation.override(language):
        values = {key: _as_text(key, value) for key, value in context.items()}
    for key, value in values.items():
        if key == "url" or key.endswith("_url"):
            values[key] = _absolute_url(key, value)
    values["name"] = _display_name(recipient, profile)
    rendered = render_event(event, language, values)

    now = timezone.now()
    created = []
    for channel in chosen:
        notification = Notification(
            recipient=recipient,
            actor=actor,
            event=event,
            channel=channel,
            language=rendered.language,
            subject=rendered.subject,
            url=values["url"],
            created_at=now,
        )
        if channel == Channel.EMAIL:
            notification.body = rendered.email
            notification.address = recipient.email
        elif channel == Channel.SMS:
            notification.body = rendered.sms
            notification.address = phone.strip()
        else:
            notification.body = rendered.inbox
            notification.status = Status.DELIVERED
            notification.sent_at = now
        notification.save()
        if channel != Channel.INBOX:
            _enqueue_delivery(notification.pk)
        created.append(notification)
    return created


# --- Delivery ---------------------------------------------------------------------------


def _error_label(exc: BaseException) -> str:
    """What went wrong, without personal data: the exception's class (and SMTP code).
    Exception messages are not used: an SMTP refusal, for one, names the recipients."""
    label = type(exc).__name__
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPResponseException) and isinstance(code, int):
        label = f"{label} (SMTP {code})"
    return label[:200]


def _send_email(notification: Notification) -> str:
    sender_domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    message_id = make_msgid(domain=sender_domain or str(DNS_NAME))
    email = EmailMessage(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[str(notification.address)],
        headers={
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
            "Content-Language": notification.language,
        },
        # The real backend, not EMAIL_BACKEND (which queues): the status recorded is the
        # outcome of this attempt, and retries are ours.
        connection=get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False),
    )
    if email.send(fail_silently=False) != 1:
        raise RuntimeError("the mail backend did not accept the message")
    return message_id


def _send(notification: Notification) -> tuple[str, str]:
    """Hand the notification to its channel; returns (status, provider message id)."""
    if notification.channel == Channel.EMAIL:
        return Status.SENT, _send_email(notification)
    if notification.channel == Channel.SMS:
        provider_id = get_sms_backend().send(to=str(notification.address), body=notification.body)
        return Status.SENT, str(provider_id)[:100]
    return Status.DELIVERED, ""


def _can_defer() -> bool:
    from ecitizen.notifications.tasks import deliver_notification

    return bool(deliver_notification.get_backend().supports_defer)


@transaction.atomic
def _record_success(*, notification_id: int, status: str, provider_id: str) -> Notification:
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    notification.status = status
    notification.attempts += 1
    notification.sent_at = timezone.now()
    notification.provider_message_id = provider_id
    notification.last_error = ""
    notification.save(
        update_fields=["status", "attempts", "sent_at", "provider_message_id", "last_error"]
    )
    return notification


@transaction.atomic
def _record_failure(*, notification_id: int, attempt: int, error: str) -> Notification:
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    notification.attempts += 1
    notification.last_error = error
    if attempt < len(DELIVERY_RETRY_DELAYS) and _can_defer():
        delay = DELIVERY_RETRY_DELAYS[attempt]
        notification.save(update_fields=["attempts", "last_error"])
        logger.warning(
            "notification %d (%s) failed (attempt %d: %s); retrying in %ds",
            notification.pk,
            notification.channel,
            attempt + 1,
            error,
            delay,
        )
        _enqueue_delivery(notification.pk, attempt + 1, delay)
        return notification
    notification.status = Status.FAILED
    notification.save(update_fields=["status", "attempts", "last_error"])
    logger.error(
        "notification %d (%s, %s) could not be delivered after %d attempts: %s",
        notification.pk,
        notification.event,
        notification.channel,
        attempt + 1,
        error,
    )
    audit_record(
        action="notifications.delivery_failed",
        actor=None,
        obj=notification,
        changes={
            "status": {"before": "queued", "after": "failed"},
            "attempts": {"before": None, "after": notification.attempts},
            "last_error": {"before": None, "after": error},
        },
    )
    return notification


def notification_deliver(*, notification_id: int, attempt: int = 0) -> Notification | None:
    """Attempt number ``attempt`` (from 0) to deliver a queued notification.

    Does nothing for a notification that is no longer ``queued`` (already delivered, or
    failed) or no longer exists (its recipient was deleted). Not atomic as a whole: the
    hand-over to the mail server or SMS provider happens outside any transaction, and the
    outcome is recorded after it in a short one.

    Side effects: on success, ``sent`` (email, SMS) with ``sent_at`` and the provider's
    message id. On failure, ``attempts`` and ``last_error`` are updated and a new attempt is
    queued after the next delay of :data:`DELIVERY_RETRY_DELAYS`; after the last one, or at
    once when the task backend cannot run a task later, the notification is ``failed``, an
    error is logged and ``notifications.delivery_failed`` is audited.
    """
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.status != Status.QUEUED:
        return notification
    try:
        status, provider_id = _send(notification)
    except Exception as exc:  # any failure of the backend: retried, then recorded
        return _record_failure(
            notification_id=notification.pk, attempt=attempt, error=_error_label(exc)
        )
    return _record_success(notification_id=notification.pk, status=status, provider_id=provider_id)


# --- The inbox and staff actions --------------------------------------------------------


def notification_mark_read(*, notification: Notification, actor: Any) -> Notification:
    """Record that the recipient opened an inbox message (the first time only).

    Precondition: ``notification`` was fetched for ``actor`` as its recipient
    (``inbox_message_get_for_user``). One UPDATE, no audit event: reading one's own
    messages changes nothing anyone else relies on.
    """
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


@transaction.atomic
def notification_retry(
    *, notification: Notification, actor: Any, ip_address: str | None = None
) -> Notification:
    """Queue a failed notification for delivery again, with a fresh series of retries.

    Precondition: the caller has checked the official's role. Raises
    :class:`NotificationNotRetryable` unless the notification is ``failed`` (so a double
    click queues it once). Side effects: status back to ``queued``, the audit event
    ``notifications.retried``, and the delivery task enqueued with the transaction.
    """
    locked = Notification.objects.select_for_update().get(pk=notification.pk)
    if locked.status != Status.FAILED:
        raise NotificationNotRetryable(_("Only a notification that failed can be sent again."))
    locked.status = Status.QUEUED
    locked.save(update_fields=["status"])
    audit_record(
        action="notifications.retried",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=locked,
        changes={"status": {"before": "failed", "after": "queued"}},
        ip_address=ip_address,
    )
    _enqueue_delivery(locked.pk)
    return locked
