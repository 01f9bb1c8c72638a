"""A security key or passkey as the second factor, with Chromium's virtual authenticator
standing in for the hardware (real WebAuthn ceremony, real signatures)."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.core.models import AuditEvent
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import sign_in_by_keyboard, submit_main_form

pytestmark = pytest.mark.django_db(transaction=True)


def _virtual_authenticator(page: Page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def test_add_a_passkey_and_sign_in_with_it(page: Page, resident, settings):
    # The live server speaks plain HTTP on localhost; production requires HTTPS.
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    _virtual_authenticator(page)
    sign_in_by_keyboard(page, resident.email)
    assert_accessible(page)

    page.goto(reverse("mfa_add_webauthn"))
    assert_accessible(page)
    page.locator("#id_name").fill("Laptop")
    with page.expect_navigation():
        page.locator("#mfa_webauthn_add").click()
    assert_accessible(page)
    key = Authenticator.objects.get(user=resident, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Laptop"
    assert AuditEvent.objects.filter(
        subject_user_id=resident.pk, action="mfa.webauthn_added"
    ).exists()

    page.goto(reverse("account_logout"))
    assert_accessible(page)
    submit_main_form(page)
    assert_accessible(page)

    sign_in_by_keyboard(page, resident.email)
    expect(page.locator("#mfa_webauthn_authenticate")).to_be_visible()
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("#mfa_webauthn_authenticate").click()
    page.goto(reverse("accounts:home"))
    assert page.url.endswith(reverse("accounts:home"))
    assert_accessible(page)
