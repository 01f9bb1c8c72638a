"""Failed sign-ins: growing delays per account and per address, never a permanent lock."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts import services
from ecitizen.core.models import AuditEvent
from tests.factories import PASSWORD

WRONG = "wrong password"


def _attempt(client, email, password=WRONG, ip="198.51.100.7"):
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip
    )


@pytest.mark.django_db
def test_delays_grow_and_are_capped(settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = 3
    settings.SIGNIN_THROTTLE_BASE_DELAY = 30
    settings.SIGNIN_THROTTLE_MAX_DELAY = 900
    waits = [
        services.signin_failure_record(email="a@example.test", ip_address=None, user=None)
        for _ in range(12)
    ]
    assert waits[:2] == [0, 0]
    assert waits[2:8] == [30, 60, 120, 240, 480, 900]
    assert set(waits[8:]) == {900}  # capped: never a permanent lock


def test_the_account_is_throttled_with_a_clear_message(client, resident, settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = 3
    for _ in range(3):
        response = _attempt(client, resident.email)
        assert response.status_code == 200
    # Now even the right password waits, and the page says for how long and until when.
    response = _attempt(client, resident.email, password=PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    text = response.content.decode()
    assert "too many unsuccessful attempts" in text
    assert "wait 1 minute" in text
    assert "you can try again at" in text
    assert (
        AuditEvent.objects.filter(action="auth.sign_in_failed", subject_user_id=resident.pk).count()
        == 3
    )

    # After the delay the right password works, and the count starts again.
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        response = _attempt(client, resident.email, password=PASSWORD)
        assert response.status_code == 302
        assert services.signin_wait_seconds(email=resident.email, ip_address=None) == 0


def test_one_address_trying_many_accounts_is_throttled(client, resident, settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_IP = 4
    for number in range(4):
        _attempt(client, f"guess{number}@example.test", ip="203.0.113.9")
    response = _attempt(client, resident.email, password=PASSWORD, ip="203.0.113.9")
    assert "too many unsuccessful attempts" in response.content.decode()
    # Another address is not affected.
    response = _attempt(client, resident.email, password=PASSWORD, ip="203.0.113.10")
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_throttle_table_holds_no_email_addresses():
    from ecitizen.accounts.models import SignInThrottle

    services.signin_failure_record(email="someone@example.test", ip_address="192.0.2.1", user=None)
    keys = list(SignInThrottle.objects.values_list("key", flat=True))
    assert "192.0.2.1" in keys
    assert not any("someone" in key for key in keys)


@pytest.mark.django_db
def test_housekeeping_forgets_stale_failures_only(capsys):
    from django.core.management import call_command

    from ecitizen.accounts.models import SignInThrottle

    start = timezone.now()
    with time_machine.travel(start - timedelta(days=2)):
        services.signin_failure_record(email="old@example.test", ip_address=None, user=None)
    services.signin_failure_record(email="new@example.test", ip_address=None, user=None)
    call_command("housekeeping")
    assert SignInThrottle.objects.count() == 1
    assert "Forgot 1 stale sign-in failure counts" in capsys.readouterr().out
