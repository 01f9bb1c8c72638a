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
    now = timezone.now()
    waits = []
    for _attempt_number in range(12):
        with time_machine.travel(now, tick=False):
            services.signin_attempt_begin(email="a@example.test", ip_address=None)
            waits.append(services.signin_wait_seconds(email="a@example.test", ip_address=None))
            # Trying again before the wait is over is refused, with the time left.
            if waits[-1]:
                with pytest.raises(services.SignInThrottled) as refused:
                    services.signin_attempt_begin(email="a@example.test", ip_address=None)
                assert refused.value.wait_seconds == waits[-1]
        now += timedelta(seconds=waits[-1] + 1)
    assert waits[:2] == [0, 0]
    assert waits[2:8] == [30, 60, 120, 240, 480, 900]
    assert set(waits[8:]) == {900}  # capped: never a permanent lock


@pytest.mark.django_db
def test_attempts_are_counted_before_the_password_is_checked(settings):
    """Parallel guesses cannot all slip through while the first are still being hashed:
    each attempt is counted, under a row lock, before its password is looked at."""
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = 5
    admitted = 0
    for _guess in range(20):
        try:
            services.signin_attempt_begin(email="target@example.test", ip_address="192.0.2.5")
        except services.SignInThrottled:
            continue
        admitted += 1
    assert admitted == 5


def test_a_right_password_takes_its_attempt_back(client, resident, settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_IP = 3
    for _ in range(2):
        _attempt(client, f"guess{_}@example.test", ip="203.0.113.50")
    response = _attempt(client, resident.email, password=PASSWORD, ip="203.0.113.50")
    assert response.status_code == 302
    client.logout()
    # Two failures remain on the address, not three: one more wrong guess is still free.
    response = _attempt(client, "guess9@example.test", ip="203.0.113.50")
    assert "too many unsuccessful attempts" not in response.content.decode()


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

    services.signin_attempt_begin(email="someone@example.test", ip_address="192.0.2.1")
    keys = list(SignInThrottle.objects.values_list("key", flat=True))
    assert "192.0.2.1" in keys
    assert not any("someone" in key for key in keys)


@pytest.mark.django_db
def test_housekeeping_forgets_stale_failures_only(capsys):
    from django.core.management import call_command

    from ecitizen.accounts.models import SignInThrottle

    start = timezone.now()
    with time_machine.travel(start - timedelta(days=2)):
        services.signin_attempt_begin(email="old@example.test", ip_address=None)
    services.signin_attempt_begin(email="new@example.test", ip_address=None)
    call_command("housekeeping")
    assert SignInThrottle.objects.count() == 1
    assert "Forgot 1 stale sign-in failure counts" in capsys.readouterr().out


def test_second_factor_guesses_are_limited_and_audited(client, case_officer):
    import pyotp

    from tests.personas import TOTP_SECRET

    response = client.post(
        reverse("account_login"), {"login": case_officer.email, "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    right = pyotp.TOTP(TOTP_SECRET).now()
    wrong = f"{(int(right) + 500000) % 1000000:06d}"
    for _ in range(5):
        assert client.post(reverse("mfa_authenticate"), {"code": wrong}).status_code == 200
    # The sixth try is refused even with the right code.
    response = client.post(reverse("mfa_authenticate"), {"code": right})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert (
        AuditEvent.objects.filter(
            action="auth.second_factor_failed", subject_user_id=case_officer.pk
        ).count()
        == 5
    )
