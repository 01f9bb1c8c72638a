"""Targeted lockout: someone typing wrong passwords for a resident's email address must
not keep the resident out of a browser they signed in from before (device cookies)."""

from __future__ import annotations

import pyotp
import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from ecitizen.accounts import services
from ecitizen.accounts.devices import DEVICE_COOKIE, device_code
from ecitizen.accounts.models import SignInThrottle
from tests.factories import PASSWORD
from tests.personas import TOTP_SECRET

ATTACKER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.20"
THROTTLED = "too many unsuccessful attempts"


def _sign_in(client, email, password=PASSWORD, ip=OWNER_IP):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip
    )


def _lock_out(email, settings, attempts=None):
    attacker = Client()
    for _ in range(attempts or settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT):
        _sign_in(attacker, email, "wrong password", ATTACKER_IP)
    return attacker


def _owner_with_device(resident):
    owner = Client()
    response = _sign_in(owner, resident.email)
    assert response.status_code == 302
    assert DEVICE_COOKIE in response.cookies
    owner.post(reverse("account_logout"))
    return owner


def test_the_owner_signs_in_from_a_known_device_while_the_account_is_throttled(resident, settings):
    owner = _owner_with_device(resident)
    attacker = _lock_out(resident.email, settings)
    # The attacker is told to wait, even with the right password.
    refused = _sign_in(attacker, resident.email, PASSWORD, ATTACKER_IP)
    assert THROTTLED in refused.content.decode()
    assert "_auth_user_id" not in attacker.session
    # A browser that never signed in waits too (the targeted lockout NIST allows).
    stranger = Client()
    assert THROTTLED in _sign_in(stranger, resident.email).content.decode()
    # The owner's browser is not held back by the attacker's failures.
    response = _sign_in(owner, resident.email)
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(resident.pk)
    # ...and the account stays throttled for everyone else.
    assert THROTTLED in _sign_in(Client(), resident.email, PASSWORD, ATTACKER_IP).content.decode()


def test_a_known_device_is_throttled_on_its_own(resident, settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = 3
    owner = _owner_with_device(resident)
    for _ in range(3):
        _sign_in(owner, resident.email, "wrong password")
    assert THROTTLED in _sign_in(owner, resident.email).content.decode()
    # The device's failures did not count against the account: a new browser may try.
    assert _sign_in(Client(), resident.email).status_code == 302


def test_a_cookie_for_another_account_or_a_forged_one_does_not_help(
    resident, second_resident, settings
):
    owner = _owner_with_device(resident)
    _lock_out(second_resident.email, settings)
    # The resident's device cookie names the resident, not the second resident.
    assert THROTTLED in _sign_in(owner, second_resident.email).content.decode()
    forged = Client()
    forged.cookies[DEVICE_COOKIE] = owner.cookies[DEVICE_COOKIE].value[:-3] + "abc"
    _lock_out(resident.email, settings)
    assert THROTTLED in _sign_in(forged, resident.email).content.decode()


def test_the_cookie_is_signed_httponly_limited_to_sign_in_and_renewed(resident, settings):
    settings.SESSION_COOKIE_SECURE = True
    client = Client()
    first = _sign_in(client, resident.email).cookies[DEVICE_COOKIE]
    assert first["httponly"]
    assert first["secure"]
    assert first["path"] == "/accounts/"
    assert first["samesite"] == "Lax"
    assert int(first["max-age"]) == 180 * 24 * 3600
    # Signed for this purpose only, naming the account.
    assert signing.loads(first.value, salt="ecitizen.accounts.devices")[0]["u"] == resident.pk
    with pytest.raises(signing.BadSignature):
        signing.loads(first.value, salt="another purpose")
    client.post(reverse("account_logout"))
    second = _sign_in(client, resident.email).cookies[DEVICE_COOKIE]
    assert second.value != first.value  # a new device code at every complete sign-in


@pytest.mark.django_db
def test_the_device_row_holds_neither_the_code_nor_the_email(rf, resident):
    request = rf.post("/")
    services.signin_attempt_begin(email=resident.email, ip_address=None, device="code-123")
    keys = list(SignInThrottle.objects.values_list("key", flat=True))
    assert len(keys) == 1
    assert "code-123" not in keys[0]
    assert resident.email not in keys[0]
    assert device_code(request, resident.email) is None  # no cookie, no device


def test_an_official_gets_the_cookie_only_after_the_second_factor(case_officer, settings):
    client = Client()
    response = _sign_in(client, case_officer.email)
    assert response["Location"].startswith(reverse("mfa_authenticate"))
    assert DEVICE_COOKIE not in response.cookies
    done = client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert done.status_code == 302
    assert DEVICE_COOKIE in done.cookies
    client.post(reverse("account_logout"))
    # Locked out by someone else, the official still signs in from this browser, and the
    # second factor is still asked for.
    _lock_out(case_officer.email, settings)
    response = _sign_in(client, case_officer.email)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_authenticate"))
