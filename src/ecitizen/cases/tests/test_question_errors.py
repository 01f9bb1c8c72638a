"""What a resident is told on a question page and on "Check your answers", with Riverton's
own definitions: a required file cannot be skipped, every error message says what to
enter, and no section heading repeats its only row."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from ecitizen.cases import services
from ecitizen.cases.forms import QuestionPageForm
from ecitizen.cases.models import Draft
from ecitizen.catalogue.definitions import read_definitions

from .conftest import DEMO, FIXTURES
from .support import PARKING_ANSWERS, draft_with, pdf_file

#: Messages that name nothing (the defect): none may be shown for a demo question.
GENERAL = {
    "Enter an answer",
    "Select an option",
    "Select at least one option",
    "Select a file",
    "Select yes or no",
    "Select an answer",
}


def _errors(response) -> list[str]:
    """The error summary's messages, as the resident reads them."""
    body = response.content.decode()
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', body, re.S)
    assert summary, "no error summary on the page"
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r"<li>(.*?)</li>", summary.group(0), re.S)
    ]


# --- a required file ------------------------------------------------------------------


def test_the_proof_of_address_cannot_be_skipped(client, riverton, resident):
    draft = draft_with(riverton["residents-parking-permit"], resident, PARKING_ANSWERS)
    client.force_login(resident)
    url = reverse("cases:page", args=[draft.pk, "proof"])
    for pressed in ({}, {"add_another": "1"}):
        response = client.post(url, pressed)
        assert response.status_code == 200, "the page must answer with its error, not move on"
        assert _errors(response) == ["Select a proof of address"]
        body = response.content.decode()
        assert 'class="govuk-error-message"' in body
        assert 'href="#id_proof_of_address"' in body  # the summary links to the field
    draft.refresh_from_db()
    assert "proof_of_address" not in draft.answers
    # With the file, the resident moves on to check their answers.
    response = client.post(url, {"proof_of_address": pdf_file("bill.pdf")})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:check", args=[draft.pk])
    # Once a file is saved, the page can be sent again without another one.
    response = client.post(url, {})
    assert response.status_code == 302


def test_the_food_hygiene_certificate_is_asked_for_on_its_own_page(client, riverton, resident):
    """The page used to move on, and "Check your answers" sent the resident back to it
    without a word."""
    draft = draft_with(
        riverton["trading-licence"],
        resident,
        {
            "trades_in_riverton": True,
            "business_name": "Riverside Bakery",
            "legal_structure": "sole_trader",
            "responsible_name": "Alex Morgan",
            "national_id": "AB123456",
            "trading_address": "3 Quay Street, Riverton",
            "trade_category": "food",
            "opening_hours": "Every day 7am to 3pm",
            "start_date": "2031-05-01",
        },
    )
    client.force_login(resident)
    page = reverse("cases:page", args=[draft.pk, "food_hygiene"])
    response = client.post(page, {})
    assert response.status_code == 200
    assert _errors(response) == ["Select your food hygiene certificate"]
    draft.refresh_from_db()
    assert "food_hygiene_certificate" not in draft.answers


def test_a_required_file_keeps_the_other_answers_of_its_page(riverton):
    """On a page with a file and other questions, the error is the file's alone and what
    was typed is shown again."""
    spec = services.spec_for(riverton["birth-certificate-copy"].current_version)
    page = spec.page("reason")
    file_question = {**page["questions"][2], "required": True}
    questions = [*page["questions"][:2], file_question]
    posted = {"relationship": "Grandchild", "request_reason": "To trace our family history."}
    form = QuestionPageForm(posted, {}, page=page, questions=questions, files_present=set())
    assert not form.is_valid()
    assert form.errors == {"authority_document": ["Select a document that supports your request"]}
    shown = str(form)
    assert 'value="Grandchild"' in shown
    assert "To trace our family history.</textarea>" in shown


def test_an_optional_file_left_out_lets_the_resident_move_on(client, riverton, resident):
    """An optional file question used to leave its page unanswered: the resident was sent
    back to it, without a message, for ever."""
    draft = draft_with(
        riverton["birth-certificate-copy"],
        resident,
        {"born_in_riverton": True, "whose_certificate": "someone_else"},
    )
    client.force_login(resident)
    page = reverse("cases:page", args=[draft.pk, "reason"])
    response = client.post(
        page, {"relationship": "Grandchild", "request_reason": "To trace our family history."}
    )
    assert response.status_code == 302
    assert response["Location"] != page
    draft.refresh_from_db()
    assert draft.answers["authority_document"] == []
    spec = services.spec_for(draft.service_version)
    assert spec.page_complete(spec.page("reason"), draft.answers)


# --- messages that say what to enter ---------------------------------------------------


def test_the_vehicle_page_names_each_missing_answer(client, riverton, resident):
    draft = draft_with(
        riverton["residents-parking-permit"],
        resident,
        {"zone": "A", "home_address": "12 Mill Lane\nRiverton"},
    )
    client.force_login(resident)
    response = client.post(reverse("cases:page", args=[draft.pk, "vehicle"]), {})
    assert _errors(response) == [
        "Enter the vehicle registration number",
        "Enter the make and model",
        "Select the registered keeper of the vehicle",
    ]


def test_yes_no_eligibility_and_date_messages_name_their_question(client, riverton, resident):
    service = riverton["trading-licence"]
    client.force_login(resident)
    start = client.get(reverse("cases:apply_start", args=[service.slug]))
    eligibility = start["Location"]
    assert _errors(client.post(eligibility, {})) == [
        "Select yes if your business will trade in Riverton"
    ]
    draft = Draft.objects.get(applicant=resident)
    trade = reverse("cases:page", args=[draft.pk, "trade"])
    response = client.post(
        trade,
        {
            "trade_category": "retail",
            "opening_hours": "x" * 501,
            "start_date_day": "1",
            "start_date_month": "",
            "start_date_year": "2031",
        },
    )
    assert _errors(response) == [
        "Your opening hours must be 500 characters or fewer",
        "The date you want to start trading must include a month",
    ]
    response = client.post(
        trade,
        {
            "trade_category": "retail",
            "opening_hours": "9 to 5",
            "start_date_day": "31",
            "start_date_month": "2",
            "start_date_year": "2031",
        },
    )
    assert _errors(response) == ["The date you want to start trading must be a real date"]
    response = client.post(
        trade,
        {
            "trade_category": "retail",
            "opening_hours": "9 to 5",
            "start_date_day": "1",
            "start_date_month": "1",
            "start_date_year": "2001",
        },
    )
    assert _errors(response) == ["The date you want to start trading must be in the future"]


def test_numbers_and_amounts_name_their_question(riverton):
    spec = services.spec_for(riverton["birth-certificate-copy"].current_version)
    page = spec.page("copies")

    def errors(value):
        form = QuestionPageForm(
            {"copies": value}, page=page, questions=page["questions"], files_present=set()
        )
        assert not form.is_valid()
        return form.errors["copies"]

    assert errors("") == ["Enter the number of certified copies"]
    assert errors("two") == ["The number of certified copies must be a whole number"]
    assert errors("0") == ["The number of certified copies must be 1 or more"]
    assert errors("25") == ["The number of certified copies must be 10 or less"]


def _all_questions():
    """(file, question) for every question of every demo and fixture definition."""
    found = []
    for directory in (DEMO, FIXTURES):
        for name, data in read_definitions(directory):
            for question in data.get("eligibility", []):
                found.append((name, {**question, "type": "eligibility"}))
            for page in data["pages"]:
                found.extend((name, question) for question in page["questions"])
    return found


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_every_question_of_every_definition_has_a_message_naming_it(language):
    """The required message of each question is its own, in each language: the
    definition's ``errors.required``, or "Enter/Select" and its ``error_label``."""
    from ecitizen.cases.forms import EligibilityForm, Naming

    questions = _all_questions()
    assert len(questions) > 60
    with translation.override(language):
        for name, question in questions:
            naming = Naming(question)
            assert naming.what or naming.required_text, f"{name}: {question['id']}"
            if question["type"] == "eligibility":
                form = EligibilityForm({}, question=question)
                message = form.fields["answer"].error_messages["required"]
            else:
                page = {"id": "p", "questions": [question]}
                form = QuestionPageForm({}, page=page, questions=[question], files_present=set())
                message = form.fields[question["id"]].error_messages["required"]
            assert str(message) not in GENERAL, f"{name}: {question['id']}"
            if language != "en":
                # Written for this language by the definition, not English words.
                own = question.get("errors", {}).get("required") or question["error_label"]
                assert language in own, f"{name}: {question['id']} has no {language}"


# --- check your answers ---------------------------------------------------------------


def test_check_your_answers_does_not_repeat_a_question_as_its_heading(client, riverton, resident):
    draft = draft_with(riverton["residents-parking-permit"], resident, PARKING_ANSWERS)
    services.draft_save_answers(
        draft=draft, values={}, files={"proof_of_address": [pdf_file("bill.pdf")]}, actor=resident
    )
    client.force_login(resident)
    body = client.get(reverse("cases:check", args=[draft.pk])).content.decode()
    headings = [h.strip() for h in re.findall(r'<h2 class="govuk-heading-m">(.*?)</h2>', body)]
    keys = [
        k.strip() for k in re.findall(r'<dt class="govuk-summary-list__key">(.*?)</dt>', body, re.S)
    ]
    assert "What is your home address?" in keys
    assert "Upload a proof of address" in keys
    assert "Your vehicle" in headings
    assert not set(headings) & set(keys), headings
