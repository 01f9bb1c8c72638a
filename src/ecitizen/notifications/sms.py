"""Text-message providers.

A provider is a class named by the ``SMS_BACKEND`` setting (a dotted path) that implements
:class:`SmsBackend`.

- :class:`NotifySmsBackend` sends through GOV.UK Notify's API (an
  :class:`HttpSmsGateway`): the real backend of a production site.
- :class:`OutboxSmsBackend` sends nothing: it keeps each message in the
  ``SmsOutboxMessage`` table for staff to read at ``/staff/sms-outbox/``, which is what
  development, demos and tests need. With ``DEBUG`` off it is refused at start-up unless
  ``SMS_OUTBOX_IN_PRODUCTION`` allows it, and ``check --deploy`` reports it.

Another provider with an HTTP API is a subclass of :class:`HttpSmsGateway` (build the
request, read the message id and the error name); any other kind is a subclass of
:class:`SmsBackend`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ecitizen.core.sms_rules import (
    NOTIFY_DEFAULT_BASE_URL,
    SMS_OUTBOX_BACKEND,
    notify_api_key_parts,
)


class SmsDeliveryError(Exception):
    """The provider did not accept the message. The message of the exception must not
    contain the phone number or the text: it is stored and shown to staff.

    ``permanent``: sending the same message again cannot succeed (the number is not a
    mobile number, the provider refuses the recipient), so the notification fails at once
    instead of being retried.
    """

    code = "sms_delivery_failed"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmsBackend(ABC):
    """What a text-message provider does for us."""

    @abstractmethod
    def send(self, *, to: str, body: str, reference: str = "") -> str:
        """Send ``body`` to the phone number ``to``; return the provider's message id.

        ``reference`` names the message without personal data (``notification-42``) for
        providers that keep one, so that a message sent twice can be recognised. Raises
        :class:`SmsDeliveryError` when the provider refuses or cannot be reached.
        """


class OutboxSmsBackend(SmsBackend):
    """Development backend: records the message (encrypted) instead of sending it."""

    def send(self, *, to: str, body: str, reference: str = "") -> str:
        from ecitizen.notifications.models import SmsOutboxMessage

        message = SmsOutboxMessage.objects.create(phone=to, body=body)
        return f"outbox-{message.pk}"


# --- Providers with an HTTP API ---------------------------------------------------------


@dataclass(frozen=True)
class GatewayRequest:
    """One POST of a JSON body to a provider."""

    url: str
    headers: Mapping[str, str]
    payload: Mapping[str, Any]


#: 4xx statuses that say "not now" rather than "never": a timeout, too early, too many
#: requests, and the provider refusing our credentials (a configuration error that an
#: operator can fix while the retries run; it is logged on every attempt).
TRANSIENT_CLIENT_ERRORS = frozenset({401, 403, 408, 425, 429})
#: No provider answer is read beyond this many bytes.
MAX_ANSWER_BYTES = 65_536


def _without_digits(text: str) -> str:
    """A provider's error text with every run of digits hidden: it could be a number."""
    return re.sub(r"\d+", "…", text)


class HttpSmsGateway(SmsBackend):
    """A provider reached with one HTTPS POST of JSON per message.

    The transport is ``urllib`` (``opener`` replaces it in tests) with a timeout of
    :attr:`timeout` seconds. The answer decides the outcome:

    - **2xx**: sent; the provider's message id is returned;
    - **5xx**, no answer (timeout, refused connection, DNS) and the 4xx statuses of
      :data:`TRANSIENT_CLIENT_ERRORS`: :class:`SmsDeliveryError`, retried by the
      notification retry rules;
    - **any other 4xx** (an invalid number, a refused recipient): a *permanent*
      :class:`SmsDeliveryError`: the notification fails without retry.
    """

    #: The provider's name in error messages.
    name = "SMS gateway"
    #: Seconds to wait for the provider's answer.
    timeout: float = 10

    def __init__(self, *, opener: urllib.request.OpenerDirector | None = None) -> None:
        self.opener = opener or urllib.request.build_opener()

    @abstractmethod
    def build_request(self, *, to: str, body: str, reference: str) -> GatewayRequest:
        """The request that sends ``body`` to ``to``."""

    @abstractmethod
    def message_id(self, answer: Mapping[str, Any]) -> str:
        """The provider's id of the message, from its success answer."""

    def error_name(self, answer: Mapping[str, Any]) -> str:
        """The provider's name for the error in an error answer (no personal data)."""
        return ""

    def send(self, *, to: str, body: str, reference: str = "") -> str:
        request = self.build_request(to=to, body=body, reference=reference)
        http_request = urllib.request.Request(  # noqa: S310 - an https URL from settings
            request.url,
            data=json.dumps(request.payload).encode(),
            headers={"Content-Type": "application/json", **request.headers},
            method="POST",
        )
        try:
            with self.opener.open(http_request, timeout=self.timeout) as response:
                status, raw = int(response.status), response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            status, raw = int(exc.code), exc.read(MAX_ANSWER_BYTES)
            exc.close()
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, BaseException) else exc
            raise SmsDeliveryError(f"{self.name} unreachable ({type(reason).__name__})") from exc
        except (TimeoutError, OSError) as exc:
            raise SmsDeliveryError(f"{self.name} unreachable ({type(exc).__name__})") from exc
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if 200 <= status < 300:
            return self.message_id(answer)
        error = _without_digits(self.error_name(answer))[:120]
        permanent = 400 <= status < 500 and status not in TRANSIENT_CLIENT_ERRORS
        raise SmsDeliveryError(
            f"{self.name} HTTP {status}" + (f" {error}" if error else ""), permanent=permanent
        )


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class NotifySmsBackend(HttpSmsGateway):
    """GOV.UK Notify (``POST /v2/notifications/sms``, a JWT signed with the API key).

    Notify sends a template, so the text rendered by the platform goes in as the
    personalisation ``body`` of a template whose whole content is ``((body))``
    (``NOTIFY_SMS_TEMPLATE_ID``). The ``reference`` is Notify's own ``reference`` field.
    Each request carries a fresh token: ``iss`` is the service id, ``iat`` the time (Notify
    refuses tokens more than 30 seconds off its clock), signed with HS256 and the key's
    secret. Settings: ``NOTIFY_API_KEY``, ``NOTIFY_SMS_TEMPLATE_ID``,
    ``NOTIFY_SMS_SENDER_ID`` (optional), ``NOTIFY_BASE_URL``.
    """

    name = "Notify"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        template_id: str | None = None,
        sender_id: str | None = None,
        base_url: str | None = None,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        super().__init__(opener=opener)
        key = settings.NOTIFY_API_KEY if api_key is None else api_key
        parts = notify_api_key_parts(str(key))
        if parts is None:
            raise ImproperlyConfigured("NOTIFY_API_KEY is not a GOV.UK Notify API key")
        self.service_id, self.secret = parts
        self.template_id = str(
            settings.NOTIFY_SMS_TEMPLATE_ID if template_id is None else template_id
        )
        self.sender_id = str(settings.NOTIFY_SMS_SENDER_ID if sender_id is None else sender_id)
        url = settings.NOTIFY_BASE_URL if base_url is None else base_url
        self.base_url = str(url or NOTIFY_DEFAULT_BASE_URL).rstrip("/")

    def token(self, *, now: float | None = None) -> str:
        """A JSON Web Token for one request (HS256)."""
        header = {"typ": "JWT", "alg": "HS256"}
        claims = {"iss": self.service_id, "iat": int(time.time() if now is None else now)}
        signing_input = ".".join(
            _base64url(json.dumps(part, separators=(",", ":")).encode())
            for part in (header, claims)
        )
        signature = hmac.new(self.secret.encode(), signing_input.encode(), hashlib.sha256)
        return f"{signing_input}.{_base64url(signature.digest())}"

    def build_request(self, *, to: str, body: str, reference: str) -> GatewayRequest:
        payload: dict[str, Any] = {
            "phone_number": to,
            "template_id": self.template_id,
            "personalisation": {"body": body},
        }
        if reference:
            payload["reference"] = reference
        if self.sender_id:
            payload["sms_sender_id"] = self.sender_id
        return GatewayRequest(
            url=f"{self.base_url}/v2/notifications/sms",
            headers={"Authorization": f"Bearer {self.token()}", "User-Agent": "ecitizen"},
            payload=payload,
        )

    def message_id(self, answer: Mapping[str, Any]) -> str:
        return str(answer.get("id") or "")

    def error_name(self, answer: Mapping[str, Any]) -> str:
        # {"status_code": 400, "errors": [{"error": "ValidationError", "message": "..."}]}
        errors = answer.get("errors")
        if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
            return ""
        first = errors[0]
        return f"{first.get('error', '')}: {first.get('message', '')}".strip(": ")


def get_sms_backend() -> SmsBackend:
    """An instance of the class named by ``SMS_BACKEND``.

    Raises ``ImproperlyConfigured`` for the outbox with ``DEBUG`` off unless
    ``SMS_OUTBOX_IN_PRODUCTION`` allows it: settings changed after start-up must not make
    production "send" text messages to nobody either.
    """
    backend_class = import_string(settings.SMS_BACKEND)
    if (
        issubclass(backend_class, OutboxSmsBackend)
        and not settings.DEBUG
        and not settings.SMS_OUTBOX_IN_PRODUCTION
    ):
        raise ImproperlyConfigured(
            f"SMS_BACKEND={SMS_OUTBOX_BACKEND} sends no text message; with DEBUG off it "
            "needs SMS_OUTBOX_IN_PRODUCTION=true"
        )
    backend: SmsBackend = backend_class()
    return backend
