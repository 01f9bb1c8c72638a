"""Steps shared by the browser journeys: keyboard navigation, signing in, reading mail."""

from __future__ import annotations

import re

import pyotp
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD
from tests.personas import sign_in_official


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has focus: proves it is reachable by keyboard."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def press_enter_and_wait(page: Page) -> None:
    """Press Enter on the focused control and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def submit_main_form(page: Page) -> None:
    """Press Enter on the main form's submit button, reached by keyboard."""
    tab_to(page, "main form button[type=submit] >> nth=0")
    press_enter_and_wait(page)


def sign_in_by_cookie(page: Page, live_server, user, *, official: bool = False) -> None:
    """Sign ``user`` in by the session cookie (an official with their second factor), for
    journeys whose subject is not signing in: the journeys of test_identity type the
    password and the code."""
    client = Client()
    if official:
        sign_in_official(client, user)
    else:
        client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def sign_in_by_keyboard(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    assert_accessible(page)
    tab_to(page, "#id_login")
    page.keyboard.type(email)
    tab_to(page, "#id_password")
    page.keyboard.type(password)
    press_enter_and_wait(page)


def enter_totp_code(page: Page, secret: str) -> None:
    tab_to(page, "#id_code")
    page.keyboard.type(pyotp.TOTP(secret).now())
    press_enter_and_wait(page)


def enrol_totp(page: Page) -> str:
    """On the 'set up an authenticator app' page: read the secret, type a code. Returns the
    secret, as a person would have saved it in their app."""
    expect(page.locator("#authenticator_secret")).to_be_visible()
    assert_accessible(page)
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    enter_totp_code(page, secret)
    return secret


def link_from_last_mail(pattern: str) -> str:
    """The path of the first link matching ``pattern`` (its first group) in the last mail."""
    assert mail.outbox, "no email was sent"
    body = mail.outbox[-1].body
    match = re.search(pattern, body)
    assert match, f"no link matching {pattern} in:\n{body}"
    return match.group(1)
