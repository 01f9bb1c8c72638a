"""Notifications sent to people (email, text message, inbox) and the development SMS outbox."""

from __future__ import annotations

import re

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


class Notification(models.Model):
    """One message to one person on one channel, as it was rendered and sent.

    Written only by :mod:`ecitizen.notifications.services`. ``subject`` and ``body`` hold
    the rendered text (encrypted: it may contain personal data), so what was sent is what
    the resident reads in the inbox and what can be audited later; ``address`` is the email
    address or phone number it went to (encrypted; empty for the inbox).

    ``status`` moves ``queued`` → ``sent`` (handed to the mail server or SMS provider) or
    ``delivered`` (the inbox), or → ``failed`` after the last attempt. ``last_error`` names
    the kind of failure only, never personal data.
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
