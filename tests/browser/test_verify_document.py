"""Checking an issued document in a real browser: the code typed by keyboard, the result
pages (genuine, revoked), the resident's documents and the staff page, each checked with
axe-core."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.documents import services
from ecitizen.documents.tests.factories import issue
from ecitizen.documents.tests.signing_fixtures import (  # noqa: F401 - fixtures
    media_storage,
    signing_certificate,
)
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import (
    enter_totp_code,
    press_enter_and_wait,
    sign_in_by_keyboard,
    submit_main_form,
    tab_to,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("signing_certificate", "media_storage"),
]


def _use_language(page: Page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )


@pytest.mark.parametrize("language", [pytest.param("en", marks=pytest.mark.smoke), "ar"])
def test_type_a_code_and_see_the_document_is_genuine(page: Page, live_server, resident, language):
    document = issue(resident)
    _use_language(page, live_server, language)
    page.goto(reverse("documents:verify"))
    assert_accessible(page)

    # A code that matches nothing is explained, and what was typed stays.
    tab_to(page, "#id_code")
    page.keyboard.type("ABCD-EFGH-JKMN-PQRS")
    submit_main_form(page)
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("#id_code")).to_have_value("ABCD-EFGH-JKMN-PQRS")
    assert_accessible(page)

    # The error summary's link takes the person back to the box.
    tab_to(page, ".govuk-error-summary a")
    page.keyboard.press("Enter")
    expect(page.locator("#id_code")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(document.code_display.lower())
    press_enter_and_wait(page)
    assert page.url.endswith(reverse("documents:verify_document", args=[document.code]))
    if language == "en":
        expect(page.locator("h1")).to_have_text("This document is genuine and valid")
    expect(page.locator("main")).to_contain_text("Alex Morgan")
    expect(page.locator("main")).to_contain_text("RIV-BP-2026-000123")
    expect(page.locator("main")).to_contain_text("12 Mill Lane, Riverton RV1 2AB")
    assert_accessible(page)


def test_a_revoked_document_says_so(page: Page, resident, supervisor, department):
    document = issue(resident, department=department)
    services.document_revoke(document=document, reason="Issued in error", actor=supervisor)
    page.goto(reverse("documents:verify_document", args=[document.code]))
    expect(page.locator("h1")).to_have_text("This document has been revoked")
    expect(page.locator("main")).to_contain_text("Revoked on")
    expect(page.locator("main")).not_to_contain_text("Issued in error")
    assert_accessible(page)


def test_resident_finds_their_documents(page: Page, resident):
    document = issue(resident)
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    page.goto(reverse("documents:list"))
    expect(page.locator("main table")).to_contain_text("Building permit")
    link = page.locator(f"a[href='{reverse('documents:download', args=[document.code])}']")
    expect(link).to_be_visible()
    assert_accessible(page)


def test_a_supervisor_revokes_a_document_by_keyboard(page: Page, resident, supervisor, department):
    from tests.personas import TOTP_SECRET

    document = issue(resident, department=department)
    sign_in_by_keyboard(page, supervisor.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    assert_accessible(page)
    page.goto(reverse("staff:document_detail", args=[document.code]))
    assert_accessible(page)
    submit_main_form(page)  # no reason given
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter why the document is being revoked"
    )
    assert_accessible(page)
    tab_to(page, "#id_reason")
    page.keyboard.type("Issued to the wrong address")
    submit_main_form(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "The document has been revoked"
    )
    assert_accessible(page)
