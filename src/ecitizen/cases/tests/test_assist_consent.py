"""Applying for someone needs the resident's own consent: a one-time code they read out
(or, at the counter, an identity check recorded by an official). Nothing about the
resident is shown before it, the form does not tell which emails have accounts, and the
consent is audited and shown in the resident's data tracker."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role
from ecitizen.cases import services
from ecitizen.cases.models import AssistConsent, Draft
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification
from tests.factories import JurisdictionFactory, UserFactory
from tests.personas import TOTP_SECRET, _official, sign_in_official

START = reverse("cases:assisted_start", args=["shed-permit"])
NATIONAL_ID = "RV123456C"


@pytest.fixture
def known_resident(resident):
    accounts.profile_update(
        user=resident,
        data={"legal_name": "Alex Morgan", "national_id": NATIONAL_ID},
        actor=resident,
    )
    return resident


def _sent_code(resident) -> str:
    inbox = Notification.objects.filter(recipient=resident, event="assist_consent_code").get(
        channel="inbox"
    )
    return re.search(r"\b(\d{6})\b", inbox.body).group(1)


def _ask(client, email):
    response = client.post(START, {"resident_email": email})
    assert response.status_code == 302
    return response["Location"]


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(
    client, shed, known_resident, helper
):
    sign_in_official(client, helper)
    known = _ask(client, known_resident.email)
    unknown = _ask(client, "nobody@example.test")
    page_known = client.get(known).content.decode()
    page_unknown = client.get(unknown).content.decode()
    # Same page, apart from the form's own address and token.
    assert '<h1 class="govuk-heading-l">Ask the resident for their code</h1>' in page_known
    strip = re.compile(
        r'(name="csrfmiddlewaretoken" value="[^"]+"|for-someone/[0-9a-f-]+/|nonce="[^"]+")'
    )
    assert strip.sub("", page_known) == strip.sub("", page_unknown)
    # Nothing about the resident before the code: no national ID, no name.
    assert NATIONAL_ID not in page_known
    assert "Alex Morgan" not in page_known
    assert not Draft.objects.exists()
    # A wrong code is answered the same for both.
    for url in (known, unknown):
        html = client.post(url, {"method": "code", "code-code": "000000", "code-consent": "on"})
        assert "The code is not right" in html.content.decode()
    assert not Draft.objects.exists()


def test_the_code_the_resident_reads_out_starts_the_application(
    client, shed, known_resident, helper
):
    sign_in_official(client, helper)
    url = _ask(client, known_resident.email)
    code = _sent_code(known_resident)
    response = client.post(url, {"method": "code", "code-code": code, "code-consent": "on"})
    assert response.status_code == 302
    draft = Draft.objects.get()
    assert draft.applicant == known_resident
    assert draft.entered_by == helper
    assert draft.channel == "assisted"
    assert "read out the one-time code" in draft.consent_statement
    # A double submit is the same application.
    again = client.post(url, {"method": "code", "code-code": code, "code-consent": "on"})
    assert again["Location"] == response["Location"]
    assert Draft.objects.count() == 1
    # Audited against the resident, and shown in their data tracker.
    granted = AuditEvent.objects.get(action="cases.assist_consent_granted")
    assert granted.subject_user_id == known_resident.pk
    client.force_login(known_resident)
    tracker = client.get(reverse("accounts:data_tracker")).content.decode()
    assert "Applied for you with your agreement" in tracker


def test_five_wrong_codes_or_fifteen_minutes_end_the_code(client, shed, known_resident, helper):
    sign_in_official(client, helper)
    url = _ask(client, known_resident.email)
    code = _sent_code(known_resident)
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(services.ASSIST_CODE_ATTEMPTS):
        client.post(url, {"method": "code", "code-code": wrong, "code-consent": "on"})
    page = client.post(url, {"method": "code", "code-code": code, "code-consent": "on"})
    assert "This code can no longer be used" in page.content.decode()
    assert not Draft.objects.exists()

    url = _ask(client, known_resident.email)  # a new request, with a new code
    latest = AssistConsent.objects.order_by("-created_at").first()
    assert str(latest.pk) in url
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        page = client.post(url, {"method": "code", "code-code": "123456", "code-consent": "on"})
    assert "This code can no longer be used" in page.content.decode()


def test_the_code_form_explains_bad_input(client, shed, known_resident, helper):
    sign_in_official(client, helper)
    url = _ask(client, known_resident.email)
    page = client.post(url, {"method": "code", "code-code": "12ab", "code-consent": ""})
    html = page.content.decode()
    assert page.status_code == 200
    assert "govuk-error-summary" in html
    assert "Enter the code as 6 digits" in html
    assert "Confirm that the resident agrees" in html
    # A bad form uses no attempt.
    assert AssistConsent.objects.get().attempts == 0


def test_an_official_may_record_an_identity_check_in_person(
    client, shed, known_resident, works_officer
):
    sign_in_official(client, works_officer)
    url = _ask(client, known_resident.email)
    response = client.post(
        url,
        {"method": "in_person", "person-identity_document": "passport", "person-consent": "on"},
    )
    assert response.status_code == 302
    draft = Draft.objects.get()
    assert draft.channel == "counter"
    assert "in person (Passport)" in draft.consent_statement
    event = AuditEvent.objects.get(action="cases.assist_consent_granted")
    assert event.changes["method"] == "in_person"


def test_a_helper_cannot_record_an_in_person_check(client, shed, known_resident, helper):
    sign_in_official(client, helper)
    url = _ask(client, known_resident.email)
    page = client.get(url).content.decode()
    assert "The resident is here in person" not in page
    with pytest.raises(services.AssistConsentError) as refused:
        services.assist_consent_confirm(
            consent_id=AssistConsent.objects.get().pk,
            actor=helper,
            identity_document="passport",
        )
    assert refused.value.code == "not_allowed"
    assert not Draft.objects.exists()


def test_someone_else_s_consent_request_is_not_found(client, shed, known_resident, helper):
    sign_in_official(client, helper)
    url = _ask(client, known_resident.email)
    other = _official(Role.INTERMEDIARY, None, email="helper2@example.test")
    sign_in_official(client, other)
    assert client.get(url).status_code == 404
    code = _sent_code(known_resident)
    response = client.post(url, {"method": "code", "code-code": code, "code-consent": "on"})
    assert response.status_code == 404
    assert not Draft.objects.exists()


def test_a_ward_limited_officer_needs_consent_too(client, shed, known_resident, works):
    ward = JurisdictionFactory(code="riverside", name="Riverside")
    officer = UserFactory(email="ward.officer@example.test")
    accounts.mfa_totp_activate(user=officer, secret=TOTP_SECRET, actor=None)
    accounts.role_assign(
        user=officer,
        role=Role.CASE_OFFICER,
        department=works,
        jurisdiction=ward,
        actor=None,
        system=True,
    )
    sign_in_official(client, officer)
    url = _ask(client, known_resident.email)
    assert NATIONAL_ID not in client.get(url).content.decode()
    assert not Draft.objects.exists()
