"""The GOV.UK Notify text-message backend against recorded Notify answers.

No request leaves the machine: a small HTTP server on 127.0.0.1 stands in for Notify's
API and answers each request with the next recorded response from ``notify_responses/``
(shaped as in Notify's API documentation), keeping what it was sent so that the tests can
check the path, the token and the body. The backend's own ``urllib`` transport is used
unchanged, timeouts and refused connections included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from ecitizen.accounts.models import ContactPreference
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification, Status
from ecitizen.notifications.services import notification_send
from ecitizen.notifications.sms import NotifySmsBackend, SmsDeliveryError

from .conftest import prefer

RESPONSES = Path(__file__).parent / "notify_responses"
SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"riverton_live-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"
PHONE = "07700 900123"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class RecordedNotify:
    """Answers with the queued (status, recorded file, delay in seconds) in turn."""

    answers: list[tuple[int, str, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self, status: int, name: str, *, delay: float = 0) -> None:
        self.answers.append((status, name, delay))


def _handler(notify: RecordedNotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            notify.received.append(
                Received(self.path, dict(self.headers), json.loads(self.rfile.read(length)))
            )
            status, name, delay = notify.answers.pop(0)
            time.sleep(delay)
            body = (RESPONSES / f"{name}.json").read_bytes()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def notify() -> Iterator[RecordedNotify]:
    recorded = RecordedNotify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    server.daemon_threads = True
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()


def backend(notify: RecordedNotify, **overrides: Any) -> NotifySmsBackend:
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "template_id": TEMPLATE_ID,
        "sender_id": "",
        "base_url": notify.url,
    }
    options.update(overrides)
    return NotifySmsBackend(**options)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_a_text_message_is_sent_with_a_signed_token_and_the_rendered_text(notify):
    notify.answer(201, "sms_created")
    before = int(time.time())
    message_id = backend(notify).send(to=PHONE, body="Hello Alex", reference="notification-42")
    assert message_id == "740e5834-3a29-46b4-9a6f-16142fde533a"

    (request,) = notify.received
    assert request.path == "/v2/notifications/sms"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {
        "phone_number": PHONE,
        "template_id": TEMPLATE_ID,
        "personalisation": {"body": "Hello Alex"},
        "reference": "notification-42",
    }
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    header, claims, signature = token.split(".")
    assert json.loads(_b64decode(header)) == {"typ": "JWT", "alg": "HS256"}
    decoded = json.loads(_b64decode(claims))
    assert decoded["iss"] == SERVICE_ID
    assert before <= decoded["iat"] <= int(time.time())
    expected = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _b64decode(signature) == expected


def test_the_text_sender_is_named_when_configured(notify):
    notify.answer(201, "sms_created")
    sender = "8e222534-7f05-4972-86e3-17c5d9f894e2"
    backend(notify, sender_id=sender).send(to=PHONE, body="Hi")
    assert notify.received[0].body["sms_sender_id"] == sender


@pytest.mark.parametrize(
    ("status", "name", "permanent", "message"),
    [
        (400, "error_validation_phone", True, "ValidationError: phone_number Not a UK mobile"),
        (400, "error_trial_mode", True, "BadRequestError: Can't send to this recipient"),
        (403, "error_auth_clock", False, "AuthError: Error: Your system clock"),
        (429, "error_rate_limit", False, "RateLimitError: Exceeded rate limit"),
        (500, "error_server", False, "Exception: Internal server error"),
    ],
)
def test_errors_are_permanent_only_for_a_message_that_can_never_go(
    notify, status, name, permanent, message
):
    notify.answer(status, name)
    with pytest.raises(SmsDeliveryError) as caught:
        backend(notify).send(to=PHONE, body="Hello")
    assert caught.value.permanent is permanent
    text = str(caught.value)
    assert text.startswith(f"Notify HTTP {status} ")
    assert message in text
    assert "900123" not in text
    assert not any(char.isdigit() for char in text.removeprefix(f"Notify HTTP {status} "))


def test_a_provider_that_does_not_answer_in_time_is_a_failure_to_retry(notify):
    notify.answer(201, "sms_created", delay=2)
    slow = backend(notify)
    slow.timeout = 0.2
    with pytest.raises(SmsDeliveryError, match=r"^Notify unreachable \(TimeoutError\)$") as caught:
        slow.send(to=PHONE, body="Hello")
    assert caught.value.permanent is False


def test_a_provider_that_refuses_connections_is_a_failure_to_retry():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = NotifySmsBackend(
        api_key=API_KEY, template_id=TEMPLATE_ID, sender_id="", base_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(SmsDeliveryError, match="unreachable") as caught:
        closed.send(to=PHONE, body="Hello")
    assert caught.value.permanent is False


def test_a_malformed_api_key_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        NotifySmsBackend(api_key="not-a-key", template_id=TEMPLATE_ID, base_url="https://x")


# --- Through the notifications ------------------------------------------------------------


@pytest.fixture
def notify_settings(settings, notify):
    settings.SMS_BACKEND = "ecitizen.notifications.sms.NotifySmsBackend"
    settings.NOTIFY_API_KEY = API_KEY
    settings.NOTIFY_SMS_TEMPLATE_ID = TEMPLATE_ID
    settings.NOTIFY_SMS_SENDER_ID = ""
    settings.NOTIFY_BASE_URL = notify.url
    return settings


def _approved():
    return {"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"}


@pytest.mark.django_db(transaction=True)
def test_a_notification_by_text_is_sent_through_notify(resident, notify, notify_settings):
    notify.answer(201, "sms_created")
    prefer(resident, ContactPreference.SMS, PHONE)
    notification_send(recipient=resident, event="case_approved", context=_approved())
    sms = Notification.objects.get(channel="sms")
    assert sms.status == Status.SENT
    assert sms.provider_message_id == "740e5834-3a29-46b4-9a6f-16142fde533a"
    (request,) = notify.received
    assert request.body["phone_number"] == PHONE
    assert request.body["reference"] == f"notification-{sms.pk}"
    assert request.body["personalisation"]["body"] == sms.body
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_number_notify_refuses_fails_without_retry(resident, notify, notify_settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    notify_settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    notify_settings.TASKS_BACKEND = "database"
    notify.answer(400, "error_validation_phone")
    prefer(resident, ContactPreference.SMS, PHONE)
    notification_send(recipient=resident, event="case_approved", context=_approved())
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    sms = Notification.objects.get(channel="sms")
    assert sms.status == Status.FAILED
    assert sms.attempts == 1
    assert sms.last_error == (
        "SmsDeliveryError: Notify HTTP 400 ValidationError: phone_number Not a UK mobile number"
    )
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert AuditEvent.objects.filter(action="notifications.delivery_failed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_notify_outage_is_retried(resident, notify, notify_settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    notify_settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    notify_settings.TASKS_BACKEND = "database"
    notify.answer(500, "error_server")
    prefer(resident, ContactPreference.SMS, PHONE)
    notification_send(recipient=resident, event="case_approved", context=_approved())
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    sms = Notification.objects.get(channel="sms")
    assert sms.status == Status.QUEUED
    assert sms.attempts == 1
    assert sms.last_error == "SmsDeliveryError: Notify HTTP 500 Exception: Internal server error"
    assert DBTaskResult.objects.get(status="READY").args_kwargs["args"] == [sms.pk, 1]
