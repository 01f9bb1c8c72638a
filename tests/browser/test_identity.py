"""Identity journeys in a real browser, each page checked with axe-core, in English and
Arabic (right to left)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import User
from ecitizen.core.models import AuditEvent
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import (
    enrol_totp,
    enter_totp_code,
    link_from_last_mail,
    sign_in_by_keyboard,
    submit_main_form,
    tab_to,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _use_language(page: Page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )


@pytest.mark.parametrize("language", [pytest.param("en", marks=pytest.mark.smoke), "ar"])
def test_sign_up_verify_enrol_totp_sign_out_and_sign_in_with_it(page: Page, live_server, language):
    _use_language(page, live_server, language)
    page.goto("/")
    assert_accessible(page)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")

    page.goto(reverse("account_signup"))
    assert_accessible(page)
    # A first attempt with a password that contains the person's name is refused clearly.
    tab_to(page, "#id_full_name")
    page.keyboard.type("Maria Lopez")
    tab_to(page, "#id_email")
    page.keyboard.type("maria@example.test")
    tab_to(page, "#id_password1")
    page.keyboard.type("lopez family 1999")
    submit_main_form(page)
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    expect(page.locator("#id_full_name")).to_have_value("Maria Lopez")  # nothing lost

    page.locator("#id_password1").fill("")
    tab_to(page, "#id_password1")
    page.keyboard.type("tangerine kettle orbit")
    submit_main_form(page)
    assert_accessible(page)  # "check your email"

    confirm_url = link_from_last_mail(r"https?://[^\s]+(/accounts/confirm-email/[^\s]+)")
    page.goto(confirm_url)
    assert_accessible(page)
    submit_main_form(page)
    assert_accessible(page)
    if "/accounts/login/" in page.url:
        sign_in_by_keyboard(page, "maria@example.test", "tangerine kettle orbit")
        assert_accessible(page)

    page.goto(reverse("accounts:home"))
    assert_accessible(page)
    page.goto(reverse("mfa_activate_totp"))
    secret = enrol_totp(page)
    assert_accessible(page)  # recovery codes offered or MFA overview
    user = User.objects.get(email="maria@example.test")
    assert AuditEvent.objects.filter(subject_user_id=user.pk, action="mfa.totp_added").exists()

    # Sign out (a confirmation page with a form), then in again: the code is asked for.
    page.goto(reverse("account_logout"))
    assert_accessible(page)
    submit_main_form(page)
    assert_accessible(page)

    sign_in_by_keyboard(page, "maria@example.test", "tangerine kettle orbit")
    expect(page.locator("#id_code")).to_be_visible()
    assert_accessible(page)
    enter_totp_code(page, secret)
    assert_accessible(page)
    page.goto(reverse("accounts:home"))
    assert_accessible(page)
    expect(page.locator("main h1")).to_contain_text("Maria")
    assert AuditEvent.objects.filter(subject_user_id=user.pk, action="auth.signed_in").count() >= 1


def test_staff_must_set_up_mfa_before_any_staff_page(page: Page, official_without_mfa):
    sign_in_by_keyboard(page, official_without_mfa.email)
    assert_accessible(page)
    page.goto(reverse("staff:home"))
    # Sent to set up an authenticator app, with the reason on the page.
    assert page.url.endswith(reverse("mfa_activate_totp"))
    expect(page.locator("main")).to_contain_text("two-factor authentication")
    enrol_totp(page)
    assert_accessible(page)
    page.goto(reverse("staff:home"))
    assert page.url.endswith(reverse("staff:home"))
    assert_accessible(page)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_staff_pages_are_accessible(
    page: Page, live_server, case_officer, platform_admin, resident, language
):
    from ecitizen.accounts.services import profile_update
    from tests.personas import TOTP_SECRET

    profile_update(user=resident, data={"national_id": "RV20260001"}, actor=resident)
    _use_language(page, live_server, language)
    sign_in_by_keyboard(page, platform_admin.email)
    assert_accessible(page)  # the code page
    enter_totp_code(page, TOTP_SECRET)
    for url in [
        reverse("staff:home"),
        reverse("staff:residents"),
        reverse("staff:resident_detail", args=[resident.profile.pk]),
        reverse("staff:people"),
        reverse("staff:audit"),
        reverse("accounts:home"),
        reverse("accounts:profile_edit"),
        reverse("accounts:data_tracker"),
        reverse("accounts:activity"),
        reverse("core:display"),
        reverse("mfa_index"),
    ]:
        page.goto(url)
        assert page.url.endswith(url), page.url
        assert_accessible(page)
    # Finding a resident: a wrong number is explained, the right one finds them.
    page.goto(reverse("staff:residents"))
    assert_accessible(page)
    tab_to(page, "#id_national_id")
    page.keyboard.type("12345")
    submit_main_form(page)
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_accessible(page)
    page.locator("#id_national_id").fill("RV20260001")
    submit_main_form(page)
    expect(page.locator("main table")).to_contain_text(resident.profile.legal_name)
    assert_accessible(page)


def test_idle_timeout_warning_and_stay_signed_in_by_keyboard(
    page: Page, shared_clock, resident, settings
):
    # The real limits (an hour, warned two minutes before), on a clock the test moves.
    idle = settings.SESSION_IDLE_TIMEOUT_RESIDENT
    warning = settings.SESSION_TIMEOUT_WARNING
    sign_in_by_keyboard(page, resident.email)
    page.goto(reverse("accounts:home"))
    assert_accessible(page)

    dialog = page.locator("#session-timeout-dialog")
    shared_clock.advance(idle - warning + 1)
    expect(dialog).to_be_visible()
    assert_accessible(page)  # with the dialog open
    tab_to(page, "#session-timeout-stay", limit=10)
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()

    # Past the moment the first session would have ended, the person is still signed in.
    shared_clock.advance(warning + 60)
    page.goto(reverse("accounts:home"))
    assert page.url.endswith(reverse("accounts:home"))
    assert_accessible(page)


def test_ignoring_the_warning_signs_the_person_out(page: Page, shared_clock, resident, settings):
    idle = settings.SESSION_IDLE_TIMEOUT_RESIDENT
    warning = settings.SESSION_TIMEOUT_WARNING
    sign_in_by_keyboard(page, resident.email)
    page.goto(reverse("accounts:home"))
    assert_accessible(page)
    shared_clock.advance(idle - warning + 1)
    expect(page.locator("#session-timeout-dialog")).to_be_visible()
    shared_clock.advance(warning)
    page.wait_for_url(f"**{reverse('core:session_ended')}")
    assert_accessible(page)
    page.goto(reverse("accounts:home"))
    assert "/accounts/login/" in page.url
    assert_accessible(page)


def test_change_email_address(page: Page, resident):
    from django.core import mail

    sign_in_by_keyboard(page, resident.email)
    page.goto(reverse("account_email"))
    assert_accessible(page)
    page.locator("main form [name=email]").last.fill("alex.morgan@example.test")
    with page.expect_navigation():
        page.locator("button[name=action_add]").click()
    assert_accessible(page)
    expect(page.locator("main")).to_contain_text("alex.morgan@example.test")
    link = link_from_last_mail(r"https?://[^\s]+(/accounts/confirm-email/[^\s]+)")
    assert mail.outbox[-1].to == ["alex.morgan@example.test"]
    page.goto(link)
    assert_accessible(page)
    submit_main_form(page)
    assert_accessible(page)
    resident.refresh_from_db()
    assert resident.email == "alex.morgan@example.test"
    assert AuditEvent.objects.filter(
        subject_user_id=resident.pk, action="account.email_changed"
    ).exists()
