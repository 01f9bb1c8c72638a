"""Every journey works with JavaScript turned off (progressive enhancement)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import ResidentProfile
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import sign_in_by_keyboard, submit_main_form, tab_to

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def javascript_enabled() -> bool:
    return False


@pytest.mark.smoke
def test_sign_in_change_details_and_display_settings_without_javascript(page: Page, resident):
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)
    page.goto(reverse("accounts:profile_edit"))
    assert_accessible(page)
    # A wrong date is explained, and what was typed stays.
    tab_to(page, "#id_date_of_birth_day")
    page.keyboard.type("31")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.type("1990")
    tab_to(page, "#id_town")
    page.keyboard.type("Riverton")
    submit_main_form(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a real date")
    expect(page.locator("#id_town")).to_have_value("Riverton")
    assert_accessible(page)
    # The error summary link takes the person to the field.
    page.locator(".govuk-error-summary a").first.click()
    assert page.url.endswith("#id_date_of_birth_day")
    assert_accessible(page)

    page.locator("#id_date_of_birth_day").fill("28")
    submit_main_form(page)
    # (A browser keeps the #fragment across the redirect.)
    assert page.url.split("#")[0].endswith(reverse("accounts:home"))
    assert_accessible(page)
    assert str(ResidentProfile.objects.get(user=resident).date_of_birth) == "1990-02-28"

    page.goto(reverse("core:display"))
    assert_accessible(page)
    page.locator("input[name=text_size][value=larger]").check()
    page.locator("input[name=contrast][value=high]").check()
    submit_main_form(page)
    expect(page.locator("html")).to_have_class(
        "govuk-template app-text-size--larger app-contrast--high"
    )
    assert_accessible(page)  # the high-contrast theme passes too
