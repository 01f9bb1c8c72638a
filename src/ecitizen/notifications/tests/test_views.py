"""The inbox pages, the staff delivery page and the SMS outbox."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import ContactPreference
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.context_processors import inbox as inbox_context
from ecitizen.notifications.models import Notification, SmsOutboxMessage, Status
from ecitizen.notifications.services import notification_send
from tests.personas import sign_in_official

from .conftest import case_context, prefer


def _inbox_message(user, reference="RIV-1"):
    (message,) = notification_send(
        recipient=user,
        event="case_approved",
        context={"reference": reference, "service": "Parking permit", "url": "/cases/x/"},
        channels=["inbox"],
    )
    return message


def _failed_email(user):
    (email,) = notification_send(
        recipient=user, event="case_submitted", context=case_context(), channels=["email"]
    )
    Notification.objects.filter(pk=email.pk).update(
        status=Status.FAILED, attempts=5, last_error="ConnectionRefusedError"
    )
    return email


# --- Inbox ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_inbox_needs_sign_in(client):
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_the_inbox_lists_newest_first_with_unread_in_bold(client, resident):
    older = _inbox_message(resident, "RIV-OLD")
    Notification.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=1), read_at=timezone.now()
    )
    _inbox_message(resident, "RIV-NEW")
    client.force_login(resident)
    response = client.get(reverse("notifications:inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("RIV-NEW") < html.index("RIV-OLD")
    assert html.count(">Unread</strong>") == 1
    assert "govuk-!-font-weight-bold" in html.split("RIV-NEW")[0].rsplit("<a", 1)[1]
    assert "govuk-!-font-weight-bold" not in html.split("RIV-OLD")[0].rsplit("<a", 1)[1]


@pytest.mark.django_db
def test_the_inbox_is_paginated(client, resident):
    for number in range(25):
        _inbox_message(resident, f"RIV-{number:03d}")
    client.force_login(resident)
    first = client.get(reverse("notifications:inbox")).content.decode()
    second = client.get(reverse("notifications:inbox") + "?page=2").content.decode()
    assert "RIV-024" in first
    assert "RIV-000" not in first
    assert "RIV-000" in second
    assert "Page 2 of 2" in second


@pytest.mark.django_db
def test_opening_a_message_shows_it_and_marks_it_read(client, resident):
    message = _inbox_message(resident)
    client.force_login(resident)
    response = client.get(reverse("notifications:inbox_message", args=[message.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your application RIV-1 has been approved" in html
    assert "Your application for Parking permit (reference RIV-1) has been approved." in html
    assert 'href="https://services.riverton.example/cases/x/"' in html
    message.refresh_from_db()
    assert message.read_at is not None
    first_read = message.read_at
    client.get(reverse("notifications:inbox_message", args=[message.pk]))
    message.refresh_from_db()
    assert message.read_at == first_read


@pytest.mark.django_db
def test_another_persons_message_is_not_found(client, resident, second_resident):
    message = _inbox_message(resident)
    client.force_login(second_resident)
    response = client.get(reverse("notifications:inbox_message", args=[message.pk]))
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.read_at is None


@pytest.mark.django_db
def test_an_email_notification_is_not_an_inbox_message(client, resident):
    (email,) = notification_send(
        recipient=resident, event="case_submitted", context=case_context(), channels=["email"]
    )
    client.force_login(resident)
    response = client.get(reverse("notifications:inbox_message", args=[email.pk]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_inbox_list_costs_the_same_queries_for_5_or_50_messages(
    client, resident, django_assert_num_queries
):
    for number in range(5):
        _inbox_message(resident, f"RIV-{number}")
    client.force_login(resident)
    url = reverse("notifications:inbox")
    client.get(url)  # warm up the session and caches
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200
    for number in range(45):
        _inbox_message(resident, f"RIV-{number + 5}")
    with django_assert_num_queries(len(five.captured_queries)):
        assert client.get(url).status_code == 200


# --- The unread count -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_unread_count_is_one_query_and_free_for_visitors(resident, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    _inbox_message(resident)
    _inbox_message(resident)
    template = Template("{{ inbox_unread_count }} {% if inbox_unread_count %}new{% endif %}")
    request = RequestFactory().get("/")
    request.user = resident
    context = inbox_context(request)
    with django_assert_num_queries(1):
        assert template.render(Context(context)) == "2 new"
    # Read, they count no more: none unread is a count of 0 (the query finds no row).
    Notification.objects.filter(recipient=resident).update(read_at=timezone.now())
    with django_assert_num_queries(1):
        assert template.render(Context(inbox_context(request))) == "0 "
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert template.render(Context(inbox_context(request))) == "0 "
    with django_assert_num_queries(0):
        inbox_context(request)  # unused: no query at all


# --- Staff: deliveries ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["platform_admin"])
def test_delivery_roles_see_failed_notifications(client, request, resident, persona):
    official = request.getfixturevalue(persona)
    failed = _failed_email(resident)
    _inbox_message(resident)
    sign_in_official(client, official)
    response = client.get(reverse("staff:notifications"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<td class="govuk-table__cell">{failed.pk}</td>' in html
    assert "ConnectionRefusedError" in html
    assert html.count("Send again") == 1
    assert resident.email not in html  # delivery facts only


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["supervisor", "department_admin", "case_officer", "auditor", "resident"]
)
def test_other_people_cannot_see_deliveries(client, request, persona):
    person = request.getfixturevalue(persona)
    sign_in_official(client, person)
    assert client.get(reverse("staff:notifications")).status_code == 403
    assert client.get(reverse("staff:sms_outbox")).status_code == 403


@pytest.mark.django_db
def test_deliveries_filter_by_status_and_channel(client, resident, platform_admin):
    failed = _failed_email(resident)
    inbox = _inbox_message(resident)
    sign_in_official(client, platform_admin)
    url = reverse("staff:notifications")
    everything = client.get(url, {"status": "", "channel": ""}).content.decode()
    assert f">{failed.pk}</td>" in everything
    assert f">{inbox.pk}</td>" in everything
    inbox_only = client.get(url, {"status": "", "channel": "inbox"}).content.decode()
    assert f">{failed.pk}</td>" not in inbox_only
    assert f">{inbox.pk}</td>" in inbox_only
    delivered = client.get(url, {"status": "delivered"}).content.decode()
    assert f">{inbox.pk}</td>" in delivered
    wrong = client.get(url, {"status": "exploded"})
    assert wrong.status_code == 200
    assert "govuk-error-summary" in wrong.content.decode()


@pytest.mark.django_db(transaction=True)
def test_retry_now_queues_the_notification_again(client, resident, platform_admin):
    from django.core import mail

    failed = _failed_email(resident)
    mail.outbox.clear()  # the first, successful delivery (marked failed by hand above)
    sign_in_official(client, platform_admin)
    retry_url = reverse("staff:notification_retry", args=[failed.pk])
    assert client.get(retry_url).status_code == 405
    back = reverse("staff:notifications") + "?status=failed&channel=email"
    response = client.post(retry_url, {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    failed.refresh_from_db()
    assert failed.status == Status.SENT  # the immediate task backend delivered it
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="notifications.retried").count() == 1
    # A second click is refused with a message, and sends nothing.
    response = client.post(retry_url, {"next": "https://evil.example/"}, follow=True)
    assert (
        "Only a notification that failed, or that has waited in the queue for more than 15 "
        "minutes, can be sent again." in response.content.decode()
    )
    assert response.redirect_chain[0][0] == reverse("staff:notifications")
    assert len(mail.outbox) == 1


# --- Staff: the SMS outbox --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sms_outbox_shows_messages_and_audits_the_view(client, resident, platform_admin):
    prefer(resident, ContactPreference.SMS, "07700 900123")
    notification_send(recipient=resident, event="case_submitted", context=case_context())
    outbox = SmsOutboxMessage.objects.get()
    sign_in_official(client, platform_admin)
    response = client.get(reverse("staff:sms_outbox"))
    html = response.content.decode()
    assert response.status_code == 200
    # The number is masked: enough to tell messages apart, not to know whose phone it is.
    assert "900123" not in html
    assert "•••••••123" in html
    assert "We have received your application for Garden waste collection." in html
    viewed = AuditEvent.objects.get(action="notifications.sms_outbox_viewed")
    assert viewed.actor_id == platform_admin.pk
    assert viewed.changes["messages"]["after"] == [outbox.pk]
