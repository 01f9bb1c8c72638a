"""The resident's inbox in a real browser, by keyboard, checked with axe-core, in English
and Arabic (right to left); and the staff page of failed deliveries."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.accounts.services import preferences_update
from ecitizen.notifications.models import Notification, Status
from ecitizen.notifications.services import notification_send
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import (
    enter_totp_code,
    press_enter_and_wait,
    sign_in_by_keyboard,
    tab_to,
)
from tests.personas import TOTP_SECRET

pytestmark = pytest.mark.django_db(transaction=True)

FAILING_EMAIL = "ecitizen.notifications.tests.test_delivery.FailingEmailBackend"


@pytest.fixture(autouse=True)
def _mail_stays_local(settings):
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _messages_for(resident):
    for reference, event, extra in [
        (
            "RIV-GW-2026-000101",
            "case_submitted",
            {"expected_decision": "We expect to make a decision by 12 March 2026."},
        ),
        ("RIV-GW-2026-000101", "case_approved", {}),
    ]:
        notification_send(
            recipient=resident,
            event=event,
            context={
                "reference": reference,
                "service": "Garden waste collection",
                "url": f"/cases/{reference}/",
                **extra,
            },
            channels=["inbox"],
        )


@pytest.mark.parametrize("language", [pytest.param("en", marks=pytest.mark.smoke), "ar"])
def test_a_resident_reads_a_message_in_the_inbox_by_keyboard(
    page: Page, live_server, resident, language
):
    preferences_update(user=resident, language=language)
    _messages_for(resident)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)

    page.goto(reverse("notifications:inbox"))
    assert_accessible(page)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("main tbody .govuk-tag")).to_have_count(2)  # both unread

    # The newest message first; reach it with the Tab key and open it with Enter.
    newest = Notification.objects.filter(recipient=resident).order_by("-created_at", "-pk")[0]
    link = f"main a[href='{reverse('notifications:inbox_message', args=[newest.pk])}']"
    tab_to(page, link)
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator("main h1")).to_have_text(newest.subject)
    expect(page.locator("main")).to_contain_text("RIV-GW-2026-000101")
    newest.refresh_from_db()
    assert newest.read_at is not None

    # Back to the list: the message opened is no longer marked unread.
    tab_to(page, "a.govuk-back-link")
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator("main tbody .govuk-tag")).to_have_count(1)


def test_staff_see_failed_deliveries_and_send_one_again(
    page: Page, platform_admin, resident, settings
):
    settings.EMAIL_DELIVERY_BACKEND = FAILING_EMAIL
    notification_send(
        recipient=resident,
        event="case_approved",
        context={"reference": "RIV-1", "service": "Parking permit", "url": "/cases/RIV-1/"},
        channels=["email"],
    )
    failed = Notification.objects.get(status=Status.FAILED)
    sign_in_by_keyboard(page, platform_admin.email)
    assert_accessible(page)
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)

    page.goto(reverse("staff:notifications"))
    assert_accessible(page)
    expect(page.locator("main tbody tr")).to_have_count(1)
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tab_to(page, "main tbody button[type=submit]")
    press_enter_and_wait(page)
    assert_accessible(page)
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    failed.refresh_from_db()
    assert failed.status == Status.SENT

    page.goto(reverse("staff:sms_outbox"))
    assert_accessible(page)
