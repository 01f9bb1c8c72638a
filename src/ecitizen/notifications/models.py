"""Notifications sent to people (email, text message, inbox) and the development SMS outbox."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedTextField


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    INBOX = "inbox", _("Inbox")


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


def stuck_before() -> datetime:
    """A queued notification whose delivery was due before this moment is stuck."""
    return timezone.now() - timedelta(minutes=settings.NOTIFICATION_STUCK_MINUTES)


class Notification(models.Model):
    """One message to one person on one channel, as it was rendered and sent.

    Written only by :mod:`ecitizen.notifications.services`. ``subject`` and ``body`` hold
    the rendered text (encrypted: it may contain personal data), so what was sent is what
    the resident reads in the inbox and what can be audited later; ``address`` is the email
    address or phone number it went to (encrypted; empty for the inbox).

    ``status`` moves ``queued`` → ``sent`` (handed to the mail server or SMS provider) or
    ``delivered`` (the inbox), or → ``failed`` after the last attempt. ``last_error`` names
    the kind of failure only, never personal data.

    ``due_at`` is when the next delivery attempt of a queued notification is due (now, or
    after a retry delay): one still queued ``NOTIFICATION_STUCK_MINUTES`` after that is
    *stuck* and staff may send it again. ``claimed_until`` is set while an attempt hands
    the message over, so that a second run of the delivery (a task requeued after its
    worker died, or a staff resend) does not send it at the same time.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    event = models.CharField(max_length=63)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=10)
    subject = EncryptedTextField(_("subject"))
    body = EncryptedTextField(_("message"))
    url = models.CharField(max_length=500, blank=True)
    address = EncryptedTextField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(
                fields=["recipient", "channel", "-created_at"], name="notification_inbox_idx"
            ),
            models.Index(fields=["status", "channel"], name="notification_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.channel}) #{self.pk}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def is_stuck(self) -> bool:
        """Still queued ``NOTIFICATION_STUCK_MINUTES`` after its delivery was due."""
        return (
            self.status == Status.QUEUED
            and self.channel != Channel.INBOX
            and self.due_at <= stuck_before()
        )

    @property
    def paragraphs(self) -> list[str]:
        """The body split at blank lines, for display."""
        return [part.strip() for part in re.split(r"\n\s*\n", self.body or "") if part.strip()]


class SmsOutboxMessage(models.Model):
    """A text message "sent" by the development backend
    (:class:`ecitizen.notifications.sms.OutboxSmsBackend`): kept here instead of reaching a
    phone, for staff to read at /staff/sms-outbox/. Phone and text are encrypted."""

    phone = EncryptedTextField(_("phone number"))
    body = EncryptedTextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("text message in the outbox")
        verbose_name_plural = _("text messages in the outbox")

    def __str__(self) -> str:
        return f"SMS #{self.pk}"

    @property
    def phone_masked(self) -> str:
        """The number as staff see it: all but the last three digits hidden, enough to
        tell messages apart without disclosing whose phone it is."""
        digits = [c for c in self.phone if c.isdigit()]
        return "•" * max(len(digits) - 3, 0) + "".join(digits[-3:])
