"""A case officer's own workload (``cases.selectors.officer_workload`` and the page
``staff:insights_workload``): counts of the cases assigned to them against a hand count,
other officers' and unassigned cases left out, aggregates only, officials only."""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from ecitizen.accounts.models import Role
from ecitizen.cases.models import Case
from ecitizen.cases.selectors import officer_workload
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from tests.factories import DepartmentFactory, UserFactory
from tests.personas import _official, sign_in_official

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"
LONDON = ZoneInfo("Europe/London")
#: A Wednesday; no holiday in England between January and mid-March 2026.
TODAY = date(2026, 3, 11)
_references = count(1)


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def world(settings):
    settings.TIME_ZONE = "Europe/London"
    works = DepartmentFactory(slug="public-works", name="Public Works")
    service_definitions_publish(directory=CASES_FIXTURES, actor=None)
    return {
        "shed": Service.objects.get(slug="shed-permit"),
        "officer": _official(Role.CASE_OFFICER, works, email="works.officer@example.test"),
        "colleague": _official(Role.CASE_OFFICER, works, email="works.colleague@example.test"),
        "applicant": UserFactory(email="applicant@example.test", full_name="Priya Applicant"),
    }


def _case(world, *, assigned_to, submitted: date, due: date | None = None, decided=None):
    service = world["shed"]
    return Case.objects.create(
        reference=f"RIV-SHED-2026-{next(_references):06d}",
        service=service,
        service_version=service.current_version,
        department=service.department,
        applicant=world["applicant"],
        submitted_by=world["applicant"],
        state="approved" if decided else "submitted",
        outcome="approved" if decided else "",
        assigned_to=assigned_to,
        submitted_at=_at(submitted),
        decided_at=decided,
        due_date=due,
    )


@pytest.fixture
def cases(world):
    officer, colleague = world["officer"], world["colleague"]
    # Open, assigned to the officer: two overdue, two due within 5 working days (today
    # and Wednesday 18 March, the last one), one due later, one paused (no due date).
    for due in (date(2026, 3, 5), date(2026, 3, 10), TODAY, date(2026, 3, 18)):
        _case(world, assigned_to=officer, submitted=date(2026, 2, 2), due=due)
    _case(world, assigned_to=officer, submitted=date(2026, 2, 2), due=date(2026, 3, 19))
    _case(world, assigned_to=officer, submitted=date(2026, 2, 2), due=None)
    # Decided by the officer: 5 and 10 working days this month, 6 last month (the last
    # minute of February, local time), and one in January (not counted).
    _case(world, assigned_to=officer, submitted=date(2026, 2, 23), decided=_at(date(2026, 3, 2)))
    _case(world, assigned_to=officer, submitted=date(2026, 2, 23), decided=_at(date(2026, 3, 9)))
    _case(
        world,
        assigned_to=officer,
        submitted=date(2026, 2, 19),
        decided=_at(date(2026, 2, 27), 23, 59),
    )
    _case(world, assigned_to=officer, submitted=date(2026, 1, 5), decided=_at(date(2026, 1, 20)))
    # Someone else's and nobody's: never counted for the officer.
    _case(world, assigned_to=colleague, submitted=date(2026, 2, 2), due=date(2026, 3, 4))
    _case(world, assigned_to=colleague, submitted=date(2026, 3, 2), due=date(2026, 3, 12))
    _case(world, assigned_to=colleague, submitted=date(2026, 2, 2), decided=_at(date(2026, 3, 3)))
    _case(world, assigned_to=None, submitted=date(2026, 2, 2), due=date(2026, 3, 1))


def test_the_officers_workload_against_a_hand_count(world, cases, django_assert_num_queries):
    with django_assert_num_queries(2):
        found = officer_workload(user=world["officer"], today=TODAY)
    assert found.open == 6
    assert found.overdue == 2
    assert found.due_soon == 2
    assert found.due_soon_until == date(2026, 3, 18)
    assert found.decided_this_month == 2
    assert found.decided_last_month == 1
    assert found.median_days_to_decision == 6.0  # of 5, 10 and 6 working days
    assert (found.this_month, found.last_month) == (date(2026, 3, 1), date(2026, 2, 1))


def test_another_officer_counts_only_their_own(world, cases):
    found = officer_workload(user=world["colleague"], today=TODAY)
    assert (found.open, found.overdue, found.due_soon) == (2, 1, 1)
    assert (found.decided_this_month, found.decided_last_month) == (1, 0)
    assert found.median_days_to_decision == 21.0  # 2 February to 3 March


def test_an_officer_with_nothing_assigned(world):
    found = officer_workload(user=world["officer"], today=TODAY)
    assert (found.open, found.overdue, found.due_soon) == (0, 0, 0)
    assert (found.decided_this_month, found.decided_last_month) == (0, 0)
    assert found.median_days_to_decision is None


def _figures(html: str) -> dict[str, str]:
    return {
        name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", value)).strip()
        for name, value in re.findall(r'data-figure="(\w+)">(.*?)</dd>', html, re.S)
    }


def test_the_page_shows_the_officers_own_aggregates_only(client, world, cases):
    sign_in_official(client, world["officer"])
    with time_machine.travel(_at(TODAY, 12), tick=False):
        response = client.get(reverse("staff:insights_workload"))
    assert response.status_code == 200
    html = response.content.decode()
    shown = _figures(html)
    assert shown["open"] == "6"
    assert shown["overdue"] == "2"
    assert shown["due_soon"].startswith("2 ")
    assert "18 March 2026" in shown["due_soon"]
    assert shown["decided_this_month"] == "2"
    assert shown["decided_last_month"] == "1"
    assert shown["median"].startswith("6 working days")
    assert "Decided in March 2026" in html
    assert "Decided in February 2026" in html
    queue = reverse("staff:case_queue")
    assert f'href="{queue}?assigned=me"' in html
    assert f'href="{queue}?assigned=me&amp;due=overdue"' in html
    # Aggregates only: no resident, no case reference.
    assert "Priya" not in html
    assert "applicant@example.test" not in html
    assert "RIV-SHED" not in html


def test_a_half_day_median_is_written_with_its_decimal(client, world):
    officer = world["officer"]
    _case(world, assigned_to=officer, submitted=date(2026, 3, 2), decided=_at(date(2026, 3, 9)))
    _case(world, assigned_to=officer, submitted=date(2026, 3, 2), decided=_at(date(2026, 3, 10)))
    sign_in_official(client, officer)
    with time_machine.travel(_at(TODAY, 12), tick=False):
        html = client.get(reverse("staff:insights_workload")).content.decode()
    assert _figures(html)["median"].startswith("5.5 working days")  # 5 and 6


def test_residents_and_visitors_are_refused(client, world, cases):
    url = reverse("staff:insights_workload")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    client.force_login(world["applicant"])
    assert client.get(url).status_code == 403


def test_an_official_without_case_work_is_refused(client, world):
    auditor = _official(Role.AUDITOR, email="auditor.workload@example.test")
    sign_in_official(client, auditor)
    assert client.get(reverse("staff:insights_workload")).status_code == 403
