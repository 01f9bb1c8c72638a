"""SLA arithmetic: business days over weekends, holidays and paused periods."""

from __future__ import annotations

from datetime import date

import time_machine
from django.test import override_settings

from ecitizen.cases import services
from ecitizen.cases.calendar import add_business_days, business_days_between, is_business_day

from .support import submit_shed


def test_weekends_are_not_business_days():
    assert is_business_day(date(2026, 11, 27))  # Friday
    assert not is_business_day(date(2026, 11, 28))  # Saturday
    assert not is_business_day(date(2026, 11, 29))  # Sunday


def test_a_day_from_friday_is_monday():
    assert add_business_days(date(2026, 11, 27), 1) == date(2026, 11, 30)
    assert add_business_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # received Saturday
    assert add_business_days(date(2026, 11, 27), 0) == date(2026, 11, 27)


def test_public_holidays_are_skipped():
    # England: Christmas Day (Fri 25 Dec 2026) and Boxing Day observed (Mon 28 Dec 2026).
    assert not is_business_day(date(2026, 12, 25))
    assert not is_business_day(date(2026, 12, 28))
    assert add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    # 20 working days from 1 December 2026 (a freedom-of-information deadline).
    assert add_business_days(date(2026, 12, 1), 20) == date(2026, 12, 31)


@override_settings(EXTRA_HOLIDAYS=["2026-12-02"])
def test_the_authority_adds_its_own_closures():
    assert not is_business_day(date(2026, 12, 2))
    assert add_business_days(date(2026, 12, 1), 1) == date(2026, 12, 3)


def test_days_between_counts_the_end_not_the_start():
    assert business_days_between(date(2026, 11, 27), date(2026, 11, 30)) == 1
    assert business_days_between(date(2026, 11, 30), date(2026, 11, 30)) == 0
    assert business_days_between(date(2026, 11, 30), date(2026, 11, 27)) == 0
    for days in range(0, 45):
        start = date(2026, 12, 1)
        assert business_days_between(start, add_business_days(start, days)) == days


def test_a_paused_clock_moves_the_due_date_by_the_pause(
    shed, resident, works_officer, works_supervisor
):
    with time_machine.travel("2026-11-02 10:00 +00:00", tick=False):  # Monday
        case = submit_shed(shed, resident)
    assert case.due_date == date(2026, 11, 16)  # 10 business days
    with time_machine.travel("2026-11-04 10:00 +00:00", tick=False):  # 2 days used
        case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
        case = services.case_transition(
            case=case,
            action_id="request_info",
            actor=works_officer,
            given=services.ActionInput(text="Which side of the garden?"),
        )
    assert case.due_date is None
    assert case.sla_days_used == 2
    # The resident answers a week and a weekend later: the 8 days left start again.
    with time_machine.travel("2026-11-13 09:00 +00:00", tick=False):  # Friday
        case = services.case_transition(
            case=case,
            action_id="reply",
            actor=resident,
            given=services.ActionInput(text="The north side."),
        )
    assert case.sla_running_since == date(2026, 11, 13)
    assert case.due_date == date(2026, 11, 25)  # 8 business days after Friday 13th


def test_escalation_tells_supervisors_once_per_level(shed, resident, works_supervisor):
    from ecitizen.cases.models import CaseEvent
    from ecitizen.notifications.models import Notification

    with time_machine.travel("2026-11-02 10:00 +00:00", tick=False):
        case = submit_shed(shed, resident)
    assert services.cases_escalate(today=date(2026, 11, 5)) == 0  # far from due
    assert services.cases_escalate(today=date(2026, 11, 12)) == 1  # 2 business days left
    assert services.cases_escalate(today=date(2026, 11, 12)) == 0  # idempotent
    assert services.cases_escalate(today=date(2026, 11, 17)) == 1  # overdue
    assert services.cases_escalate(today=date(2026, 11, 18)) == 0
    assert case.events.filter(kind=CaseEvent.Kind.ESCALATED).count() == 2
    from ecitizen.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="cases.escalated").count() == 2
    assert Notification.objects.filter(recipient=works_supervisor, event="case_escalated").exists()
