"""Consultations and surveys: questions checked against the service schema, responses
(signed in, anonymous with an emailed link, replaced, on paper), results against hand
counts, the organiser's pages, export and outcome."""

from __future__ import annotations

import csv
import io
import re
import sys
import types
from datetime import datetime, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.participation.models import (
    Action,
    Channel,
    Consultation,
    EligibilityRule,
    PendingResponse,
    Process,
    Response,
)
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import consultations as services
from ecitizen.participation.services.common import (
    person_key_for_email,
    person_key_for_national_id,
    person_key_for_user,
)
from tests.personas import sign_in_official

QUESTIONS = [
    {
        "id": "visits",
        "type": "single_choice",
        "label": {"en": "How often do you visit the park?", "fr": "À quelle fréquence ?"},
        "error_label": {"en": "how often you visit the park"},
        "choices": [
            {"value": "weekly", "label": {"en": "Every week"}},
            {"value": "monthly", "label": {"en": "Every month"}},
            {"value": "rarely", "label": {"en": "Rarely"}},
        ],
    },
    {
        "id": "play",
        "type": "yes_no",
        "label": {"en": "Should the play area be extended?"},
        "errors": {"required": {"en": "Select yes if the play area should be extended"}},
    },
    {
        "id": "uses",
        "type": "multiple_choice",
        "required": False,
        "label": {"en": "What do you do there?"},
        "error_label": {"en": "what you do there"},
        "choices": [
            {"value": "walk", "label": {"en": "Walk"}},
            {"value": "play", "label": {"en": "Play"}},
            {"value": "sport", "label": {"en": "Sport"}},
        ],
    },
    {
        "id": "trees",
        "type": "number",
        "required": False,
        "label": {"en": "How many trees should we plant?"},
        "error_label": {"en": "the number of trees"},
        "validation": {"min": 0, "max": 1000},
    },
    {
        "id": "ideas",
        "type": "long_text",
        "required": False,
        "label": {"en": "What else would you change?"},
        "error_label": {"en": "what you would change"},
    },
]

NOW = timezone.make_aware(datetime(2027, 3, 10, 12, 0))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def process(department):
    return Process.objects.create(
        slug="riverside",
        title="Riverside regeneration plan",
        summary="The future of the riverside",
        department=department,
        status=Process.Status.PUBLISHED,
    )


def _consultation(process, *, status=Consultation.Status.OPEN, slug="park", **extra):
    values = {
        "title": "Riverside Park",
        "body": "We plan to extend the park.\n\nTell us what you think.",
        "questions": QUESTIONS,
        "opens_at": NOW - timedelta(days=9, hours=12),
        "closes_at": NOW + timedelta(days=21, hours=12),
        **extra,
    }
    return Consultation.objects.create(process=process, slug=slug, status=status, **values)


@pytest.fixture
def consultation(process):
    return _consultation(process)


def _answers(visits="weekly", play=True, uses=(), trees="", ideas=""):
    return {"visits": visits, "play": play, "uses": list(uses), "trees": trees, "ideas": ideas}


def _post_data(visits="weekly", play="yes", uses=(), trees="", ideas="", **extra):
    data = {"visits": visits, "play": play, "uses": list(uses), "trees": trees, "ideas": ideas}
    data.update(extra)
    return data


def _url(name, consultation, *args):
    return reverse(name, args=[consultation.process.slug, consultation.slug, *args])


def _submission_key(html):
    return re.search(r'name="submission" value="([0-9a-f]{32})"', html).group(1)


def _record(consultation, key, answers=None, channel=Channel.ONLINE, **kwargs):
    return services.response_record(
        consultation=consultation,
        answers=answers or _answers(),
        person_key=key,
        channel=channel,
        actor=None,
        **kwargs,
    )


# --- questions -------------------------------------------------------------------------------


def test_the_example_questions_read_and_plain_texts_are_english():
    from ecitizen.participation.forms_consultations import QUESTIONS_EXAMPLE

    questions, problems = services.questions_read(QUESTIONS_EXAMPLE)
    assert problems == []
    assert [q["id"] for q in questions] == ["visits", "play-area", "ideas"]
    assert questions[0]["label"] == {"en": "How often do you visit Riverside Park?"}
    assert questions[0]["choices"][0]["label"] == {"en": "Every week"}
    assert questions[1]["errors"]["required"] == {
        "en": "Select yes if the play area should be extended"
    }


def test_stored_questions_read_back_the_same():
    questions, problems = services.questions_read(services.questions_text(QUESTIONS))
    assert problems == []
    assert questions == QUESTIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Write at least one question"),
        ("- id: a\n  type: text\n  label: A\n", "Question 1 (a): error_label is missing"),
        (
            "- id: Visits\n  type: text\n  label: A\n  error_label: a\n",
            "Question 1 (Visits), id: the id must start with a small letter",
        ),
        (
            "- id: a\n  type: colour\n  label: A\n  error_label: a\n",
            'Question 1 (a), type: "colour" is not one of: text, long_text',
        ),
        (
            "- id: a\n  type: single_choice\n  label: A\n  error_label: a\n",
            "Question 1 (a): choices is missing",
        ),
        (
            "- id: a\n  type: single_choice\n  label: A\n  error_label: a\n"
            "  choices:\n    - value: yes\n      label: Yes\n    - value: b\n      label: B\n",
            "Question 1 (a), choices[0].value: write yes, no, on or off in quotes",
        ),
        (
            "- id: a\n  type: text\n  label: A\n  error_label: a\n"
            "- id: a\n  type: text\n  label: B\n  error_label: b\n",
            "Question 2 (a): the id a is used twice",
        ),
        (
            "- id: a\n  type: file\n  label: A\n  error_label: a\n"
            "  file: {formats: [application/pdf], max_size_mb: 2}\n",
            "Question 1 (a): a consultation cannot ask for files",
        ),
        (
            "- id: a\n  type: text\n  label: A\n  error_label: a\n"
            "  show_if: {question: b, equals: x}\n",
            "Question 1 (a): show_if cannot be used in a consultation",
        ),
        (
            "- id: a\n  type: text\n  label: A\n  error_label: a\n  colour: red\n",
            "Question 1 (a): colour is not a key a question can have",
        ),
        ("- id: a\n  type: [text\n", "Line 3, column 1"),
        ("title: not a list\n", "Write at least one question, as a list"),
    ],
)
def test_questions_that_cannot_be_asked_are_named_precisely(text, expected):
    questions, problems = services.questions_read(text)
    assert questions == []
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_consultation_with_bad_questions_is_not_created(process):
    data = services.ConsultationInput(
        title="Bad",
        kind=Consultation.Kind.SURVEY,
        body="",
        opens_at=NOW,
        closes_at=NOW + timedelta(days=1),
        questions=[{"id": "a", "type": "text"}],
    )
    with pytest.raises(ParticipationError) as error:
        services.consultation_create(process=process, data=data, actor=None)
    assert error.value.code == "invalid_questions"
    assert not Consultation.objects.exists()


# --- recording responses --------------------------------------------------------------------


def test_a_response_is_recorded_once_per_person_and_the_later_one_wins(consultation):
    first = _record(consultation, "key-1", _answers(visits="weekly"))
    second = _record(consultation, "key-1", _answers(visits="rarely", play=False))
    assert first.pk == second.pk
    response = Response.objects.get()
    assert response.answers["visits"] == "rarely"
    assert response.answers["play"] is False
    assert response.replaced_channel == Channel.ONLINE
    assert response.replaced_at == NOW


def test_online_then_paper_counts_once_and_the_organiser_sees_the_double(
    consultation, engagement_officer
):
    online_key = person_key_for_national_id("AB123456")
    _record(consultation, online_key, _answers(visits="weekly"))
    _record(
        consultation,
        online_key,
        _answers(visits="monthly"),
        channel=Channel.PAPER,
        entered_by=engagement_officer,
    )
    _record(
        consultation,
        online_key,
        _answers(visits="rarely"),
        channel=Channel.PAPER,
        entered_by=engagement_officer,
    )
    _record(consultation, "someone-else", _answers())
    _record(consultation, "someone-else", _answers())
    from ecitizen.participation.selectors.consultations import consultation_counts

    counts = consultation_counts(consultation=consultation)
    assert counts.total == 2
    assert dict(counts.by_channel)["Paper or in person"] == 1
    assert dict(counts.by_channel)["Online"] == 1
    assert counts.replaced == 2
    assert counts.doubles == 1  # the paper response replaced an online one; still a double
    response = Response.objects.get(person_key=online_key)
    assert response.channel == Channel.PAPER
    assert response.entered_by == engagement_officer
    assert response.answers["visits"] == "rarely"


@pytest.mark.parametrize(
    ("status", "opens", "closes"),
    [
        (Consultation.Status.CLOSED, -5, 5),  # closed by the organiser
        (Consultation.Status.OPEN, -5, -1),  # past its closing
        (Consultation.Status.OPEN, 1, 5),  # not open yet
        (Consultation.Status.DRAFT, -5, 5),
    ],
)
def test_a_response_outside_the_open_time_is_refused_and_nothing_is_written(
    process, status, opens, closes
):
    found = _consultation(
        process,
        status=status,
        opens_at=NOW + timedelta(days=opens),
        closes_at=NOW + timedelta(days=closes),
    )
    with pytest.raises(ParticipationError) as error:
        _record(found, "key-1")
    assert error.value.code == "consultation_closed"
    assert not Response.objects.exists()


def test_answers_that_do_not_fit_are_refused_naming_the_question(consultation):
    with pytest.raises(ParticipationError) as error:
        _record(consultation, "key-1", _answers(visits="daily"))
    assert error.value.code == "invalid_answers"
    assert "How often do you visit the park?" in str(error.value.message)
    with pytest.raises(ParticipationError):
        _record(consultation, "key-1", {"visits": "weekly"})  # the yes/no is required
    with pytest.raises(ParticipationError):
        _record(consultation, "key-1", _answers(trees=5000))
    assert not Response.objects.exists()


def test_answers_are_stored_as_the_service_form_stores_them(consultation):
    response = _record(
        consultation, "key-1", _answers(uses=["walk", "sport"], trees="12", ideas="  More bins \n")
    )
    assert response.answers == {
        "visits": "weekly",
        "play": True,
        "uses": ["walk", "sport"],
        "trees": 12,
        "ideas": "More bins",
    }


def test_the_audit_trail_names_no_answer_and_no_person_key(consultation):
    _record(consultation, "secret-person-key", _answers(ideas="My neighbour Bob at 12 Elm St"))
    event = AuditEvent.objects.get(action="participation.response.record")
    text = str(event.changes)
    assert "Bob" not in text
    assert "secret-person-key" not in text
    assert event.object_id == str(consultation.pk)


# --- the resident's pages ----------------------------------------------------------------------


def test_the_consultation_page_shows_the_document_questions_and_respond_button(
    client, consultation, resident
):
    client.force_login(resident)
    page = client.get(_url("participation:consultation", consultation))
    html = page.content.decode()
    assert page.status_code == 200
    assert "We plan to extend the park." in html
    assert "How often do you visit the park?" in html
    assert "Every week · Every month · Rarely" in html
    assert "31 March 2027" in html  # the last day
    assert _url("participation:consultation_respond", consultation) in html


def test_a_draft_consultation_or_process_is_not_public(client, process):
    draft = _consultation(process, status=Consultation.Status.DRAFT)
    assert client.get(_url("participation:consultation", draft)).status_code == 404
    process.status = Process.Status.DRAFT
    process.save()
    found = _consultation(process, slug="other")
    assert client.get(_url("participation:consultation", found)).status_code == 404


def test_someone_not_eligible_sees_every_reason_and_cannot_respond(
    client, consultation, resident, process
):
    EligibilityRule.objects.create(
        process=process, action=Action.RESPOND, email_verified=True, min_age=16
    )
    EmailAddress.objects.filter(user=resident).update(verified=False)
    client.force_login(resident)
    for name in ("participation:consultation", "participation:consultation_respond"):
        html = client.get(_url(name, consultation)).content.decode()
        assert "You need to confirm your email address first." in html
        assert "Add your date of birth to your account so we can check your age." in html
        assert 'name="visits"' not in html
    refused = client.post(_url("participation:consultation_respond", consultation), _post_data())
    assert refused.status_code == 403
    assert not Response.objects.exists()


def test_a_visitor_is_asked_to_sign_in_when_anonymous_responses_are_not_allowed(
    client, consultation
):
    html = client.get(_url("participation:consultation_respond", consultation)).content.decode()
    assert "You need to sign in to take part." in html
    assert "Sign in to respond" in html
    response = client.post(_url("participation:consultation_respond", consultation), _post_data())
    assert response.status_code == 403
    assert not Response.objects.exists()


def test_a_resident_responds_then_sees_their_answers_and_replaces_them(
    client, consultation, resident
):
    client.force_login(resident)
    url = _url("participation:consultation_respond", consultation)
    page = client.get(url)
    sent = client.post(
        url,
        _post_data(
            uses=["walk"], ideas="More benches", submission=_submission_key(page.content.decode())
        ),
    )
    assert sent.status_code == 302
    assert sent["Location"] == _url("participation:consultation_done", consultation)
    done = client.get(sent["Location"]).content.decode()
    assert "Your response is recorded" in done
    response = Response.objects.get()
    assert response.person_key == person_key_for_user(resident)
    assert response.channel == Channel.ONLINE

    again = client.get(url).content.decode()
    assert "Change your response" in again
    assert re.search(r'value="weekly"[^>]*checked', again)
    assert re.search(r'value="walk"[^>]*checked', again)
    assert "More benches" in again
    client.post(url, _post_data(visits="rarely", play="no", submission=_submission_key(again)))
    response = Response.objects.get()
    assert response.answers["visits"] == "rarely"
    assert response.answers["play"] is False
    assert response.replaced_channel == Channel.ONLINE


def test_the_same_form_sent_twice_is_one_submission(client, consultation, process, mailoutbox):
    EligibilityRule.objects.create(
        process=process, action=Action.RESPOND, email_verified=False, anonymous_allowed=True
    )
    url = _url("participation:consultation_respond", consultation)
    key = _submission_key(client.get(url).content.decode())
    data = _post_data(email="someone@example.test", submission=key)
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert PendingResponse.objects.count() == 1
    assert len(mailoutbox) == 1


def test_bad_answers_get_an_error_summary_and_are_kept(client, consultation, resident):
    client.force_login(resident)
    url = _url("participation:consultation_respond", consultation)
    page = client.post(url, _post_data(play="", trees="lots", ideas="Keep the old oak"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "govuk-error-summary" in html
    assert "Select yes if the play area should be extended" in html
    assert "The number of trees must be a whole number" in html
    assert 'href="#id_play_0"' in html
    assert 'href="#id_trees"' in html
    assert "Keep the old oak" in html
    assert re.search(r'value="weekly"[^>]*checked', html)
    assert html.count("<title>Error:") == 1
    assert not Response.objects.exists()


def test_a_response_sent_after_closing_writes_nothing_and_says_why(client, consultation, resident):
    client.force_login(resident)
    url = _url("participation:consultation_respond", consultation)
    key = _submission_key(client.get(url).content.decode())
    services.consultation_close(consultation=consultation, actor=None)
    page = client.post(url, _post_data(submission=key))
    html = page.content.decode()
    assert "This consultation is closed: it no longer takes responses." in html
    assert 'name="visits"' not in html
    assert not Response.objects.exists()


# --- anonymous responses -----------------------------------------------------------------------


@pytest.fixture
def anonymous_rule(process):
    return EligibilityRule.objects.create(
        process=process, action=Action.RESPOND, email_verified=False, anonymous_allowed=True
    )


def _send_anonymous(client, consultation, email, **answers):
    url = _url("participation:consultation_respond", consultation)
    key = _submission_key(client.get(url).content.decode())
    return client.post(url, _post_data(email=email, submission=key, **answers))


def _link(message):
    return re.search(r"http://[^\s]+/confirm/[^\s]+/", message.body).group(0)


def test_an_anonymous_response_counts_once_the_emailed_link_is_followed(
    client, consultation, anonymous_rule, mailoutbox
):
    sent = _send_anonymous(client, consultation, "Someone@Example.test", ideas="Plant oaks")
    assert sent.status_code == 302
    assert "Check your email" in client.get(sent["Location"]).content.decode()
    assert not Response.objects.exists()
    pending = PendingResponse.objects.get()
    assert pending.email_index == person_key_for_email("someone@example.test")
    assert "someone" not in str(pending.__dict__).lower()
    (message,) = mailoutbox
    assert message.to == ["Someone@Example.test"]
    assert "Riverside Park" in message.subject
    path = _link(message).removeprefix("http://127.0.0.1:8000")

    shown = client.get(path)  # a mail scanner opening the link confirms nothing
    assert shown.status_code == 200
    assert "Confirm my response" in shown.content.decode()
    assert not Response.objects.exists()

    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert "Your response is recorded" in client.get(confirmed["Location"]).content.decode()
    response = Response.objects.get()
    assert response.channel == Channel.ANONYMOUS
    assert response.person_key == person_key_for_email("someone@example.test")
    assert response.answers["ideas"] == "Plant oaks"
    assert PendingResponse.objects.get().answers == {}

    reused = client.post(path)
    assert reused.status_code == 400
    assert "This link has been used already" in reused.content.decode()
    assert Response.objects.count() == 1


def test_a_second_confirmed_response_of_the_same_address_replaces_the_first(
    client, consultation, anonymous_rule, mailoutbox
):
    _send_anonymous(client, consultation, "a@example.test", visits="weekly")
    _send_anonymous(client, consultation, "A@example.test ", visits="rarely")
    first, second = (_link(m).removeprefix("http://127.0.0.1:8000") for m in mailoutbox)
    client.post(second)
    client.post(first)  # confirmed later: it wins, as the later entry
    response = Response.objects.get()
    assert response.answers["visits"] == "weekly"
    assert response.replaced_channel == Channel.ANONYMOUS
    from ecitizen.participation.selectors.consultations import consultation_counts

    assert consultation_counts(consultation=consultation).total == 1


def test_a_wrong_or_expired_link_records_nothing(client, consultation, anonymous_rule, mailoutbox):
    _send_anonymous(client, consultation, "a@example.test")
    path = _link(mailoutbox[0]).removeprefix("http://127.0.0.1:8000")
    tampered = path.rstrip("/")[:-3] + "xyz/"
    page = client.post(tampered)
    assert page.status_code == 400
    assert "This link is not valid" in page.content.decode()
    with time_machine.travel(NOW + timedelta(hours=services.CONFIRMATION_HOURS, minutes=1)):
        expired = client.post(path)
    assert expired.status_code == 400
    assert "This link has expired" in expired.content.decode()
    assert not Response.objects.exists()


def test_a_link_of_another_consultation_is_refused(
    client, consultation, process, anonymous_rule, mailoutbox
):
    other = _consultation(process, slug="other")
    _send_anonymous(client, consultation, "a@example.test")
    path = _link(mailoutbox[0]).removeprefix("http://127.0.0.1:8000")
    wrong = path.replace("/consultations/park/", f"/consultations/{other.slug}/")
    assert client.post(wrong).status_code == 400
    assert not Response.objects.exists()


def test_an_anonymous_response_confirmed_after_closing_is_not_counted(
    client, consultation, anonymous_rule, mailoutbox
):
    _send_anonymous(client, consultation, "a@example.test")
    services.consultation_close(consultation=consultation, actor=None)
    path = _link(mailoutbox[0]).removeprefix("http://127.0.0.1:8000")
    page = client.post(path)
    assert page.status_code == 400
    assert "This consultation is closed" in page.content.decode()
    assert not Response.objects.exists()
    assert PendingResponse.objects.get().confirmed_at is None


def test_one_address_gets_a_few_links_an_hour_at_most(
    client, consultation, anonymous_rule, mailoutbox
):
    for _ in range(services.CONFIRMATIONS_PER_HOUR):
        _send_anonymous(client, consultation, "target@example.test")
    page = _send_anonymous(client, consultation, "target@example.test")
    assert page.status_code == 200
    assert "We have already sent several confirmation links" in page.content.decode()
    assert len(mailoutbox) == services.CONFIRMATIONS_PER_HOUR


def test_one_connection_gets_a_limited_number_of_links_an_hour_whatever_the_addresses(
    client, consultation, anonymous_rule, mailoutbox, monkeypatch
):
    monkeypatch.setattr(services, "CONFIRMATIONS_PER_SENDER_PER_HOUR", 4)
    for number in range(4):
        _send_anonymous(client, consultation, f"target{number}@example.test")
    page = _send_anonymous(client, consultation, "one-more@example.test")
    assert page.status_code == 200
    assert "Many confirmation links were asked for from your connection" in (page.content.decode())
    assert len(mailoutbox) == 4
    # Another connection is not held back, and no network address is stored.
    other = _send_anonymous(Client(REMOTE_ADDR="198.51.100.7"), consultation, "o@example.test")
    assert other.status_code == 302
    assert len(mailoutbox) == 5
    senders = set(PendingResponse.objects.values_list("sender_index", flat=True))
    assert len(senders) == 2
    assert not any("127.0.0.1" in sender or "198.51" in sender for sender in senders)


def test_an_anonymous_response_needs_a_valid_email(client, consultation, anonymous_rule):
    page = _send_anonymous(client, consultation, "not-an-address")
    assert "Enter an email address in the correct format" in page.content.decode()
    assert not PendingResponse.objects.exists()


def test_without_the_anonymous_rule_the_service_refuses(consultation):
    with pytest.raises(ParticipationError) as error:
        services.pending_response_create(
            consultation=consultation, email="a@example.test", answers=_answers()
        )
    assert error.value.code == "anonymous_not_allowed"


# --- results -----------------------------------------------------------------------------------


def _cells(html):
    """The results tables' rows: (answer, people, share)."""
    return re.findall(
        r'<th scope="row" class="govuk-table__header" dir="auto">([^<]+)</th>'
        r'<td class="govuk-table__cell govuk-table__cell--numeric">([^<]+)</td>'
        r'<td class="govuk-table__cell govuk-table__cell--numeric">([^<]*)</td>',
        html,
    )


def test_results_are_published_once_closed_and_match_hand_counts(client, consultation):
    given = [
        _answers("weekly", True, ["walk", "play"], 10, "Secret idea one"),
        _answers("weekly", True, ["walk"], 20, ""),
        _answers("monthly", False, [], "", "Secret idea two"),
        _answers("weekly", False, ["sport", "walk"], 40, ""),
        _answers("rarely", True, [], "", ""),
    ]
    for number, answers in enumerate(given):
        _record(consultation, f"person-{number}", answers)
    _record(consultation, "person-0", given[0])  # replaced: still one person

    url = _url("participation:consultation_results", consultation)
    before = client.get(url).content.decode()
    assert "The results are published here once the consultation closes" in before
    assert "Every week" not in before

    services.consultation_close(consultation=consultation, actor=None)
    html = client.get(url).content.decode()
    assert "5 responses" in html
    rows = _cells(html)
    # Visits: weekly 3 of 5, monthly 1, rarely 1.
    assert ("Every week", "3", "60%") in rows
    assert ("Every month", "1", "20%") in rows
    assert ("Rarely", "1", "20%") in rows
    # Yes/no: 3 yes, 2 no.
    assert ("Yes", "3", "60%") in rows
    assert ("No", "2", "40%") in rows
    # Multiple choice: 3 answered; walk 3 (100%), play 1, sport 1 (33%).
    assert ("Walk", "3", "100%") in rows
    assert ("Play", "1", "33%") in rows
    assert ("Sport", "1", "33%") in rows
    assert "3 people answered this question." in html
    # Trees: 10, 20, 40 → median 20, lowest 10, highest 40.
    median = re.search(r"Median \(the middle answer\)</dt><dd[^>]*>([^<]+)<", html).group(1)
    assert median == "20"
    # Free text: counted, never shown.
    assert "2 people answered this question." in html
    assert "Secret idea" not in html
    # A chart per choice question, with its accessible name.
    assert html.count('role="img"') == 3
    assert '<title id="question-1-chart-title">How often do you visit the park?</title>' in html


def test_results_in_arabic_keep_the_chart_left_to_right(client, consultation):
    _record(consultation, "person-1")
    services.consultation_close(consultation=consultation, actor=None)
    client.cookies["django_language"] = "ar"
    html = client.get(
        _url("participation:consultation_results", consultation), HTTP_ACCEPT_LANGUAGE="ar"
    ).content.decode()
    assert 'dir="rtl"' in html
    assert 'dir="ltr" direction="ltr"' in html


# --- outcome -----------------------------------------------------------------------------------


@pytest.fixture
def notified(monkeypatch):
    """The follows area's notice to followers, recorded (installed or not yet)."""
    calls = []

    def followers_notify(**kwargs):
        calls.append(kwargs)
        return 0

    name = "ecitizen.participation.services.follows"
    try:
        module = __import__(name, fromlist=["followers_notify"])
    except ImportError:
        module = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(module, "followers_notify", followers_notify, raising=False)
    return calls


def test_the_outcome_is_published_once_closed_and_followers_are_told_once(
    client, consultation, notified
):
    url = _url("participation:consultation_outcome", consultation)
    assert client.get(url).status_code == 404
    with pytest.raises(ParticipationError) as error:
        services.outcome_publish(consultation=consultation, outcome="We heard you.", actor=None)
    assert error.value.code == "consultation_not_closed"

    services.consultation_close(consultation=consultation, actor=None)
    services.outcome_publish(
        consultation=consultation,
        outcome="We heard you.\n\nWe will extend the play area.",
        translations={"fr": "Nous vous avons entendus."},
        actor=None,
    )
    html = client.get(url).content.decode()
    assert "We will extend the play area." in html
    assert "Published on 10 March 2027" in html
    assert _url("participation:consultation_results", consultation) in html
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Nous vous avons entendus." in french
    assert notified == [
        {
            "process": consultation.process,
            "target_kind": "consultation",
            "target_id": consultation.pk,
            "event": "participation_outcome_published",
            "context": {"consultation": "Riverside Park", "url": url},
        }
    ]
    services.outcome_publish(consultation=consultation, outcome="Corrected.", actor=None)
    assert len(notified) == 1
    assert "Corrected." in client.get(url).content.decode()


# --- the organiser's pages ---------------------------------------------------------------------


NEW_FORM = {
    "title": "Riverside survey",
    "kind": "survey",
    "body": "",
    "opens_on_day": "1",
    "opens_on_month": "4",
    "opens_on_year": "2027",
    "closes_on_day": "30",
    "closes_on_month": "4",
    "closes_on_year": "2027",
    "title_fr": "Enquête",
    "body_fr": "",
    "title_ar": "",
    "body_ar": "",
}


def test_an_organiser_creates_a_draft_with_yaml_questions(client, process, engagement_officer):
    from ecitizen.participation.forms_consultations import QUESTIONS_EXAMPLE

    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation_new", args=[process.slug])
    assert client.get(url).status_code == 200
    sent = client.post(url, {**NEW_FORM, "questions": QUESTIONS_EXAMPLE})
    created = Consultation.objects.get()
    assert sent["Location"] == reverse(
        "staff:participation_consultation", args=[process.slug, created.slug]
    )
    assert created.slug == "riverside-survey"
    assert created.status == Consultation.Status.DRAFT
    assert created.translations == {"fr": {"title": "Enquête"}}
    assert timezone.localtime(created.opens_at) == timezone.make_aware(datetime(2027, 4, 1))
    assert timezone.localtime(created.closes_at) == timezone.make_aware(datetime(2027, 5, 1))
    assert [q["id"] for q in created.questions] == ["visits", "play-area", "ideas"]
    assert AuditEvent.objects.filter(action="participation.consultation.create").count() == 1
    page = client.get(sent["Location"]).content.decode()
    assert "Planned from 1 April 2027 to 30 April 2027." in page


def test_questions_with_problems_are_listed_and_the_text_kept(client, process, engagement_officer):
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation_new", args=[process.slug])
    text = "- id: a\n  type: text\n  label: First\n- id: a\n  type: file\n  label: Second\n"
    page = client.post(url, {**NEW_FORM, "questions": text})
    html = page.content.decode()
    assert page.status_code == 200
    assert "govuk-error-summary" in html
    assert "Question 1 (a): error_label is missing" in html
    assert "Question 2 (a): the id a is used twice" in html
    assert "- id: a\n  type: text\n  label: First" in html
    assert not Consultation.objects.exists()


def test_dates_out_of_order_and_a_consultation_without_text_are_refused(
    client, process, engagement_officer
):
    from ecitizen.participation.forms_consultations import QUESTIONS_EXAMPLE

    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation_new", args=[process.slug])
    html = client.post(
        url,
        {
            **NEW_FORM,
            "kind": "consultation",
            "closes_on_month": "3",
            "questions": QUESTIONS_EXAMPLE,
        },
    ).content.decode()
    assert "The last day for responses must be on or after the day it opens" in html
    assert "Enter what is consulted on" in html
    assert not Consultation.objects.exists()


def test_the_organiser_opens_and_closes_it_and_questions_lock_after_responses(
    client, process, engagement_officer
):
    found = _consultation(process, status=Consultation.Status.DRAFT)
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation", args=[process.slug, found.slug])
    client.post(url, {"action": "open"})
    found.refresh_from_db()
    assert found.status == Consultation.Status.OPEN
    _record(found, "person-1")

    form = {
        **NEW_FORM,
        "action": "save",
        "title": "Riverside Park (extended)",
        "kind": "consultation",
        "body": "New text",
        "opens_on_month": "3",
        "closes_on_month": "4",
        "questions": services.questions_text(QUESTIONS[:2]),
    }
    html = client.post(url, form).content.decode()
    assert "The questions cannot change once people have responded" in html
    found.refresh_from_db()
    assert found.title == "Riverside Park"
    client.post(url, {**form, "questions": services.questions_text(QUESTIONS)})
    found.refresh_from_db()
    assert found.title == "Riverside Park (extended)"

    client.post(url, {"action": "close"})
    found.refresh_from_db()
    assert found.status == Consultation.Status.CLOSED
    assert found.closes_at == NOW  # closed early: the record says when
    assert list(
        AuditEvent.objects.filter(action__startswith="participation.consultation.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "participation.consultation.open",
        "participation.consultation.update",
        "participation.consultation.close",
    ]


def test_the_organiser_sees_counts_with_the_doubles(client, consultation, engagement_officer):
    _record(consultation, "person-1")
    _record(consultation, "person-1", channel=Channel.PAPER, entered_by=engagement_officer)
    _record(consultation, "person-2")
    sign_in_official(client, engagement_officer)
    html = client.get(
        reverse("staff:participation_consultation", args=["riverside", "park"])
    ).content.decode()
    numbers = dict(
        re.findall(
            r'<th scope="row" class="govuk-table__header[^"]*">([^<]+)</th>'
            r'<td class="govuk-table__cell govuk-table__cell--numeric">(\d+)</td>',
            html,
        )
    )
    assert numbers["People who responded"] == "2"
    assert numbers["Paper or in person"] == "1"
    assert numbers["Online"] == "1"
    assert numbers["Responded both online and on paper (counted once, the later one counts)"] == "1"


def test_the_export_has_every_answer_and_names_no_one(client, consultation, engagement_officer):
    _record(consultation, "key-b", _answers("weekly", True, ["walk", "play"], 3, "=HYPERLINK(1)"))
    _record(consultation, "key-a", _answers("rarely", False, [], "", "Fix the fence"))
    _record(consultation, "key-c", _answers(), channel=Channel.PAPER, entered_by=engagement_officer)
    sign_in_official(client, engagement_officer)
    response = client.get(
        reverse("staff:participation_consultation_export", args=["riverside", "park"])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["channel", "visits", "play", "uses", "trees", "ideas"]
    # In the order of the person keys: a, b, c.
    assert rows[1:] == [
        ["online", "rarely", "no", "", "", "Fix the fence"],
        ["online", "weekly", "yes", "walk;play", "3", "'=HYPERLINK(1)"],
        ["paper", "weekly", "yes", "", "", ""],
    ]
    for secret in ("key-a", "key-b", "key-c", engagement_officer.email, "engagement"):
        assert secret not in text
    event = AuditEvent.objects.get(action="participation.consultation.export")
    assert event.actor_id == engagement_officer.pk
    assert event.changes == {"rows": 3}


def test_another_departments_organiser_gets_404_everywhere(
    client, consultation, other_engagement_officer
):
    sign_in_official(client, other_engagement_officer)
    for name, args in [
        ("staff:participation_consultation_new", ["riverside"]),
        ("staff:participation_consultation", ["riverside", "park"]),
        ("staff:participation_consultation_export", ["riverside", "park"]),
        ("staff:participation_consultation_outcome", ["riverside", "park"]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert (
        client.post(
            reverse("staff:participation_consultation", args=["riverside", "park"]),
            {"action": "close"},
        ).status_code
        == 404
    )
    assert not AuditEvent.objects.filter(action="participation.consultation.export").exists()
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.OPEN


def test_a_resident_cannot_reach_the_organisers_pages(client, consultation, resident):
    client.force_login(resident)
    response = client.get(
        reverse("staff:participation_consultation_export", args=["riverside", "park"])
    )
    assert response.status_code == 403


def test_the_organiser_publishes_the_outcome_from_the_staff_page(
    client, consultation, engagement_officer, notified
):
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation_outcome", args=["riverside", "park"])
    assert "You can publish the outcome once the consultation has closed" in (
        client.get(url).content.decode()
    )
    services.consultation_close(consultation=consultation, actor=None)
    empty = client.post(url, {"outcome": "  "})
    assert "Enter the outcome" in empty.content.decode()
    sent = client.post(url, {"outcome": "We will act.", "outcome_fr": "", "outcome_ar": ""})
    assert sent.status_code == 302
    consultation.refresh_from_db()
    assert consultation.outcome == "We will act."
    assert consultation.outcome_published_at == NOW
    assert len(notified) == 1


def test_someone_on_the_census_list_responds_with_their_code_without_an_account(
    client, consultation, process
):
    from ecitizen.participation.models import CensusEntry
    from ecitizen.participation.services.common import person_key_for_census
    from ecitizen.participation.views.common import CENSUS_SESSION_KEY

    EligibilityRule.objects.create(process=process, action=Action.RESPOND, census_only=True)
    url = _url("participation:consultation_respond", consultation)
    refused = client.get(url).content.decode()
    assert "This is only open to the people on the list the organiser holds." in refused
    assert reverse("participation:census_claim", args=[process.slug]) in refused

    entry = CensusEntry.objects.create(
        process=process, identifier="V-1001", identifier_index="i", code_hash="h", claimed_at=NOW
    )
    session = client.session
    session[CENSUS_SESSION_KEY] = {str(process.pk): entry.pk}
    session.save()
    key = _submission_key(client.get(url).content.decode())
    assert client.post(url, _post_data(submission=key)).status_code == 302
    response = Response.objects.get()
    assert response.channel == Channel.CENSUS
    assert response.person_key == person_key_for_census(entry)


def test_a_consultation_not_open_yet_says_when_it_opens(client, process, resident):
    found = _consultation(
        process, opens_at=NOW + timedelta(days=2), closes_at=NOW + timedelta(days=20)
    )
    client.force_login(resident)
    html = client.get(_url("participation:consultation", found)).content.decode()
    assert "Opens on 12 March 2027." in html
    assert _url("participation:consultation_respond", found) not in html
    respond = client.get(_url("participation:consultation_respond", found)).content.decode()
    assert "This consultation is not open yet. It opens on 12 March 2027." in respond
    assert 'name="visits"' not in respond


def test_the_results_page_reads_the_responses_in_a_constant_number_of_queries(client, consultation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = _url("participation:consultation_results", consultation)
    _record(consultation, "person-0")
    services.consultation_close(consultation=consultation, actor=None)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    Response.objects.bulk_create(
        Response(
            consultation=consultation,
            person_key=f"person-{number}",
            channel=Channel.ONLINE,
            answers=_answers(),
        )
        for number in range(1, 40)
    )
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert "40 responses" in html
    assert len(many) == len(few)


def test_an_organiser_limited_to_another_ward_gets_404(client, consultation, process, department):
    from ecitizen.accounts import services as accounts
    from tests.factories import JurisdictionFactory, UserFactory
    from tests.personas import TOTP_SECRET

    riverside, hillside = JurisdictionFactory(code="riverside"), JurisdictionFactory(code="hill")
    process.wards.set([riverside])

    def officer(ward, email):
        user = UserFactory(email=email)
        accounts.role_assign(
            user=user,
            role="engagement_officer",
            department=department,
            jurisdiction=ward,
            actor=None,
            system=True,
        )
        accounts.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
        return user

    url = reverse("staff:participation_consultation_export", args=["riverside", "park"])
    sign_in_official(client, officer(hillside, "hill@example.test"))
    assert client.get(url).status_code == 404
    sign_in_official(client, officer(riverside, "river@example.test"))
    assert client.get(url).status_code == 200
