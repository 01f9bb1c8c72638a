"""When a decision can be expected: the acknowledgement never says "a decision by .", and a
date that has passed is said to be late, with what the resident can do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from ecitizen.accounts.services import preferences_update
from ecitizen.cases import services
from ecitizen.cases.expected import decision_expected
from ecitizen.cases.models import Case
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.notifications.models import Notification

from .conftest import FIXTURES
from .support import PARKING_ANSWERS, draft_with, pdf_file, submit_shed


def _acknowledgement(case, channel="email") -> str:
    """The "we have received your application" message of this case (bodies are
    encrypted: found by reading them)."""
    (body,) = [
        notification.body
        for notification in Notification.objects.filter(
            recipient=case.applicant, event="case_submitted", channel=channel
        )
        if case.reference in notification.body
    ]
    return body


def _submit_parking(service, resident):
    draft = draft_with(service, resident, PARKING_ANSWERS)
    draft = services.draft_save_answers(
        draft=draft, values={}, files={"proof_of_address": [pdf_file("bill.pdf")]}, actor=resident
    )
    return services.draft_submit(draft=draft, actor=resident)


def test_a_fee_to_pay_first_is_said_instead_of_an_empty_date(riverton, resident):
    """The parking permit's clock starts when its fee is paid: no date at submission."""
    case = _submit_parking(riverton["residents-parking-permit"], resident)
    assert case.due_date is None
    for channel in ("email", "inbox"):
        text = _acknowledgement(case, channel)
        assert "by ." not in text
        assert "by {" not in text
        assert (
            "Pay the fee so that we can start working on your application. We expect to make "
            "a decision within 5 working days of your payment." in text
        ), text


def test_a_due_date_is_written_in_words_in_the_residents_language(shed, resident):
    case = submit_shed(shed, resident)
    assert case.due_date is not None
    in_words = date_format(case.due_date, "j F Y")
    assert f"We expect to make a decision by {in_words}." in _acknowledgement(case)
    assert case.due_date.isoformat() not in _acknowledgement(case)

    preferences_update(user=resident, language="fr")
    resident.refresh_from_db()
    second = submit_shed(shed, resident)
    with translation.override("fr"):
        in_french = date_format(second.due_date, "j F Y")
    assert in_french not in (in_words,)  # a French month name
    assert in_french in _acknowledgement(second)


def test_a_service_without_a_deadline_says_it_will_tell_the_resident(tmp_path, works, resident):
    text = (FIXTURES / "shed-permit.yaml").read_text()
    start = text.index("sla:\n")
    end = text.index("workflow:\n")
    (tmp_path / "shed-permit.yaml").write_text(text[:start] + text[end:])
    service_definitions_publish(directory=tmp_path, actor=None)
    case = submit_shed(Service.objects.get(slug="shed-permit"), resident)
    assert case.due_date is None
    assert "We will tell you when we have made a decision." in _acknowledgement(case)


def test_the_expected_decision_is_worked_out_from_the_clock(shed, resident):
    case = submit_shed(shed, resident)
    spec = services.spec_for(case.service_version)
    today = timezone.localdate()
    assert decision_expected(case, spec, today=today).kind == "by"
    assert decision_expected(case, spec, today=case.due_date + timedelta(days=1)).late
    case.due_date = None
    assert decision_expected(case, spec, today=today).kind == "none"
    case.state = "info_needed"
    assert decision_expected(case, spec, today=today).kind == "paused"
    case.outcome = "withdrawn"
    assert decision_expected(case, spec, today=today).kind == "decided"


# --- the resident's case page ---------------------------------------------------------


@pytest.fixture
def late_case(shed, resident):
    case = submit_shed(shed, resident)
    Case.objects.filter(pk=case.pk).update(due_date=timezone.localdate() - timedelta(days=3))
    case.refresh_from_db()
    return case


def test_a_late_decision_says_it_is_late_and_what_to_do(client, late_case, resident, settings):
    client.force_login(resident)
    body = client.get(reverse("cases:case_detail", args=[late_case.reference])).content.decode()
    when = date_format(late_case.due_date, "j F Y")
    assert f"By {when}" not in body
    assert ">Late</strong>" in body
    assert f"We expected to decide by {when}" in body
    assert "Your application is taking longer than we expected" in body
    assert f"We aimed to make a decision by {when}. We are sorry that it is late." in body
    assert "You do not need to do anything" in body
    assert f"give your reference, {late_case.reference}." in body
    assert f'href="mailto:{settings.AUTHORITY_CONTACT_EMAIL}"' in body


def test_a_late_decision_names_the_departments_own_address(client, late_case, resident, works):
    works.email = "public.works@riverton.example"
    works.save()
    client.force_login(resident)
    body = client.get(reverse("cases:case_detail", args=[late_case.reference])).content.decode()
    assert 'href="mailto:public.works@riverton.example"' in body


def test_a_decision_on_time_shows_its_date_only(client, shed, resident):
    case = submit_shed(shed, resident)
    client.force_login(resident)
    body = client.get(reverse("cases:case_detail", args=[case.reference])).content.decode()
    assert f"By {date_format(case.due_date, 'j F Y')}" in body
    assert "taking longer than we expected" not in body
    assert ">Late</strong>" not in body


def test_a_fee_to_pay_first_is_not_called_waiting_for_your_answer(client, riverton, resident):
    case = _submit_parking(riverton["residents-parking-permit"], resident)
    client.force_login(resident)
    body = client.get(reverse("cases:case_detail", args=[case.reference])).content.decode()
    assert "Within 5 working days of your payment" in body
    assert "while we wait for your answer" not in body
