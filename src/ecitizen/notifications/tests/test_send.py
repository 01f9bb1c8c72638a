"""notification_send: which channels, what is stored, and nothing on a rollback."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext_lazy

from ecitizen.accounts.models import ContactPreference
from ecitizen.accounts.services import preferences_update
from ecitizen.notifications.models import Notification, SmsOutboxMessage, Status
from ecitizen.notifications.selectors import notification_channels_for
from ecitizen.notifications.services import NotificationContextError, notification_send
from ecitizen.notifications.templating import event_specs, load_texts

from .conftest import case_context, prefer

ALL = ["email", "sms", "inbox"]


@pytest.mark.parametrize(
    ("allowed", "preference", "has_phone", "expected"),
    [
        (ALL, "email", True, ["email", "inbox"]),
        (ALL, "sms", True, ["sms", "inbox"]),
        (ALL, "sms", False, ["email", "inbox"]),  # no phone: email instead
        (ALL, "post", True, ["email", "inbox"]),  # post is treated as email
        (["email", "sms"], "sms", True, ["sms"]),
        (["email", "inbox"], "sms", True, ["email", "inbox"]),  # sms not allowed
        (["sms", "inbox"], "email", True, ["inbox"]),  # sms only when preferred
        (["inbox"], "sms", True, ["inbox"]),
        (["email"], "email", False, ["email"]),
    ],
)
def test_channels_follow_the_service_and_the_persons_preference(
    allowed, preference, has_phone, expected
):
    chosen = notification_channels_for(
        allowed=allowed, contact_preference=preference, has_phone=has_phone
    )
    assert chosen == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("preference", "phone", "expected"),
    [
        (ContactPreference.EMAIL, "07700 900123", {"email", "inbox"}),
        (ContactPreference.SMS, "07700 900123", {"sms", "inbox"}),
        (ContactPreference.SMS, None, {"email", "inbox"}),
        (ContactPreference.POST, None, {"email", "inbox"}),
    ],
)
def test_send_uses_the_recipients_profile(resident, preference, phone, expected):
    prefer(resident, preference, phone)
    sent = notification_send(recipient=resident, event="case_submitted", context=case_context())
    assert {n.channel for n in sent} == expected
    assert Notification.objects.filter(recipient=resident).count() == len(expected)


@pytest.mark.django_db
def test_the_event_default_channels_apply_when_none_are_given(resident):
    context = {
        "reference": "RIV-BP-2026-000123",
        "service": "Garden waste collection",
        "due_date": "1 April 2026",
        "state": "Waiting for a decision",
        "url": "/staff/cases/RIV-BP-2026-000123/",
    }
    sent = notification_send(recipient=resident, event="case_escalated", context=context)
    assert [n.channel for n in sent] == ["email", "inbox"]


@pytest.mark.django_db(transaction=True)
def test_a_committed_send_stores_the_text_and_delivers(resident):
    with transaction.atomic():
        sent = notification_send(
            recipient=resident, event="case_submitted", context=case_context(), actor=resident
        )
        assert mail.outbox == []  # nothing leaves before the commit
        email = next(n for n in sent if n.channel == "email")
        assert email.status == Status.QUEUED
    inbox = Notification.objects.get(recipient=resident, channel="inbox")
    email.refresh_from_db()
    assert inbox.status == Status.DELIVERED
    assert inbox.sent_at is not None
    assert email.status == Status.SENT
    assert email.attempts == 1
    assert email.sent_at is not None
    assert email.provider_message_id.startswith("<")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [resident.email]
    assert message.subject == "We have received your application RIV-BP-2026-000123"
    assert message.subject == email.subject
    assert message.body == email.body
    assert "Hello Alex Morgan," in message.body
    assert "https://services.riverton.example/cases/RIV-BP-2026-000123/" in message.body
    assert message.extra_headers["Message-ID"] == email.provider_message_id
    assert inbox.url == "https://services.riverton.example/cases/RIV-BP-2026-000123/"
    assert "12 March 2026" in inbox.body
    assert email.actor == resident


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_sends_nothing(resident):
    prefer(resident, ContactPreference.SMS, "07700 900123")

    def failing_change():
        with transaction.atomic():
            notification_send(recipient=resident, event="case_submitted", context=case_context())
            assert Notification.objects.filter(recipient=resident).count() == 2
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert Notification.objects.count() == 0
    assert SmsOutboxMessage.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.db_specific
@pytest.mark.django_db
def test_the_text_and_address_are_encrypted_at_rest(resident):
    (email, _inbox) = notification_send(
        recipient=resident, event="case_submitted", context=case_context()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT subject, body, address FROM notifications_notification WHERE id = %s",
            [email.pk],
        )
        subject, body, address = cursor.fetchone()
    for raw in (subject, body, address):
        assert raw.startswith("enc1:")
    assert "Alex" not in body
    assert resident.email not in address


@pytest.mark.django_db
def test_the_recipients_language_is_used(resident):
    preferences_update(user=resident, language="ar")
    resident.refresh_from_db()
    sent = notification_send(
        recipient=resident,
        event="case_approved",
        context={"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"},
    )
    assert {n.language for n in sent} == {"ar"}
    assert sent[0].subject == "تمت الموافقة على طلبك رقم RIV-1"


@pytest.mark.django_db
def test_a_language_without_templates_gets_english(resident, settings):
    settings.LANGUAGES = [*settings.LANGUAGES, ("de", "Deutsch")]
    event_specs.cache_clear()
    load_texts.cache_clear()
    try:
        resident.language = "de"
        resident.save(update_fields=["language"])
        (email, _inbox) = notification_send(
            recipient=resident,
            event="case_approved",
            context={"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"},
        )
    finally:
        event_specs.cache_clear()
        load_texts.cache_clear()
    assert email.language == "en"
    assert email.subject == "Your application RIV-1 has been approved"


@pytest.mark.django_db
def test_dates_and_lazy_translations_are_written_in_the_recipients_language(resident):
    preferences_update(user=resident, language="fr")
    resident.refresh_from_db()
    (email, _inbox) = notification_send(
        recipient=resident,
        event="draft_expiring",
        context={
            "service": gettext_lazy("Email"),
            "expires_on": datetime.date(2026, 3, 5),
            "url": "/applications/",
        },
    )
    assert "5 mars 2026" in email.body
    with translation.override("fr"):
        service_in_french = str(gettext_lazy("Email"))
    assert f"« {service_in_french} »" in email.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event", "context", "message"),
    [
        ("case_exploded", case_context(), "no templates"),
        ("case_submitted", {"reference": "R"}, "missing"),
        ("case_submitted", case_context(colour="blue"), "unknown"),
        ("case_submitted", case_context(name="Someone else"), "unknown"),
        ("case_submitted", case_context(url="javascript:alert(1)"), "absolute"),
        ("case_submitted", case_context(reference=None), "text or a number"),
        ("case_submitted", case_context(reference=["R"]), "text or a number"),
    ],
)
def test_a_wrong_call_is_refused_loudly(resident, event, context, message):
    with pytest.raises(NotificationContextError, match=message):
        notification_send(recipient=resident, event=event, context=context)
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_unknown_channels_are_refused(resident):
    with pytest.raises(NotificationContextError, match="unknown channels"):
        notification_send(
            recipient=resident, event="case_submitted", context=case_context(), channels=["fax"]
        )


@pytest.mark.django_db
def test_no_allowed_channel_means_no_notification(resident):
    sent = notification_send(
        recipient=resident, event="case_submitted", context=case_context(), channels=["sms"]
    )
    assert sent == []
