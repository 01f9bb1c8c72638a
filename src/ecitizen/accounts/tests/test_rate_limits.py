"""allauth's per-address limits: sized for a shared address at a peak, and counted per real
client address, the one our sign-in throttle and the audit trail use (behind
``TRUSTED_PROXIES``, never a forged ``X-Forwarded-For``)."""

from __future__ import annotations

import pytest
from allauth.account import app_settings as account_settings
from allauth.core.internal.ratelimit import get_ip
from django.test import Client, RequestFactory
from django.urls import reverse

from ecitizen.core.http import client_ip
from ecitizen.core.tests.test_settings import _run
from tests.factories import PASSWORD, UserFactory

PROXY = "10.1.2.3"


def _sign_in(email: str, **headers: str) -> int:
    """One sign-in by a browser of its own (an office's people share an address, not a
    session); the status of allauth's answer: 302 signed in, 429 refused by the limit."""
    response = Client().post(
        reverse("account_login"), {"login": email, "password": PASSWORD}, **headers
    )
    return response.status_code


@pytest.fixture
def low_limit(settings):
    """Three sign-ins a minute per address, so a test can reach the limit."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}


def test_the_limits_are_sized_for_a_shared_address_and_per_account_limits_are_kept():
    limits = account_settings.RATE_LIMITS  # allauth's defaults with ours over them
    assert limits["login"] == "300/m/ip"
    assert limits["signup"] == "60/m/ip"
    assert limits["reset_password"] == "60/m/ip,5/m/key"
    assert limits["reset_password_from_key"] == "60/m/ip"
    # Per account and per inbox, as before.
    assert limits["login_failed"] == "5/5m/key"
    assert limits["confirm_email"] == "1/180s/key"


@pytest.mark.django_db
def test_an_office_behind_one_address_signs_in_more_than_thirty_times_a_minute():
    """allauth's default (30 a minute per address) answered the 31st with 429."""
    people = [UserFactory(email=f"clerk{n}@example.test") for n in range(35)]
    statuses = [_sign_in(person.email, REMOTE_ADDR="198.51.100.20") for person in people]
    assert statuses == [302] * 35


@pytest.mark.parametrize(
    ("meta", "bucket"),
    [
        ({"REMOTE_ADDR": "::ffff:192.0.2.1"}, "192.0.2.1"),  # dual-stack listener
        ({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "198.51.100.7"),
        # Two proxies of ours: the client is the first address that is not one of them.
        (
            {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7, 10.0.0.9"},
            "198.51.100.7",
        ),
        # Not from a proxy of ours: the peer is the client, whatever the header says.
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "192.0.2.66"}, "203.0.113.9"),
    ],
)
def test_allauth_counts_the_address_our_throttle_counts(settings, meta, bucket):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = RequestFactory().post("/accounts/login/", **meta)
    assert get_ip(request) == client_ip(request) == bucket


@pytest.mark.django_db
@pytest.mark.usefixtures("low_limit")
def test_behind_a_trusted_proxy_each_client_has_its_own_limit(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    alice = UserFactory(email="alice@example.test")
    bob = UserFactory(email="bob@example.test")

    def through_proxy(email: str, client_address: str) -> int:
        return _sign_in(email, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_address)

    assert [through_proxy(alice.email, "198.51.100.7") for _ in range(3)] == [302] * 3
    assert through_proxy(alice.email, "198.51.100.7") == 429
    # Through a second proxy of ours, the same client is still the same client.
    assert through_proxy(alice.email, "198.51.100.7, 10.0.0.9") == 429
    # Another client behind the same proxy does not share that count.
    assert [through_proxy(bob.email, "198.51.100.8") for _ in range(3)] == [302] * 3


@pytest.mark.django_db
@pytest.mark.usefixtures("low_limit")
def test_a_forged_forwarded_for_does_not_escape_the_limit(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    resident = UserFactory(email="resident@example.test")
    statuses = [
        # A new address in the header at every attempt, from a peer that is no proxy of ours.
        _sign_in(resident.email, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


@pytest.mark.parametrize(
    ("value", "login_limit"),
    [("1000/10m", "1000/10m/ip"), ("120/m/ip", "120/m/ip")],
)
def test_the_sign_in_limit_is_a_setting(value, login_limit):
    result = _run(
        {"SIGN_IN_RATE_LIMIT_PER_ADDRESS": value},
        "from django.conf import settings; print(settings.ACCOUNT_RATE_LIMITS['login'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == login_limit


@pytest.mark.parametrize("value", ["lots", "0/m", "300/m/key"])
def test_a_sign_in_limit_that_is_not_a_rate_stops_the_process(value):
    result = _run(
        {"SIGN_IN_RATE_LIMIT_PER_ADDRESS": value},
        "from django.conf import settings; settings.DEBUG",
    )
    assert result.returncode != 0
    assert "SIGN_IN_RATE_LIMIT_PER_ADDRESS must be a number of sign-ins per period" in result.stderr
