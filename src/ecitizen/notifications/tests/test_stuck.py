"""Notifications stuck in the queue (their task was lost): staff see them and send them
again, once; and a delivery run twice at once, or again after a worker died, sends once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import ContactPreference
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification, Status
from ecitizen.notifications.selectors import notification_stuck_count
from ecitizen.notifications.services import (
    NotificationNotRetryable,
    notification_deliver,
    notification_retry,
    notification_send,
)
from ecitizen.notifications.sms import SmsBackend, SmsDeliveryError
from tests.personas import sign_in_official

from .conftest import LOCMEM, case_context, prefer

FAILING = "ecitizen.notifications.tests.test_delivery.FailingEmailBackend"


class RefusedNumberSms(SmsBackend):
    def send(self, *, to, body, reference=""):
        raise SmsDeliveryError("Notify HTTP 400 ValidationError", permanent=True)


class UnreachableSms(SmsBackend):
    def send(self, *, to, body, reference=""):
        raise SmsDeliveryError("Notify unreachable (TimeoutError)")


def _database_queue(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"  # the settings fixture resets django-tasks' backends


def _run_worker():
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


def _email(user):
    (email,) = notification_send(
        recipient=user, event="case_submitted", context=case_context(), channels=["email"]
    )
    return email


def _stuck_email(user, minutes=16):
    """An email whose delivery task was lost: queued, due ``minutes`` ago, never tried."""
    email = _email(user)
    Notification.objects.filter(pk=email.pk).update(
        status=Status.QUEUED,
        attempts=0,
        sent_at=None,
        due_at=timezone.now() - timedelta(minutes=minutes),
    )
    mail.outbox.clear()
    return email


@pytest.mark.django_db(transaction=True)
def test_staff_see_a_stuck_notification_and_send_it_again_once(client, resident, platform_admin):
    stuck = _stuck_email(resident)
    recent = _stuck_email(resident, minutes=5)  # queued, but not for long
    assert notification_stuck_count() == 1
    sign_in_official(client, platform_admin)
    url = reverse("staff:notifications")

    page = client.get(url).content.decode()  # the default view: failed ones
    assert "1 notification has waited in the queue for more than 15 minutes" in page
    assert 'href="?status=stuck"' in page

    page = client.get(url, {"status": "stuck"}).content.decode()
    assert f">{stuck.pk}</td>" in page
    assert f">{recent.pk}</td>" not in page
    assert "Stuck in the queue</strong>" in page
    retry_url = reverse("staff:notification_retry", args=[stuck.pk])
    assert f'action="{retry_url}"' in page

    response = client.post(retry_url, {"next": url + "?status=stuck"})
    assert response.status_code == 302
    stuck.refresh_from_db()
    assert stuck.status == Status.SENT
    assert len(mail.outbox) == 1
    event = AuditEvent.objects.get(action="notifications.retried")
    assert event.actor_id == platform_admin.pk
    assert event.changes["status"] == {"before": "queued", "after": "queued"}
    assert event.changes["due_at"]["before"] is not None

    # A double submit is refused with a message, and sends nothing more.
    page = client.post(retry_url, follow=True).content.decode()
    assert "has waited in the queue for more than 15" in page
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="notifications.retried").count() == 1
    assert notification_stuck_count() == 0


@pytest.mark.django_db
def test_a_notification_queued_for_a_short_while_cannot_be_resent(resident, platform_admin):
    recent = _stuck_email(resident, minutes=14)
    with pytest.raises(NotificationNotRetryable):
        notification_retry(notification=recent, actor=platform_admin)


@pytest.mark.django_db(transaction=True)
def test_resending_a_stuck_notification_whose_task_runs_after_all_sends_once(
    resident, platform_admin, settings
):
    from django_tasks_db.models import DBTaskResult

    _database_queue(settings)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = _email(resident)  # its task waits: no worker runs
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        notification_retry(notification=email, actor=platform_admin)
        assert DBTaskResult.objects.filter(status="READY").count() == 2
        _run_worker()  # both tasks: the first sends, the second finds it sent
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.attempts == 1
    assert len(mail.outbox) == 1
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_finds_another_attempt_sending_waits_for_it(resident, settings):
    from django_tasks_db.models import DBTaskResult

    _database_queue(settings)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = _email(resident)
        DBTaskResult.objects.all().delete()
        # Another attempt (a worker believed dead, still running) is handing it over.
        claimed_until = start + timedelta(seconds=60)
        Notification.objects.filter(pk=email.pk).update(claimed_until=claimed_until)
        assert notification_deliver(notification_id=email.pk).status == Status.QUEUED
    assert mail.outbox == []
    email.refresh_from_db()
    assert email.due_at == claimed_until
    look_again = DBTaskResult.objects.get(status="READY")
    assert look_again.run_after >= claimed_until
    # That attempt died without recording anything: once its claim ran out, this one sends.
    with time_machine.travel(start + timedelta(seconds=62), tick=False):
        _run_worker()
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.claimed_until is None
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_every_attempt_of_an_email_carries_the_same_message_id(resident, settings):
    _database_queue(settings)
    settings.EMAIL_DELIVERY_BACKEND = FAILING
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = _email(resident)
        _run_worker()
    email.refresh_from_db()
    assert email.status == Status.QUEUED
    first_id = email.provider_message_id
    assert first_id.startswith("<")
    assert email.due_at == start + timedelta(seconds=60)  # the retry's time

    settings.EMAIL_DELIVERY_BACKEND = LOCMEM
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        _run_worker()
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.provider_message_id == first_id
    assert mail.outbox[0].extra_headers["Message-ID"] == first_id


@pytest.mark.django_db(transaction=True)
def test_a_number_the_provider_refuses_fails_at_once_without_retry(resident, settings):
    from django_tasks_db.models import DBTaskResult

    _database_queue(settings)
    settings.SMS_BACKEND = "ecitizen.notifications.tests.test_stuck.RefusedNumberSms"
    prefer(resident, ContactPreference.SMS, "07700 900123")
    notification_send(recipient=resident, event="case_approved", context=_approved())
    _run_worker()
    sms = Notification.objects.get(channel="sms")
    assert sms.status == Status.FAILED
    assert sms.attempts == 1
    assert sms.last_error == "SmsDeliveryError: Notify HTTP 400 ValidationError"
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert AuditEvent.objects.filter(action="notifications.delivery_failed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_provider_is_retried_by_the_notification_rules(resident, settings):
    from django_tasks_db.models import DBTaskResult

    _database_queue(settings)
    settings.SMS_BACKEND = "ecitizen.notifications.tests.test_stuck.UnreachableSms"
    prefer(resident, ContactPreference.SMS, "07700 900123")
    notification_send(recipient=resident, event="case_approved", context=_approved())
    _run_worker()
    sms = Notification.objects.get(channel="sms")
    assert sms.status == Status.QUEUED
    assert sms.attempts == 1
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["args"] == [sms.pk, 1]


def _approved():
    return {"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"}
