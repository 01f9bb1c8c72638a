"""Writes about notifications: sending a message to a person, delivering it, retrying it.

**How a message reaches a person.** Other apps call :func:`notification_send` with an
event (a template set in ``<app>/messages/<event>/``, registered by the app), the values of its
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
run a task later, and at once for a permanent refusal such as an invalid phone number) the
notification is ``failed``, an error is logged and the audit event
``notifications.delivery_failed`` is written. Staff can send it again
(:func:`notification_retry`), and also one *stuck* in the queue (still ``queued``
``NOTIFICATION_STUCK_MINUTES`` after it was due).

**Exactly once, as far as we can.** A delivery task may run again: its worker died and the
task was requeued (``ecitizen.core.leases``), or staff resent a stuck notification while
the first task still ran. Before the hand-over an attempt *claims* the notification
(``claimed_until``, under a row lock) and records the outcome afterwards; a run that finds
it no longer ``queued`` does nothing, and one that finds it claimed looks again when the
claim runs out. A database cut between the provider's acceptance and the recording (a
restart, a failover, a session terminated) does not make a rerun: the attempt records the
acceptance again once the database answers, as long as its claim lasts
(:func:`_record_handed_over`). Only a worker that dies in those few milliseconds, or a
database away for longer than the claim, leaves a message that a rerun sends again: an
email then carries the same Message-ID (kept on the notification from its first attempt),
by which mail systems and clients can tell the second copy for the same message, and a
text message the same ``reference``.

Nothing better is possible without risking a lost message: a mail server or SMS provider
and the database cannot commit together, and recording "sent" before the hand-over would
leave a notification marked sent that never went whenever the hand-over then failed or
the worker died. A rare second copy that says it is the same message is the price.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import math
import smtplib
import time
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import OperationalError, connections, transaction
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from ecitizen.accounts.models import ResidentProfile, User
from ecitizen.accounts.selectors import profile_of, user_acting_as
from ecitizen.core import outages
from ecitizen.core.errors import DomainError
from ecitizen.core.services import audit_record
from ecitizen.core.tasks import enqueue_with_change
from ecitizen.notifications.models import Channel, Notification, Status, stuck_before
from ecitizen.notifications.selectors import (
    notification_channels_for,
    notification_language,
)
from ecitizen.notifications.sms import SmsDeliveryError, get_sms_backend
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
    """Queue the delivery task with the current change (``enqueue_with_change``)."""
    from ecitizen.notifications.tasks import deliver_notification

    task = deliver_notification
    if delay is not None:
        task = task.using(run_after=timezone.now() + datetime.timedelta(seconds=delay))
    enqueue_with_change(task, notification_id, attempt)


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

    profile = profile_of(recipient)
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
            due_at=now,
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
    """What went wrong, without personal data: the exception's class (and SMTP code, or
    the SMS provider's answer, which by contract names neither number nor text).
    Other exception messages are not used: an SMTP refusal, for one, names the recipients."""
    label = type(exc).__name__
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPResponseException) and isinstance(code, int):
        label = f"{label} (SMTP {code})"
    elif isinstance(exc, SmsDeliveryError):
        label = f"{label}: {exc}"
    return label[:200]


def _new_message_id() -> str:
    sender_domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return make_msgid(domain=sender_domain or str(DNS_NAME))


def _send_email(notification: Notification) -> str:
    # Chosen at the first attempt and kept (see _claim): every attempt sends the same
    # message as far as mail systems can tell.
    message_id = notification.provider_message_id or _new_message_id()
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
        backend = get_sms_backend()
        extra = {}
        # A backend written before ``reference`` existed takes ``to`` and ``body`` only.
        parameters = inspect.signature(backend.send).parameters
        if "reference" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        ):
            extra["reference"] = f"notification-{notification.pk}"
        provider_id = backend.send(to=str(notification.address), body=notification.body, **extra)
        return Status.SENT, str(provider_id)[:100]
    return Status.DELIVERED, ""


def _can_defer() -> bool:
    from ecitizen.notifications.tasks import deliver_notification

    return bool(deliver_notification.get_backend().supports_defer)


def _claim_window() -> datetime.timedelta:
    """How long an attempt holds its claim: one heartbeat less than a task lease, so that
    when the task of a worker that died is requeued, the claim of that worker has run out
    (its last heartbeat came at most one interval before it claimed)."""
    return datetime.timedelta(
        seconds=max(
            settings.TASK_LEASE_SECONDS - settings.WORKER_HEARTBEAT_SECONDS,
            settings.WORKER_HEARTBEAT_SECONDS,
        )
    )


@transaction.atomic
def _claim(*, notification_id: int, attempt: int) -> tuple[Notification | None, bool]:
    """Claim a queued notification for one delivery attempt; ``(notification, True)``
    when this attempt may hand it over.

    ``(…, False)``: it no longer exists or is no longer ``queued``, or another attempt
    holds an unexpired claim; that one records the outcome, and this attempt is queued
    again for when the claim runs out (in case its holder died without recording).
    """
    notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
    if notification is None or notification.status != Status.QUEUED:
        return notification, False
    now = timezone.now()
    if notification.claimed_until is not None and notification.claimed_until > now:
        if _can_defer():
            notification.due_at = notification.claimed_until
            notification.save(update_fields=["due_at"])
            wait = (notification.claimed_until - now).total_seconds()
            _enqueue_delivery(notification.pk, attempt, math.ceil(wait) + 1)
        return notification, False
    notification.claimed_until = now + _claim_window()
    fields = ["claimed_until"]
    if notification.channel == Channel.EMAIL and not notification.provider_message_id:
        notification.provider_message_id = _new_message_id()
        fields.append("provider_message_id")
    notification.save(update_fields=fields)
    return notification, True


@transaction.atomic
def _record_success(*, notification_id: int, status: str, provider_id: str) -> Notification:
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    if notification.status != Status.QUEUED:
        return notification  # recorded by an attempt whose claim this one outlived
    notification.status = status
    notification.attempts += 1
    notification.sent_at = timezone.now()
    notification.provider_message_id = provider_id
    notification.last_error = ""
    notification.claimed_until = None
    notification.save(
        update_fields=[
            "status",
            "attempts",
            "sent_at",
            "provider_message_id",
            "last_error",
            "claimed_until",
        ]
    )
    return notification


def _record_handed_over(
    *, notification: Notification, status: str, provider_id: str
) -> Notification:
    """Record that the claimed ``notification`` was handed over (:func:`_record_success`),
    waiting out transient database errors while this attempt's claim lasts.

    The mail server or SMS provider has accepted the message: a recording lost to a cut
    connection would leave it ``queued``, and the task, run again, would send it again. So
    on a transient error (:func:`~ecitizen.core.outages.is_transient_database_error`) this
    thread's connections are closed and the recording is tried again at once, then after
    pauses growing from ``outages.FIRST_PAUSE`` to ``outages.LONGEST_PAUSE``, until it is
    recorded or the claim would run out first (another attempt may then claim the
    notification); the error is then raised, and the task goes back to the queue, whose
    next run sends the message again with the same Message-ID or reference. Recording twice
    is harmless: a notification no longer ``queued`` is left as it is.

    Precondition: called outside any transaction (a retry needs a new connection), by the
    attempt that holds the claim, right after the hand-over. Side effects: those of
    :func:`_record_success`; the first cut logged as a warning, giving up as an error.
    """
    assert notification.claimed_until is not None  # set by the claim
    pause = 0.0
    while True:
        try:
            return _record_success(
                notification_id=notification.pk, status=status, provider_id=provider_id
            )
        except OperationalError as error:
            if not outages.is_transient_database_error(error):
                raise
            connections.close_all()  # a broken connection would fail the next try too
            if timezone.now() + datetime.timedelta(seconds=pause) >= notification.claimed_until:
                logger.error(
                    "notification %d (%s) was handed over but could not be recorded before "
                    "its claim ran out (%s); it will be sent again, with the same %s",
                    notification.pk,
                    notification.channel,
                    outages.describe(error),
                    "Message-ID" if notification.channel == Channel.EMAIL else "reference",
                )
                raise
            if not pause:
                logger.warning(
                    "notification %d (%s) was handed over but its recording was cut by a "
                    "database error (%s); recording it again",
                    notification.pk,
                    notification.channel,
                    outages.describe(error),
                )
        time.sleep(pause)
        pause = min(max(2 * pause, outages.FIRST_PAUSE), outages.LONGEST_PAUSE)


@transaction.atomic
def _record_failure(
    *, notification_id: int, attempt: int, error: str, permanent: bool = False
) -> Notification:
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    if notification.status != Status.QUEUED:
        return notification  # recorded by an attempt whose claim this one outlived
    notification.attempts += 1
    notification.last_error = error
    notification.claimed_until = None
    if not permanent and attempt < len(DELIVERY_RETRY_DELAYS) and _can_defer():
        delay = DELIVERY_RETRY_DELAYS[attempt]
        notification.due_at = timezone.now() + datetime.timedelta(seconds=delay)
        notification.save(update_fields=["attempts", "last_error", "claimed_until", "due_at"])
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
    notification.save(update_fields=["status", "attempts", "last_error", "claimed_until"])
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
    failed) or no longer exists (its recipient was deleted), and waits for another attempt
    that is handing it over right now (see the module's documentation). Safe to run again
    for the same notification. Not atomic as a whole: the claim is taken in a short
    transaction, the hand-over to the mail server or SMS provider happens outside any
    transaction, and the outcome is recorded after it in another short one (a hand-over
    whose recording the database cut is recorded again once it answers, within the claim:
    :func:`_record_handed_over`). Precondition: called outside any transaction, as its
    task is (inside one, a database cut after the hand-over cannot be ridden out).

    Side effects: on success, ``sent`` (email, SMS) with ``sent_at`` and the provider's
    message id (an email's Message-ID). On failure, ``attempts`` and ``last_error`` are
    updated and a new attempt is queued after the next delay of
    :data:`DELIVERY_RETRY_DELAYS`; after the last one, at once when the task backend cannot
    run a task later, and at once for a permanent refusal
    (:class:`~ecitizen.notifications.sms.SmsDeliveryError` with ``permanent``), the
    notification is ``failed``, an error is logged and ``notifications.delivery_failed`` is
    audited.
    """
    notification, claimed = _claim(notification_id=notification_id, attempt=attempt)
    if notification is None or not claimed:
        return notification
    try:
        status, provider_id = _send(notification)
    except Exception as exc:  # any failure of the backend: retried, then recorded
        return _record_failure(
            notification_id=notification.pk,
            attempt=attempt,
            error=_error_label(exc),
            permanent=bool(getattr(exc, "permanent", False)),
        )
    return _record_handed_over(notification=notification, status=status, provider_id=provider_id)


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
    """Queue a failed or stuck notification for delivery again, with a fresh series of
    retries.

    *Stuck*: still ``queued`` ``NOTIFICATION_STUCK_MINUTES`` after its delivery was due
    (its task was lost, or no worker runs). Precondition: the caller has checked the
    official's role. Raises :class:`NotificationNotRetryable` unless the notification is
    ``failed`` or stuck; a resend makes it due now, so a double click queues it once.
    Resending a stuck notification whose first task does run after all sends it once: the
    delivery claims the notification and does nothing once it is sent.

    Side effects: status ``queued``, due now, the audit event ``notifications.retried``
    (with the status before and, for a stuck one, when it was due), and the delivery task
    enqueued with the transaction.
    """
    locked = Notification.objects.select_for_update().get(pk=notification.pk)
    stuck = (
        locked.status == Status.QUEUED
        and locked.channel != Channel.INBOX
        and locked.due_at <= stuck_before()
    )
    if locked.status != Status.FAILED and not stuck:
        raise NotificationNotRetryable(
            _(
                "Only a notification that failed, or that has waited in the queue for more "
                "than %(minutes)s minutes, can be sent again."
            )
            % {"minutes": settings.NOTIFICATION_STUCK_MINUTES}
        )
    now = timezone.now()
    changes: dict[str, Any] = {"status": {"before": locked.status, "after": "queued"}}
    if stuck:
        changes["due_at"] = {"before": locked.due_at, "after": now}
    locked.status = Status.QUEUED
    locked.due_at = now
    locked.save(update_fields=["status", "due_at"])
    audit_record(
        action="notifications.retried",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=locked,
        changes=changes,
        ip_address=ip_address,
    )
    _enqueue_delivery(locked.pk)
    return locked
