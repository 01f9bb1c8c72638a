"""Signing in with the national eID in a real browser, against the test OpenID Connect
provider (a second process, ``tests/oidc_provider``); every page of ours and the
provider's checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from ecitizen.accounts.models import IdentityVerification, User
from tests.browser.conftest import AccessibilityLedger, assert_accessible
from tests.oidc_provider.fixtures import PEOPLE, eid_configured_fixture, oidc_provider_fixture  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def eid_in_browser(settings, eid_configured):
    """The sign-in button's form posts to us and we redirect to the provider: the
    Content Security Policy's form-action must allow the provider (settings.py does
    this for the configured issuers)."""
    origin = eid_configured.issuer.rsplit("/o", 1)[0]
    directives = dict(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])
    directives["form-action"] = [*directives["form-action"], origin]
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "DIRECTIVES": directives,
    }
    return eid_configured


def _sign_in_at_provider(page: Page, username: str) -> None:
    expect(page.get_by_role("heading", name="Test eID provider")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PEOPLE[username]["password"])
    page.get_by_role("button", name="Sign in to the provider").click()


def test_a_resident_signs_in_with_the_eid_and_sees_their_verified_identity(
    page: Page, live_server, eid_in_browser
):
    page.goto(reverse("account_login"))
    assert_accessible(page)
    page.get_by_role("button", name="Sign in with Test eID").click()
    _sign_in_at_provider(page, "amina")

    # Back on the platform, signed in to a new account, on the account page.
    expect(page).to_have_url(f"{live_server.url}{reverse('accounts:home')}")
    assert_accessible(page)
    verified = page.get_by_test_id("verified-identity")
    expect(verified).to_contain_text("Verified with Test eID")
    expect(verified).to_contain_text("national identity number")
    expect(verified).to_contain_text("substantial")
    expect(page.locator("main")).to_contain_text("Amina Rahman")
    expect(page.locator("main")).to_contain_text("12 April 1986")
    # The national identity number is shown masked, never in full.
    expect(page.locator("main")).to_contain_text("RV••••5926")
    expect(page.locator("main")).not_to_contain_text("RV31415926")

    page.get_by_role("link", name="Sign-in methods and verified identity").click()
    assert_accessible(page)
    expect(page.get_by_role("button", name="Unlink Test eID")).to_be_visible()
    user = User.objects.get(email="amina.rahman@eid.example")
    assert IdentityVerification.objects.get(user=user).acr == "substantial"


@contextmanager
def _tab_answering(page: Page, status: int) -> Iterator[Page]:
    """A second tab for a journey that ends on a page answering with an error
    ``status`` (Chromium reports it in the console, which the ``page`` fixture counts as
    an error): every page it loads is checked with axe, and its console holds nothing
    else (the same helper as the insights journeys')."""
    tab = page.context.new_page()
    ledger = AccessibilityLedger()
    tab.ecitizen_ledger = ledger  # type: ignore[attr-defined]
    tab.ecitizen_browser = page.ecitizen_browser  # type: ignore[attr-defined]
    tab.ecitizen_javascript = page.ecitizen_javascript  # type: ignore[attr-defined]
    tab.on("load", lambda loaded: ledger.loaded.append(loaded.url))
    errors: list[str] = []
    tab.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    try:
        yield tab
    finally:
        tab.close()
    assert not ledger.unchecked(), f"pages visited without an axe check: {ledger.unchecked()}"
    unexpected = [text for text in errors if f"status of {status}" not in text]
    assert not unexpected, f"errors in the browser console: {unexpected}"


def test_a_refused_eid_sign_in_says_why_and_changes_nothing(
    page: Page, live_server, eid_in_browser
):
    eid_in_browser.misbehave("low_acr")
    with _tab_answering(page, 401) as tab:
        tab.goto(reverse("account_login"))
        assert_accessible(tab)
        tab.get_by_role("button", name="Sign in with Test eID").click()
        _sign_in_at_provider(tab, "amina")
        expect(tab.get_by_role("heading", name="You have not been signed in")).to_be_visible()
        expect(tab.get_by_test_id("identity-error")).to_contain_text("lower level of assurance")
        assert_accessible(tab)
    assert not User.objects.filter(email="amina.rahman@eid.example").exists()


def test_a_link_to_the_eid_sign_in_asks_to_confirm_first(page: Page, live_server, eid_in_browser):
    """A link (say, on another site) to the sign-in address starts nothing: it shows a
    page that says what will happen, with a button (a form that posts) and a way out."""
    page.goto(f"{reverse('oidc_login', args=['eid'])}?next={reverse('accounts:home')}")
    expect(page.get_by_role("heading", name="Continue to Test eID", level=1)).to_be_visible()
    expect(page.get_by_test_id("confirm-warning")).to_contain_text("nothing has been changed")
    expect(page.get_by_role("link", name="Cancel")).to_have_attribute(
        "href", reverse("account_login")
    )
    assert_accessible(page)
    assert not User.objects.filter(email="amina.rahman@eid.example").exists()
    # By keyboard: the button is reachable and starts the sign-in.
    button = page.get_by_role("button", name="Continue")
    button.focus()
    page.keyboard.press("Enter")
    _sign_in_at_provider(page, "amina")
    expect(page).to_have_url(f"{live_server.url}{reverse('accounts:home')}")
    assert_accessible(page)
    assert User.objects.filter(email="amina.rahman@eid.example").exists()
