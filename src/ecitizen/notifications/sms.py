"""Text-message providers.

A provider is a class named by the ``SMS_BACKEND`` setting (a dotted path) that implements
:class:`SmsBackend`. The default, :class:`OutboxSmsBackend`, sends nothing: it keeps each
message in the ``SmsOutboxMessage`` table for staff to read at ``/staff/sms-outbox/``,
which is what development, demos and tests need. A deployment that sends real text
messages adds a class for its provider's API and names it in ``SMS_BACKEND``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from django.conf import settings
from django.utils.module_loading import import_string


class SmsDeliveryError(Exception):
    """The provider did not accept the message. The message of the exception must not
    contain the phone number or the text: it is stored and shown to staff."""

    code = "sms_delivery_failed"


class SmsBackend(ABC):
    """What a text-message provider does for us."""

    @abstractmethod
    def send(self, *, to: str, body: str) -> str:
        """Send ``body`` to the phone number ``to``; return the provider's message id.

        Raises :class:`SmsDeliveryError` when the provider refuses or cannot be reached.
        """


class OutboxSmsBackend(SmsBackend):
    """Development backend: records the message (encrypted) instead of sending it."""

    def send(self, *, to: str, body: str) -> str:
        from ecitizen.notifications.models import SmsOutboxMessage

        message = SmsOutboxMessage.objects.create(phone=to, body=body)
        return f"outbox-{message.pk}"


def get_sms_backend() -> SmsBackend:
    """An instance of the class named by ``SMS_BACKEND``."""
    backend_class = import_string(settings.SMS_BACKEND)
    backend: SmsBackend = backend_class()
    return backend
