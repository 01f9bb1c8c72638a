"""allauth journeys wired to our audit trail: password reset, email change, no enumeration."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from ecitizen.core.models import AuditEvent
from tests.factories import PASSWORD


def _path_in_last_mail() -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_password_reset_sets_a_new_password_and_is_audited(
    client, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": resident.email})
    assert response.status_code == 302
    assert "City of Riverton" in mail.outbox[-1].body  # signed by the authority
    link = _path_in_last_mail()
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(
        form_url, {"password1": "new kettle tangerine", "password2": "new kettle tangerine"}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.check_password("new kettle tangerine")
    assert AuditEvent.objects.filter(
        action="auth.password_reset", subject_user_id=resident.pk
    ).exists()


def test_password_reset_does_not_reveal_whether_an_account_exists(client, resident):
    known = client.post(reverse("account_reset_password"), {"email": resident.email})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_a_failed_sign_in_says_the_same_for_unknown_and_known_emails(client, resident):
    known = client.post(
        reverse("account_login"), {"login": resident.email, "password": "wrong one"}
    )
    unknown = client.post(
        reverse("account_login"), {"login": "nobody@example.test", "password": "wrong one"}
    )
    assert known.status_code == unknown.status_code == 200
    message = "The email address and/or password you specified are not correct."
    assert message in known.content.decode()
    assert message in unknown.content.decode()


@pytest.mark.django_db
def test_signing_up_twice_with_one_email_creates_one_account(client):
    from ecitizen.accounts.models import User

    data = {
        "full_name": "Sam Okoro",
        "email": "sam@example.test",
        "password1": "river lantern orbit",
    }
    client.post(reverse("account_signup"), data)
    client.logout()
    client.post(reverse("account_signup"), data)
    assert User.objects.filter(email="sam@example.test").count() == 1


def test_changing_email_needs_the_password_again_after_the_first_minutes(
    client, resident, settings
):
    import time_machine
    from django.utils import timezone

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post(reverse("account_login"), {"login": resident.email, "password": PASSWORD})
    change = {"action_add": "", "email": "alex.new@example.test"}
    later = start.timestamp() + settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 60
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("account_email"), change)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    # Just after signing in, the password just typed is enough.
    client.logout()
    with time_machine.travel(later, tick=False):
        client.post(reverse("account_login"), {"login": resident.email, "password": PASSWORD})
        response = client.post(reverse("account_email"), change)
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("account_reauthenticate"))


def test_a_recovery_code_signs_in_once(client, case_officer):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes(
        Authenticator.objects.get(user=case_officer, type=Authenticator.Type.RECOVERY_CODES)
    ).get_unused_codes()
    assert len(codes) == 10
    client.post(reverse("account_login"), {"login": case_officer.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(case_officer.pk)
    client.logout()
    client.post(reverse("account_login"), {"login": case_officer.email, "password": PASSWORD})
    reused = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert reused.status_code == 200  # refused: each code works once
    assert "_auth_user_id" not in client.session
