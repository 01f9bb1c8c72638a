"""Connecting an app to one's account, in a real browser: a resident is sent by an app to
the consent page (authorization code with PKCE), reads what the app asks for in plain
words and allows it; the app exchanges the code for a token that works; the resident then
finds the app under "Apps connected to your account" and revokes it, and the token stops
working. Every page is checked with axe-core (WCAG 2.2 AA) and at 375 px."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from oauth2_provider.oauth2_backends import get_oauthlib_core
from playwright.sync_api import Page, expect

from ecitizen.api import clients
from tests.browser.conftest import assert_accessible
from tests.browser.journeys import sign_in_by_cookie

pytestmark = pytest.mark.django_db(transaction=True)

#: Where the app gets the resident back: a public page of the live server stands in for
#: the app's own (the browser has no network); the journey reads the code from the
#: address, as the app would.
CALLBACK_NAME = "core:accessibility"


def token_user(token: str):
    request = RequestFactory().get("/api/v1/x", HTTP_AUTHORIZATION=f"Bearer {token}")
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    return oauth_request.user if valid else None


def test_a_resident_connects_an_app_then_revokes_it(
    page: Page, live_server, resident, platform_admin, settings
):
    # The live server speaks http: allow it as a redirect for this journey only.
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    }
    callback_path = reverse(CALLBACK_NAME)
    redirect = f"{live_server.url}{callback_path}"
    app, secret = clients.client_register(
        name="Pocket Riverton",
        kind="resident_app",
        scopes=["profile", "applications:read", "webhooks"],
        redirect_uris=[redirect],
        actor=platform_admin,
    )
    sign_in_by_cookie(page, live_server, resident)

    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.application.client_id,
            "redirect_uri": redirect,
            "scope": "profile applications:read",
            "state": "journey",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"{reverse('oauth2_provider:authorize')}?{query}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Let Pocket Riverton use your account?"
    )
    scopes = page.locator("#scopes li")
    expect(scopes).to_have_text(
        [
            "See your name, your email address and whether your identity is verified",
            "See your applications and where they have got to",
        ]
    )
    assert_accessible(page)
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(f"**{callback_path}?*")
    assert_accessible(page)

    answer = parse_qs(urlsplit(page.url).query)
    assert answer["state"] == ["journey"]
    tokens = (
        Client()
        .post(
            reverse("oauth2_provider:token"),
            {
                "grant_type": "authorization_code",
                "code": answer["code"][0],
                "redirect_uri": redirect,
                "client_id": app.application.client_id,
                "client_secret": secret,
                "code_verifier": verifier,
            },
        )
        .json()
    )
    assert token_user(tokens["access_token"]) == resident

    page.goto(reverse("accounts:home"))
    assert_accessible(page)
    page.get_by_role("link", name="Apps connected to your account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apps connected to your account")
    expect(page.get_by_role("heading", name="Pocket Riverton")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Revoke access for Pocket Riverton").click()
    expect(page.get_by_text("Pocket Riverton can no longer use your account.")).to_be_visible()
    expect(page.get_by_text("No app is connected to your account.")).to_be_visible()
    assert_accessible(page)
    assert token_user(tokens["access_token"]) is None
