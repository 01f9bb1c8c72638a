"""Officials read each state in their own words (its ``staff_label``); the resident reads
it in theirs. Definitions must give both, and name every answer for its error messages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ecitizen.cases import services
from ecitizen.cases.models import Case
from ecitizen.catalogue.definitions import InvalidDefinition, parse_definition
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.notifications.models import Notification
from tests.personas import sign_in_official

from .conftest import FIXTURES
from .support import submit_shed

RESIDENT_WORDS = "We need more information from you"
STAFF_WORDS = "Waiting for the applicant&#x27;s reply"


@pytest.fixture
def waiting_case(shed, resident, works_officer):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    return services.case_transition(
        case=case,
        action_id="request_info",
        actor=works_officer,
        given=services.ActionInput(text="Please send a photo of the site."),
    )


def _tags(body: str) -> list[str]:
    return [t.strip() for t in re.findall(r'<strong class="govuk-tag[^"]*">(.*?)</strong>', body)]


def test_the_queue_and_the_staff_case_page_speak_to_officials(client, waiting_case, works_officer):
    sign_in_official(client, works_officer)
    queue = client.get(reverse("staff:case_queue"))
    assert queue.status_code == 200
    body = queue.content.decode()
    assert waiting_case.reference in body
    assert STAFF_WORDS in _tags(body)
    assert RESIDENT_WORDS not in body
    # The status filter offers the officials' words too.
    assert f">{STAFF_WORDS}</option>" in body

    page = client.get(reverse("staff:case_detail", args=[waiting_case.reference]))
    assert page.status_code == 200
    body = page.content.decode()
    assert STAFF_WORDS in _tags(body)
    assert f"Ask for more information — now: {STAFF_WORDS}" in body
    assert RESIDENT_WORDS not in body


def test_an_officials_action_page_names_the_next_state_in_their_words(
    client, shed, resident, works_officer
):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    sign_in_official(client, works_officer)
    body = client.get(
        reverse("staff:case_action", args=[case.reference, "request_info"])
    ).content.decode()
    assert f"The status will become: <strong>{STAFF_WORDS}</strong>." in body


def test_the_resident_reads_the_residents_words(client, waiting_case, resident):
    client.force_login(resident)
    body = client.get(reverse("cases:case_detail", args=[waiting_case.reference])).content.decode()
    assert RESIDENT_WORDS in _tags(body)
    assert f"Ask for more information — now: {RESIDENT_WORDS}" in body
    assert STAFF_WORDS not in body
    applications = client.get(reverse("cases:applications")).content.decode()
    assert RESIDENT_WORDS in _tags(applications)


def test_an_escalation_tells_the_supervisor_the_state_in_officials_words(
    shed, resident, works_officer, works_supervisor
):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    Case.objects.filter(pk=case.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    assert services.cases_escalate() == 1
    (message,) = Notification.objects.filter(
        recipient=works_supervisor, event="case_escalated", channel="email"
    )
    assert "Current state: First check" in message.body
    assert "Being checked" not in message.body


def test_staff_labels_fall_back_to_english_then_to_the_residents_label():
    spec = ServiceSpec(parse_definition("shed.yaml", (FIXTURES / "shed-permit.yaml").read_text()))
    assert spec.staff_state_label("info_needed", "fr") == "En attente de la réponse du demandeur"
    assert spec.staff_state_label("info_needed", "de") == "Waiting for the applicant's reply"
    older = dict(spec.definition)
    older["workflow"] = {
        **older["workflow"],
        "states": [
            {k: v for k, v in state.items() if k != "staff_label"}
            for state in older["workflow"]["states"]
        ],
    }
    assert ServiceSpec(older).staff_state_label("info_needed") == RESIDENT_WORDS


# --- the definition checks ------------------------------------------------------------


def _problems(old: str, new: str) -> list[str]:
    text = (FIXTURES / "shed-permit.yaml").read_text()
    assert old in text
    with pytest.raises(InvalidDefinition) as error:
        parse_definition("broken.yaml", text.replace(old, new, 1))
    return [str(problem) for problem in error.value.problems]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'label: {en: Received}, staff_label: {en: "New, not checked yet", fr: "Nouvelle, '
            'pas encore examinée", ar: جديد، لم يُدرَس بعد}',
            "label: {en: Received}",
            "broken.yaml: at workflow.states[0]: 'staff_label' is a required property",
        ),
        (
            "        error_label: {en: your full name, fr: votre nom complet, ar: اسمك الكامل}\n",
            "",
            "broken.yaml: at pages[3].questions[0]: 'error_label' is a required property",
        ),
        (
            "        errors:\n          required:\n            en: Select yes if the wood is "
            "treated\n",
            "        errors:\n          required_text:\n            en: Select yes if the wood "
            "is treated\n",
            "broken.yaml: at pages[1].questions[0].errors: Additional properties are not allowed",
        ),
        (
            "    errors:\n      required:\n",
            "    error_label: {en: whether you own it}\n    errors:\n      too_long:\n",
            "broken.yaml: at eligibility[0].errors: 'required' is a required property",
        ),
    ],
)
def test_a_definition_must_name_its_states_for_staff_and_its_answers_for_errors(old, new, expected):
    problems = _problems(old, new)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_staff_case_page_names_the_applicant_by_their_legal_name(
    client, waiting_case, resident, works_officer
):
    """The legal name on the applicant's profile, else their account's name (an account
    made outside the sign-up has no profile)."""
    profile = resident.profile
    profile.legal_name = "Alexandra Quinn Morgan"
    profile.save()
    sign_in_official(client, works_officer)
    url = reverse("staff:case_detail", args=[waiting_case.reference])
    applicant = '<dd class="govuk-summary-list__value">{}<br>'
    body = client.get(url).content.decode()
    assert applicant.format("Alexandra Quinn Morgan") in body
    assert applicant.format(resident.full_name) not in body

    profile.delete()
    body = client.get(url).content.decode()
    assert applicant.format(resident.full_name) in body
