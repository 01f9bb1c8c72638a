"""Asking for erasure in a real browser, checked with axe-core on every page: the resident
finds "Close your account" from their account, gives a reason and confirms by keyboard
(an error first when they forget to confirm), and sees their request with the
date we decide by; the data-protection officer finds it in their queue, reads what
approving would erase and keep, approves; the resident's statement link shows what was
erased and kept, and why."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.privacy import erasure
from ecitizen.privacy.models import ErasureRequest
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import press_enter_and_wait, sign_in_by_cookie, tab_to
from tests.personas import _official

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dpo(db):
    return _official(erasure.DPO_ROLE, None, email="dpo@example.test")


def test_a_resident_asks_for_erasure_and_the_officer_approves(
    page: Page, live_server, resident, dpo
):
    old_email = resident.email
    # Just signed in: the password is not asked again (test_erasure_flow covers asking
    # for it after the re-authentication window).
    sign_in_by_cookie(page, live_server, resident)
    page.goto(reverse("accounts:home"))
    assert_accessible(page)
    tab_to(page, f"main a[href='{reverse('privacy:erasure_status')}']")
    press_enter_and_wait(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Close your account")
    assert_accessible(page)

    # Forgetting to confirm: a clear error, linked to the box.
    tab_to(page, "#id_reason")
    page.keyboard.type("I am moving abroad")
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Confirm that you understand your account will be closed"
    )
    assert_accessible(page)
    assert not ErasureRequest.objects.exists()

    tab_to(page, "#id_confirm")
    page.keyboard.press("Space")
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    request = ErasureRequest.objects.get()
    expect(page.locator("#erasure-open")).to_contain_text(request.reference)
    expect(page.locator("#erasure-open")).to_contain_text("We will decide by")
    assert_accessible(page)

    # The data-protection officer decides.
    page.context.clear_cookies()
    sign_in_by_cookie(page, live_server, dpo, official=True)
    page.goto(reverse("staff:privacy_erasure_queue"))
    assert_accessible(page)
    tab_to(
        page, f"main a[href='{reverse('staff:privacy_erasure_detail', args=[request.reference])}']"
    )
    press_enter_and_wait(page)
    expect(page.locator("main")).to_contain_text("Approving would erase")
    expect(page.locator("main")).to_contain_text("I am moving abroad")
    assert_accessible(page)
    page.get_by_label("Approve: erase the data now and close the account").check()
    tab_to(page, "main form button[type=submit]")
    press_enter_and_wait(page)
    expect(page.locator("main")).to_contain_text("What was kept, and why")
    assert_accessible(page)
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE

    # The resident's statement, from the email sent to the address they had.
    [message] = [m for m in mail.outbox if old_email in m.to and "/statement/" in m.body]
    path = re.search(r"https?://[^/\s]+(/privacy/close-account/statement/[^/\s]+/)", message.body)
    assert path, message.body
    page.context.clear_cookies()
    page.goto(path.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("What we erased and what we kept")
    expect(page.locator("main")).to_contain_text(
        "Your closed account, with no name or email address"
    )
    assert_accessible(page)
