"""Delivery of email and SMS notifications: real backends, retries, failure, staff retry."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from ecitizen.accounts.models import ContactPreference
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification, SmsOutboxMessage, Status
from ecitizen.notifications.services import (
    DELIVERY_RETRY_DELAYS,
    NotificationNotRetryable,
    notification_deliver,
    notification_retry,
    notification_send,
)
from ecitizen.notifications.sms import SmsBackend, SmsDeliveryError

from .conftest import case_context, prefer

FAILING = "ecitizen.notifications.tests.test_delivery.FailingEmailBackend"


class FailingEmailBackend:
    """A mail server that is down."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


class RefusingEmailBackend:
    """A mail server that refuses the recipient, naming them (as SMTP servers do)."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"mailbox unavailable")})


class FailingSmsBackend(SmsBackend):
    def send(self, *, to, body):
        raise SmsDeliveryError("provider unreachable")


def _email_of(sent):
    return next(n for n in sent if n.channel == "email")


def _use_database_queue(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"  # the settings fixture resets django-tasks' backends


def _run_worker():
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_email_goes_through_the_delivery_backend_not_the_queueing_one(resident, settings):
    # EMAIL_BACKEND is what Django and allauth use; notifications bypass it.
    settings.EMAIL_BACKEND = FAILING
    email = _email_of(
        notification_send(recipient=resident, event="case_submitted", context=case_context())
    )
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Content-Language"] == "en"
    assert mail.outbox[0].extra_headers["Auto-Submitted"] == "auto-generated"


@pytest.mark.django_db(transaction=True)
def test_without_a_deferring_queue_a_failure_is_final_at_once(resident, settings, caplog):
    settings.EMAIL_DELIVERY_BACKEND = FAILING
    email = _email_of(
        notification_send(recipient=resident, event="case_submitted", context=case_context())
    )
    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert email.attempts == 1
    assert email.last_error == "ConnectionRefusedError"
    assert email.sent_at is None
    event = AuditEvent.objects.get(action="notifications.delivery_failed")
    assert event.object_id == str(email.pk)
    assert event.changes["status"] == {"before": "queued", "after": "failed"}
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("could not be delivered" in r.getMessage() for r in errors)


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_a_failing_email_is_retried_with_backoff_then_fails(resident, settings, caplog):
    import time_machine
    from django_tasks_db.models import DBTaskResult

    _use_database_queue(settings)
    settings.EMAIL_DELIVERY_BACKEND = FAILING
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = _email_of(
            notification_send(recipient=resident, event="case_submitted", context=case_context())
        )
        assert DBTaskResult.objects.count() == 1  # written with the notification
        _run_worker()
    email.refresh_from_db()
    assert email.status == Status.QUEUED
    assert email.attempts == 1
    assert "retrying in 60s" in caplog.text

    moment = start
    for attempt, delay in enumerate(DELIVERY_RETRY_DELAYS, start=2):
        retry = DBTaskResult.objects.filter(status="READY").get()
        assert retry.args_kwargs["args"] == [email.pk, attempt - 1]
        assert retry.run_after is not None
        # Not before its time...
        with time_machine.travel(moment + timedelta(seconds=delay - 5), tick=False):
            _run_worker()
        email.refresh_from_db()
        assert email.attempts == attempt - 1
        # ...but once it is due.
        moment += timedelta(seconds=delay)
        with time_machine.travel(moment + timedelta(seconds=1), tick=False):
            _run_worker()
        email.refresh_from_db()
        assert email.attempts == attempt

    assert email.status == Status.FAILED
    assert email.attempts == len(DELIVERY_RETRY_DELAYS) + 1
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert AuditEvent.objects.filter(action="notifications.delivery_failed").count() == 1
    assert "could not be delivered after 5 attempts" in caplog.text
    assert mail.outbox == []


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_the_database_queue_delivers_when_a_worker_runs(resident, settings):
    from django_tasks_db.models import DBTaskResult

    _use_database_queue(settings)
    email = _email_of(
        notification_send(recipient=resident, event="case_submitted", context=case_context())
    )
    assert mail.outbox == []
    assert str(email.pk) in str(DBTaskResult.objects.get().args_kwargs)
    assert "Alex" not in str(DBTaskResult.objects.get().args_kwargs)  # only the id is queued
    _run_worker()
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_errors_recorded_carry_no_personal_data(resident, settings):
    settings.EMAIL_DELIVERY_BACKEND = (
        "ecitizen.notifications.tests.test_delivery.RefusingEmailBackend"
    )
    email = _email_of(
        notification_send(recipient=resident, event="case_submitted", context=case_context())
    )
    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert email.last_error == "SMTPRecipientsRefused"
    event = AuditEvent.objects.get(action="notifications.delivery_failed")
    assert resident.email not in str(event.changes)


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_sms_goes_to_the_outbox(resident):
    prefer(resident, ContactPreference.SMS, "07700 900123")
    sent = notification_send(
        recipient=resident,
        event="case_approved",
        context={"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"},
    )
    assert [n.channel for n in sent] == ["sms", "inbox"]
    sms = Notification.objects.get(channel="sms")
    outbox = SmsOutboxMessage.objects.get()
    assert sms.status == Status.SENT
    assert sms.provider_message_id == f"outbox-{outbox.pk}"
    assert outbox.phone == "07700 900123"
    assert outbox.body == sms.body
    assert outbox.body.startswith("Your application RIV-1 (Parking permit) has been approved.")
    assert "https://services.riverton.example/cases/RIV-1/" in outbox.body
    assert mail.outbox == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, body FROM notifications_smsoutboxmessage")
        phone, body = cursor.fetchone()
    assert phone.startswith("enc1:")
    assert body.startswith("enc1:")


@pytest.mark.django_db(transaction=True)
def test_a_failing_sms_provider_ends_failed(resident, settings):
    settings.SMS_BACKEND = "ecitizen.notifications.tests.test_delivery.FailingSmsBackend"
    prefer(resident, ContactPreference.SMS, "07700 900123")
    notification_send(
        recipient=resident,
        event="case_approved",
        context={"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"},
    )
    sms = Notification.objects.get(channel="sms")
    assert sms.status == Status.FAILED
    # The provider's reason is shown: by contract it names neither the number nor the text.
    assert sms.last_error == "SmsDeliveryError: provider unreachable"
    assert SmsOutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_staff_can_send_a_failed_notification_again(resident, platform_admin, settings):
    settings.EMAIL_DELIVERY_BACKEND = FAILING
    email = _email_of(
        notification_send(recipient=resident, event="case_submitted", context=case_context())
    )
    email.refresh_from_db()
    assert email.status == Status.FAILED

    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notification_retry(notification=email, actor=platform_admin)
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.attempts == 2
    assert email.last_error == ""
    assert len(mail.outbox) == 1
    retried = AuditEvent.objects.get(action="notifications.retried")
    assert retried.actor_id == platform_admin.pk
    assert retried.actor_role == "Platform administrator"

    with pytest.raises(NotificationNotRetryable):
        notification_retry(notification=email, actor=platform_admin)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_delivering_twice_sends_once(resident):
    email = _email_of(
        notification_send(recipient=resident, event="case_submitted", context=case_context())
    )
    # In a test transaction the on-commit delivery has not run: deliver by hand, twice.
    assert notification_deliver(notification_id=email.pk).status == Status.SENT
    assert notification_deliver(notification_id=email.pk).status == Status.SENT
    assert len(mail.outbox) == 1
    assert notification_deliver(notification_id=999_999) is None
