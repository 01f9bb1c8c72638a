"""Compliments, suggestions and complaints: signed in or confirmed by email, a complaint
as a case of the complaints procedure in the same queue, its stages and deadlines."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
import yaml
from django.core import mail
from django.utils import timezone

from ecitizen.cases import services as cases
from ecitizen.cases.calendar import add_business_days
from ecitizen.cases.models import Case
from ecitizen.cases.selectors import QueueFilters, case_queue
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.core.errors import PermissionDenied
from ecitizen.feedback import services
from ecitizen.feedback.demo import DEFINITIONS
from ecitizen.feedback.models import Kind, Submission
from ecitizen.feedback.services import About, ComplaintAnswers, FeedbackError
from ecitizen.notifications.models import Notification

pytestmark = pytest.mark.django_db

#: A Monday with no public holiday in the next five weeks (England).
MONDAY = datetime(2026, 6, 1, 10, 0)
ANSWERS = ComplaintAnswers(
    "My bin was not collected for three weeks in a row.", "Collect it, please."
)


@pytest.fixture
def about_shed(shed):
    return About(department=shed.department, service=shed)


def _complaint(author, about, *, confirmed=True, form_key=""):
    return services.complaint_send(
        about=about, answers=ANSWERS, author=author, confirmed=confirmed, form_key=form_key
    )


def _act(case, action, actor, text="", capture=None):
    with capture(execute=True):
        return cases.case_transition(
            case=Case.objects.get(pk=case.pk),
            action_id=action,
            actor=actor,
            given=cases.ActionInput(text=text),
        )


def test_the_shipped_complaint_definition_is_a_sound_complaints_procedure(complaint_service):
    spec = ServiceSpec(complaint_service.current_version.definition)
    assert services.complaint_definition_problems(spec) == []
    rules = services.complaint_rules(spec)
    assert (rules.acknowledge_days, rules.respond_days, rules.stage2_days) == (5, 20, 20)
    assert spec.sla_business_days == 20
    assert complaint_service.listed is False
    for state in spec.states.values():
        assert set(state["label"]) >= {"en", "fr", "ar"}
        assert set(state["staff_label"]) >= {"en", "fr", "ar"}


def test_a_definition_whose_stages_do_not_exist_is_reported(tmp_path):
    definition = yaml.safe_load((DEFINITIONS / "complaint.yaml").read_text())
    definition["extensions"]["complaint"]["states"]["responded"] = "answered"
    problems = services.complaint_definition_problems(ServiceSpec(definition))
    assert problems == [
        "extensions.complaint.states.responded: 'answered' is not a state of the workflow"
    ]
    definition = yaml.safe_load((DEFINITIONS / "complaint.yaml").read_text())
    definition["workflow"]["actions"] = [
        a for a in definition["workflow"]["actions"] if a["id"] != "escalate"
    ]
    assert (
        "no action of the complainant"
        in services.complaint_definition_problems(ServiceSpec(definition))[0]
    )


def test_a_signed_in_complaint_opens_a_case_in_the_complaints_team_queue(
    complaint_service, shed, about_shed, resident, comms_officer, works_officer
):
    with time_machine.travel(timezone.make_aware(MONDAY), tick=False):
        submission = _complaint(resident, about_shed)
    case = submission.case
    assert case.service == complaint_service
    assert case.applicant == resident
    assert case.department.slug == "communications"
    assert case.answers == {
        "what_happened": ANSWERS.what_happened,
        "put_right": ANSWERS.put_right,
    }
    assert (submission.about_department, submission.about_service) == (shed.department, shed)
    assert submission.status == Submission.Status.RECEIVED
    assert submission.pending_answers is None
    # 5 and 20 working days from Monday 1 June 2026.
    assert submission.acknowledge_by == date(2026, 6, 8)
    assert submission.respond_by == date(2026, 6, 29) == case.due_date
    # In the complaints team's queue, not in the department complained about.
    assert case in case_queue(user=comms_officer, filters=QueueFilters())
    assert case not in case_queue(user=works_officer, filters=QueueFilters())
    note = Notification.objects.get(recipient=resident, event="complaint_update", channel="email")
    assert case.reference in note.subject


def test_the_staff_case_page_says_what_the_complaint_is_about_and_its_deadlines(
    client, complaint_service, shed, about_shed, resident, comms_officer, django_assert_num_queries
):
    from django.urls import reverse

    from tests.personas import sign_in_official

    with time_machine.travel(timezone.make_aware(MONDAY), tick=False):
        submission = _complaint(resident, about_shed)
    sign_in_official(client, comms_officer)
    page = client.get(reverse("staff:case_detail", args=[submission.case.reference]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Complaint" in text
    assert "Apply for a garden shed permit" in text
    assert "8 June 2026" in text  # acknowledge by
    assert "29 June 2026" in text  # reply by
    assert ANSWERS.what_happened in text
    # Other cases carry no complaint panel: a case of a service without the complaint
    # block is not even looked up.
    from ecitizen.cases.models import Case
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.feedback import panels

    other = Case.objects.select_related("service_version").get(pk=submit_shed(shed, resident).pk)
    with django_assert_num_queries(0):
        assert panels.staff_case_panel({"case": other}) == {}


@pytest.mark.db_specific  # compiled SQL run with each database's parameters
def test_the_panels_complaint_is_the_orms(
    complaint_service, shed, about_shed, resident, django_assert_num_queries
):
    """The panel's read of a case's complaint (compiled once per process): the ORM's
    complaint with what it is about, the service's definition given by its checksum."""
    from ecitizen.catalogue.selectors import definitions_forget
    from ecitizen.feedback.selectors import complaint_about, complaint_for_case

    submission = _complaint(resident, about_shed)
    about_department = _complaint(
        resident, About(department=shed.department, service=None), form_key="second"
    )
    for wanted in (submission, about_department):
        orm = (
            Submission.objects.select_related("about_department", "about_service__current_version")
            .filter(case_id=wanted.case_id, kind=Kind.COMPLAINT)
            .first()
        )
        definitions_forget()
        read = complaint_for_case(case_id=wanted.case_id)
        assert read == orm == wanted
        assert (read.about_department, read.about_service) == (
            orm.about_department,
            orm.about_service,
        )
        assert (read.text, read.status, read.respond_by) == (orm.text, orm.status, orm.respond_by)
        assert complaint_about(read) == complaint_about(orm)
    assert complaint_about(complaint_for_case(case_id=submission.case_id)) == (
        "Apply for a garden shed permit"
    )
    with django_assert_num_queries(1):  # the definition kept
        complaint_about(complaint_for_case(case_id=submission.case_id))
    assert complaint_for_case(case_id=-1) is None


def test_a_complaint_goes_through_stage_1_and_stage_2(
    complaint_service,
    about_shed,
    resident,
    comms_officer,
    comms_supervisor,
    django_capture_on_commit_callbacks,
):
    with time_machine.travel(timezone.make_aware(MONDAY), tick=False):
        submission = _complaint(resident, about_shed)
    case = submission.case
    capture = django_capture_on_commit_callbacks
    with time_machine.travel(timezone.make_aware(MONDAY + timedelta(days=2)), tick=False):
        _act(case, "acknowledge", comms_officer, capture=capture)
    submission.refresh_from_db()
    assert submission.state == "acknowledged"
    assert timezone.localdate(submission.acknowledged_at) == date(2026, 6, 3)

    # Asking for stage 2 before the reply is refused.
    with pytest.raises(FeedbackError) as early:
        services.complaint_escalate(submission=submission, reason="Too slow", actor=resident)
    assert early.value.code == "stale_action"

    with time_machine.travel(timezone.make_aware(MONDAY + timedelta(days=9)), tick=False):
        _act(case, "respond", comms_officer, "We have collected the bin.", capture=capture)
    submission.refresh_from_db()
    assert submission.state == "responded"
    assert submission.closed_at is None

    # Only the complainant asks for the review.
    with pytest.raises(PermissionDenied):
        services.complaint_escalate(submission=submission, reason="No", actor=comms_officer)
    escalated_on = MONDAY + timedelta(days=14)  # Monday 15 June
    with (
        time_machine.travel(timezone.make_aware(escalated_on), tick=False),
        capture(execute=True),
    ):
        submission = services.complaint_escalate(
            submission=submission, reason="It happened again this week.", actor=resident
        )
    assert submission.state == "stage2_requested"
    assert submission.stage2_respond_by == add_business_days(date(2026, 6, 15), 20)
    # The event's delivery found the stage already recorded: one message for it.
    assert (
        Notification.objects.filter(
            recipient=resident, event="complaint_update", channel="email"
        ).count()
        == 4  # received, acknowledged, responded, stage 2 requested
    )

    # Stage 2 is a senior officer's: a case officer cannot reply to it.
    spec = cases.spec_for(case.service_version)
    assert not cases.staff_may_act(comms_officer, case, spec, spec.actions["respond_stage2"])
    with time_machine.travel(timezone.make_aware(MONDAY + timedelta(days=20)), tick=False):
        _act(case, "respond_stage2", comms_supervisor, "We apologise.", capture=capture)
    submission.refresh_from_db()
    assert submission.state == "stage2_responded"
    assert submission.stage2_responded_at is not None
    assert submission.closed_at == submission.stage2_responded_at
    case.refresh_from_db()
    assert case.outcome == "approved"


def test_recording_a_stage_again_changes_and_sends_nothing(
    complaint_service, about_shed, resident, comms_officer
):
    submission = _complaint(resident, about_shed)
    cases.case_transition(case=submission.case, action_id="acknowledge", actor=comms_officer)
    first = services.complaint_state_record(case_id=submission.case_id, state="acknowledged")
    sent = Notification.objects.count()
    again = services.complaint_state_record(case_id=submission.case_id, state="acknowledged")
    assert again.acknowledged_at == first.acknowledged_at
    assert Notification.objects.count() == sent
    # A case that is not a complaint is none of this app's business.
    assert services.complaint_state_record(case_id=0, state="acknowledged") is None


def test_a_visitor_s_complaint_waits_for_the_email_link_then_opens_its_case(
    complaint_service, about_shed, django_capture_on_commit_callbacks
):
    author = services.author_for_email(email="Visitor@Example.test", name="Vera Visitor")
    assert author.email == "visitor@example.test"
    assert not author.has_usable_password()
    with django_capture_on_commit_callbacks(execute=True):
        submission = _complaint(author, about_shed, confirmed=False)
    assert submission.status == Submission.Status.PENDING
    assert submission.case is None
    assert not Case.objects.exists()
    assert submission.pending_answers["what_happened"] == ANSWERS.what_happened
    token = re.search(r"/feedback/confirm/([^/]+)/", mail.outbox[-1].body).group(1)
    assert "your complaint" in mail.outbox[-1].body

    confirmed = services.submission_confirm(token=token)
    assert confirmed.status == Submission.Status.RECEIVED
    assert confirmed.case.applicant == author
    assert confirmed.pending_answers is None
    # The link is used up: a second click finds nothing to send.
    with pytest.raises(FeedbackError) as used:
        services.submission_confirm(token=token)
    assert used.value.code == "bad_link"
    assert Case.objects.count() == 1


def test_an_expired_link_sends_nothing_and_is_pruned(
    complaint_service, about_shed, django_capture_on_commit_callbacks
):
    author = services.author_for_email(email="late@example.test", name="Leo Late")
    with django_capture_on_commit_callbacks(execute=True):
        submission = _complaint(author, about_shed, confirmed=False)
    token = re.search(r"/feedback/confirm/([^/]+)/", mail.outbox[-1].body).group(1)
    later = timezone.now() + timedelta(hours=services.CONFIRMATION_HOURS + 1)
    with time_machine.travel(later):
        with pytest.raises(FeedbackError) as expired:
            services.submission_confirm(token=token)
        assert expired.value.code == "expired_link"
        assert services.submissions_prune() == 1
    assert not Submission.objects.filter(pk=submission.pk).exists()
    assert not Case.objects.exists()


def test_the_same_form_sent_twice_makes_one_complaint(complaint_service, about_shed, resident):
    first = _complaint(resident, about_shed, form_key="form-1")
    second = _complaint(resident, about_shed, form_key="form-1")
    assert first.pk == second.pk
    assert Case.objects.count() == 1
    third = _complaint(resident, about_shed, form_key="form-2")
    assert third.pk != first.pk


def test_without_a_complaint_service_nothing_is_stored(shed, about_shed, resident):
    with pytest.raises(FeedbackError) as refused:
        _complaint(resident, about_shed)
    assert refused.value.code == "no_complaints"
    assert not Submission.objects.exists()


def test_compliments_and_suggestions_are_redacted_and_received(about_shed, resident):
    compliment = services.remark_send(
        kind=Kind.COMPLIMENT,
        about=about_shed,
        text="Thanks to the officer, ring me on 07700 900461",
        author=resident,
        confirmed=True,
    )
    assert compliment.text == "Thanks to the officer, ring me on [phone]"
    assert compliment.status == Submission.Status.RECEIVED
    with pytest.raises(FeedbackError) as empty:
        services.remark_send(
            kind=Kind.SUGGESTION, about=about_shed, text="   ", author=resident, confirmed=True
        )
    assert empty.value.code == "empty"
    with pytest.raises(FeedbackError) as wrong:
        services.remark_send(
            kind=Kind.COMPLAINT, about=about_shed, text="x", author=resident, confirmed=True
        )
    assert wrong.value.code == "kind"


def test_the_complaint_definition_is_published_unlisted(complaint_service):
    from ecitizen.catalogue.selectors import services_published

    assert complaint_service not in services_published()
    assert Path(DEFINITIONS / "complaint.yaml").exists()
