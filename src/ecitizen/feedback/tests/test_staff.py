"""What officials read: satisfaction per service and month, comments, complaint figures,
each within the departments of their remit (another department's feedback is invisible,
a ward-limited role reads none)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role
from ecitizen.cases import services as cases
from ecitizen.feedback import selectors, services
from ecitizen.feedback.models import Kind, Level, Step
from ecitizen.feedback.services import About, ComplaintAnswers, Completed
from tests.factories import DepartmentFactory, JurisdictionFactory, UserFactory
from tests.personas import TOTP_SECRET, _official, sign_in_official

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0)


def _rate(service_key, reference, level, *, department, service=None, comment="", at=None):
    return services.rating_record(
        completed=Completed(
            Step.APPLICATION,
            reference,
            service_key,
            service.pk if service is not None else None,
            department.pk,
        ),
        level=level,
        comment=comment,
        at=at,
    )


@pytest.fixture
def revenue(db):
    return DepartmentFactory(slug="revenue", name="Revenue")


@pytest.fixture
def rated(shed, works, revenue):
    """Ratings of the shed permit (Public Works) over two months, and of a Revenue fee."""
    may, june = (
        timezone.make_aware(datetime(2026, 5, 10, 9)),
        timezone.make_aware(datetime(2026, 6, 3, 9)),
    )
    levels = [(Level.VERY_SATISFIED, may), (Level.SATISFIED, may), (Level.DISSATISFIED, may)]
    levels += [(Level.VERY_SATISFIED, june), (Level.NEUTRAL, june)]
    for number, (level, at) in enumerate(levels):
        _rate("shed-permit", f"SP-{number}", level, department=works, service=shed, at=at)
    _rate(
        "shed-permit",
        "SP-c",
        2,
        department=works,
        service=shed,
        comment="Upload kept failing",
        at=june,
    )
    _rate(
        "payments.fee",
        "REV-1",
        1,
        department=revenue,
        comment="Revenue took my money twice",
        at=june,
    )


def test_satisfaction_per_service_and_month(rated, works_officer):
    with time_machine.travel(timezone.make_aware(NOW)):
        rows = selectors.satisfaction_by_service(user=works_officer, months=3)
    assert [row.label for row in rows] == ["Apply for a garden shed permit"]
    april, may, june = rows[0].months
    assert (april.month, april.total, april.satisfied_percent) == (date(2026, 4, 1), 0, None)
    assert (may.total, may.satisfied_percent) == (3, 67)
    assert may.levels() == [1, 1, 0, 1, 0]
    assert (june.total, june.satisfied_percent) == (3, 33)
    assert rows[0].overall.total == 6


def test_each_department_reads_only_its_own_feedback(client, rated, works_officer, revenue):
    revenue_supervisor = _official(Role.SUPERVISOR, revenue, email="rev.sup@example.test")
    sign_in_official(client, works_officer)
    with time_machine.travel(timezone.make_aware(NOW)):
        page = client.get(reverse("staff:feedback")).content.decode()
        assert "Apply for a garden shed permit" in page
        assert "Paying a fee" not in page
        comments = client.get(reverse("staff:feedback_comments")).content.decode()
    assert "Upload kept failing" in comments
    assert "took my money twice" not in comments
    client.logout()
    sign_in_official(client, revenue_supervisor)
    comments = client.get(reverse("staff:feedback_comments")).content.decode()
    assert "took my money twice" in comments
    assert "Upload kept failing" not in comments
    # Another department's service page is not found.
    assert client.get(reverse("staff:feedback_service", args=["shed-permit"])).status_code == 404


def test_a_ward_limited_official_reads_no_feedback(rated, works):
    ward = JurisdictionFactory(code="riverside", name="Riverside")
    officer = UserFactory(email="ward.officer@example.test")
    accounts.role_assign(
        user=officer,
        role=Role.CASE_OFFICER,
        department=works,
        jurisdiction=ward,
        actor=None,
        system=True,
    )
    accounts.mfa_totp_activate(user=officer, secret=TOTP_SECRET, actor=None)
    assert selectors.satisfaction_by_service(user=officer) == []
    assert not selectors.rating_comments(user=officer).exists()


def test_comments_are_searchable_by_word_service_and_step(rated, works_officer, platform_admin):
    found = selectors.rating_comments(user=works_officer, query="UPLOAD")
    assert [r.reference for r in found] == ["SP-c"]
    assert not selectors.rating_comments(user=works_officer, query="money").exists()
    assert not selectors.rating_comments(user=works_officer, step=Step.PAYMENT).exists()
    everything = selectors.rating_comments(user=platform_admin)
    assert {r.reference for r in everything} == {"SP-c", "REV-1"}
    assert [key for key, _ in selectors.rated_service_keys(user=platform_admin)] == [
        "shed-permit",
        "payments.fee",
    ]


def test_compliments_and_suggestions_are_listed_for_the_department_concerned(
    client, shed, resident, works_officer, revenue
):
    services.remark_send(
        kind=Kind.SUGGESTION,
        about=About(department=shed.department, service=shed),
        text="Let us upload phone photos",
        author=resident,
        confirmed=True,
    )
    sign_in_official(client, works_officer)
    page = client.get(reverse("staff:feedback_comments"), {"show": "suggestion"}).content.decode()
    assert "Let us upload phone photos" in page
    assert "Apply for a garden shed permit" in page
    revenue_officer = _official(Role.CASE_OFFICER, revenue, email="rev.off@example.test")
    assert not selectors.remarks(user=revenue_officer, kind=Kind.SUGGESTION).exists()


def test_complaint_figures_count_the_stages_against_their_deadlines(
    complaint_service, shed, resident, comms_officer, works_supervisor, revenue
):
    about = About(department=shed.department, service=shed)
    monday = timezone.make_aware(datetime(2026, 6, 1, 10))
    with time_machine.travel(monday, tick=False):
        on_time = services.complaint_send(
            about=about,
            answers=ComplaintAnswers("The shed form lost my answers."),
            author=resident,
            confirmed=True,
        )
        late = services.complaint_send(
            about=about,
            answers=ComplaintAnswers("Nobody answered my shed permit."),
            author=resident,
            confirmed=True,
        )
    with time_machine.travel(monday + timedelta(days=1), tick=False):
        cases.case_transition(case=on_time.case, action_id="acknowledge", actor=comms_officer)
        services.complaint_state_record(case_id=on_time.case_id, state="acknowledged")
    with time_machine.travel(monday + timedelta(days=8), tick=False):
        cases.case_transition(
            case=on_time.case,
            action_id="respond",
            actor=comms_officer,
            given=cases.ActionInput(text="Fixed."),
        )
        services.complaint_state_record(case_id=on_time.case_id, state="responded")
    today = date(2026, 6, 20)  # after the acknowledgement deadline of 8 June
    for official in (comms_officer, works_supervisor):
        (june,) = selectors.complaint_figures(user=official, months=1, today=today)
        assert (june.received, june.acknowledged_in_time, june.responded_in_time) == (2, 1, 1)
        assert (june.acknowledged_percent, june.open, june.overdue) == (50, 2, 1)
    revenue_officer = _official(Role.CASE_OFFICER, revenue, email="rev.off2@example.test")
    (nothing,) = selectors.complaint_figures(user=revenue_officer, months=1, today=today)
    assert nothing.received == 0
    assert late.case is not None


def test_the_staff_pages_answer_within_remit(client, rated, works_supervisor, shed):
    sign_in_official(client, works_supervisor)
    for name in ("staff:feedback", "staff:feedback_comments", "staff:feedback_complaints"):
        assert client.get(reverse(name)).status_code == 200, name
    page = client.get(reverse("staff:feedback_service", args=[shed.slug])).content.decode()
    assert "Publish a change" in page
    assert "Upload kept failing" in page


def test_residents_cannot_read_the_figures(client, resident):
    client.force_login(resident)
    assert client.get(reverse("staff:feedback")).status_code == 403
