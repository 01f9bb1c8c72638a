"""The feedback pages: the satisfaction question on confirmation pages, sending a
compliment or a complaint signed in or by email, a complaint's own page, "You said, we
did". Every refusal names what to fix and keeps what was typed."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ecitizen.cases import services as cases
from ecitizen.cases.tests.support import submit_shed
from ecitizen.feedback import panels, services
from ecitizen.feedback.models import Kind, Rating, ServiceChange, Step, Submission
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db


def _token(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, "no satisfaction form on the page"
    return html.unescape(match.group(1))


def _text(response) -> str:
    return html.unescape(response.content.decode())


# --- the satisfaction question ----------------------------------------------------------


def test_the_application_confirmation_asks_how_satisfied_and_rates_once(client, shed, resident):
    case = submit_shed(shed, resident)
    client.force_login(resident)
    page = _text(client.get(reverse("cases:confirmation", args=[case.reference])))
    assert "How satisfied were you with this service?" in page
    assert "Very dissatisfied" in page
    assert "Very satisfied" in page
    assert "We remove anything that looks like personal information" in page
    token = _token(page)

    response = client.post(
        reverse("feedback:rate"),
        {"token": token, "level": "4", "comment": "Clear. Mail me at a@b.test"},
    )
    assert response.status_code == 302
    thanks = _text(client.get(response["Location"]))
    assert "Thank you for your feedback" in thanks
    rating = Rating.objects.get()
    assert (rating.step, rating.reference, rating.level) == (Step.APPLICATION, case.reference, 4)
    assert (rating.service, rating.department_id) == (shed, case.department_id)
    assert rating.comment == "Clear. Mail me at [email]"

    # A second submit (a double click, the back button) keeps one rating, kindly.
    again = client.post(reverse("feedback:rate"), {"token": token, "level": "1"}, follow=True)
    assert "You have already told us what you thought of this. Thank you." in _text(again)
    assert Rating.objects.count() == 1
    assert Rating.objects.get().level == 4
    # The confirmation page now thanks instead of asking.
    page = _text(client.get(reverse("cases:confirmation", args=[case.reference])))
    assert "Thank you for your feedback." in page
    assert 'name="token"' not in page


def test_a_rating_without_a_level_names_the_error_and_keeps_the_comment(client, shed, resident):
    case = submit_shed(shed, resident)
    client.force_login(resident)
    token = _token(_text(client.get(reverse("cases:confirmation", args=[case.reference]))))
    response = client.post(
        reverse("feedback:rate"), {"token": token, "comment": "The upload was confusing"}
    )
    assert response.status_code == 200
    page = _text(response)
    assert "There is a problem" in page
    assert 'href="#feedback-level_0">Select how satisfied you were with this service' in page
    assert "The upload was confusing</textarea>" in page
    assert not Rating.objects.exists()


def test_a_forged_form_rates_nothing(client):
    response = client.post(reverse("feedback:rate"), {"token": "forged:token", "level": "5"})
    assert response.status_code == 400
    assert "We could not tell which service this feedback is about." in _text(response)
    assert not Rating.objects.exists()


def test_the_old_application_feedback_page_shows_the_new_form(client, shed, resident):
    case = submit_shed(shed, resident)
    client.force_login(resident)
    page = _text(client.get(reverse("cases:rate", args=[case.reference])))
    assert f'action="{reverse("feedback:rate")}"' in page
    assert "How satisfied were you with this service?" in page


def test_a_payment_is_asked_about_once_it_is_received(works):
    bill = SimpleNamespace(kind="fine", department_id=works.pk)
    paid = SimpleNamespace(pk="0b0c", state="success")
    panel = panels.payment_panel({"payment": paid, "bill": bill})["feedback"]
    completed = services.rating_token_read(panel.token)
    assert completed == services.Completed(Step.PAYMENT, "0b0c", "payments.fine", None, works.pk)
    assert (
        panels.payment_panel({"payment": SimpleNamespace(pk="x", state="started"), "bill": bill})
        == {}
    )


def test_a_report_is_asked_about_once_it_is_sent(shed, resident):
    case = submit_shed(shed, resident)
    report = SimpleNamespace(reference=case.reference, case=case)
    completed = services.rating_token_read(
        panels.report_panel({"report": report})["feedback"].token
    )
    assert (completed.step, completed.service_key) == (Step.REPORT, "shed-permit")
    waiting = SimpleNamespace(reference="", case=None)
    assert panels.report_panel({"report": waiting}) == {}
    # The "report sent" page of a signed-in reporter keeps the reference only.
    sent = {"confirmed": True, "reference": case.reference}
    request = SimpleNamespace(user=resident)
    found = panels.report_panel({"result": sent, "request": request})["feedback"]
    assert services.rating_token_read(found.token) == completed
    unconfirmed = {"confirmed": False, "reference": ""}
    assert panels.report_panel({"result": unconfirmed, "request": request}) == {}


def test_your_documents_asks_about_the_newest_recent_document_until_rated(shed, resident, works):
    case = submit_shed(shed, resident)
    now = timezone.now()

    def document(code, days_ago, remit="casework"):
        return SimpleNamespace(
            code=code,
            reference=case.reference,
            template="permit",
            department_id=works.pk,
            remit=remit,
            revoked_at=None,
            issued_at=now - timedelta(days=days_ago),
            title="Shed permit",
        )

    context = {
        "request": SimpleNamespace(user=resident),
        "documents": [
            (document("OLD", 60), "valid"),
            (document("NEW", 2), "valid"),
            (document("RECEIPT", 1, remit="finance"), "valid"),
        ],
    }
    found = panels.documents_panel(context)
    completed = services.rating_token_read(found["feedback"].token)
    # Rated as the service the document was issued for.
    assert (completed.step, completed.reference, completed.service_key) == (
        Step.DOCUMENT,
        "NEW",
        "shed-permit",
    )
    services.rating_record(completed=completed, level=5)
    assert panels.documents_panel(context) == {}


# --- compliments, suggestions, complaints ---------------------------------------------------


def test_a_visitor_s_compliment_names_each_error_then_is_sent_by_email_link(
    client, shed, django_capture_on_commit_callbacks
):
    url = reverse("feedback:send", args=["compliment"])
    page = _text(client.get(url))
    assert "What would you like to thank us for?" in page
    form_key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
    response = client.post(url, {"form_key": form_key, "text": "Lovely staff", "email": "nope"})
    assert response.status_code == 200
    page = _text(response)
    for error in (
        "Select what your feedback is about",
        "Enter your name",
        "Enter an email address in the correct format, like name@example.com",
    ):
        assert error in page
    assert "Lovely staff</textarea>" in page
    assert not Submission.objects.exists()

    data = {
        "form_key": form_key,
        "about": "service:shed-permit",
        "text": "Lovely staff. Call 07700 900461",
        "name": "Vera Visitor",
        "email": "vera@example.test",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
        client.post(url, data)  # sent twice: one submission, one email
    assert response["Location"] == reverse("feedback:check_email")
    assert Submission.objects.count() == 1
    assert len(mail.outbox) == 1
    link = re.search(r"(/feedback/confirm/[^/\s]+/)", mail.outbox[0].body).group(1)
    assert "Confirm and send" in _text(client.get(link))
    assert Submission.objects.get().status == Submission.Status.PENDING
    response = client.post(link)
    assert response["Location"] == reverse("feedback:thanks")
    compliment = Submission.objects.get()
    assert (compliment.kind, compliment.status) == (Kind.COMPLIMENT, Submission.Status.RECEIVED)
    assert compliment.text == "Lovely staff. Call [phone]"
    assert compliment.about_service == shed
    assert client.post(link).status_code == 400  # used up


def test_a_complaint_that_cannot_be_taken_leaves_no_account_behind(client, shed):
    from ecitizen.accounts.models import User

    url = reverse("feedback:send", args=["complaint"])
    response = client.post(
        url,
        {
            "form_key": "k1",
            "about": "service:shed-permit",
            "what_happened": "The shed permit form lost my answers twice.",
            "name": "Nina New",
            "email": "nina@example.test",
        },
    )
    assert response.status_code == 200
    page = _text(response)
    assert "Complaints cannot be made online at the moment. Contact us instead." in page
    assert "The shed permit form lost my answers twice.</textarea>" in page
    assert not User.objects.filter(email="nina@example.test").exists()
    assert not Submission.objects.exists()


def test_an_unknown_kind_of_feedback_is_not_found(client):
    assert client.get(reverse("feedback:send", args=["praise"])).status_code == 404


def test_a_signed_in_complaint_is_followed_and_escalated_on_its_own_page(
    client, complaint_service, shed, resident, comms_officer
):
    client.force_login(resident)
    url = reverse("feedback:send", args=["complaint"])
    form_key = re.search(r'name="form_key" value="([^"]+)"', _text(client.get(url))).group(1)
    short = client.post(
        url, {"form_key": form_key, "about": "department:public-works", "what_happened": "Bad"}
    )
    assert short.status_code == 200
    assert "Tell us what happened in at least 10 characters" in _text(short)
    response = client.post(
        url,
        {
            "form_key": form_key,
            "about": "department:public-works",
            "what_happened": "Nobody collected my bin for three weeks.",
        },
    )
    submission = Submission.objects.get()
    assert response["Location"] == services.complaint_link(submission)
    page = _text(client.get(response["Location"]))
    assert submission.case.reference in page
    assert "We acknowledge it by" in page
    assert "Ask for a review" not in page

    cases.case_transition(
        case=submission.case,
        action_id="respond",
        actor=comms_officer,
        given=cases.ActionInput(text="We collected it on Tuesday."),
    )
    services.complaint_state_record(case_id=submission.case_id, state="responded")
    client.logout()  # the emailed link works without signing in
    link = services.complaint_link(submission)
    page = _text(client.get(link))
    assert "We collected it on Tuesday." in page
    empty = client.post(link, {"reason": ""})
    assert empty.status_code == 200
    assert "Tell us why you are not satisfied with our reply" in _text(empty)
    response = client.post(link, {"reason": "It was not collected again."})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == "stage2_requested"
    assert "A senior officer is reviewing your complaint" in _text(client.get(link))


def test_a_changed_complaint_link_is_not_found(client, complaint_service, shed, resident):
    submission = services.complaint_send(
        about=services.About(department=shed.department, service=shed),
        answers=services.ComplaintAnswers("The shed permit form lost my answers."),
        author=resident,
        confirmed=True,
    )
    link = services.complaint_link(submission)
    assert client.get(link[:-3] + "xx/").status_code == 404


# --- "You said, we did" --------------------------------------------------------------------


def test_a_supervisor_publishes_and_withdraws_a_change_on_the_public_page(
    client, shed, works_supervisor, works_officer, comms_supervisor
):
    publish = reverse("staff:feedback_change_publish", args=[shed.slug])
    public = reverse("feedback:service_changes", args=[shed.slug])
    sign_in_official(client, works_supervisor)
    empty = client.post(publish, {"you_said": "", "we_did": "Shorter form"})
    assert empty.status_code == 400
    assert "Enter what people told you" in _text(empty)
    assert "Shorter form</textarea>" in _text(empty)
    response = client.post(
        publish, {"you_said": "The form was too long.", "we_did": "We removed 4 questions."}
    )
    assert response.status_code == 302
    change = ServiceChange.objects.get()
    client.logout()
    page = _text(client.get(public))
    assert "The form was too long." in page
    assert "We removed 4 questions." in page
    assert "Apply for a garden shed permit" in _text(client.get(reverse("feedback:changes")))

    # A case officer may not speak for the department; another department may not either.
    sign_in_official(client, works_officer)
    assert client.post(publish, {"you_said": "a", "we_did": "b"}).status_code == 403
    client.logout()
    sign_in_official(client, comms_supervisor)
    assert client.post(publish, {"you_said": "a", "we_did": "b"}).status_code == 404
    client.logout()

    sign_in_official(client, works_supervisor)
    withdraw = reverse("staff:feedback_change_withdraw", args=[shed.slug])
    assert client.post(withdraw, {}).status_code == 400
    assert client.post(withdraw, {"change": change.pk}).status_code == 302
    client.logout()
    assert "The form was too long." not in _text(client.get(public))
    assert ServiceChange.objects.get().withdrawn_by == works_supervisor


def test_an_unknown_service_has_no_you_said_we_did_page(client):
    response = client.get(reverse("feedback:service_changes", args=["no-such-service"]))
    assert response.status_code == 404
