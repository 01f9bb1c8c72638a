"""Freedom of information: the legal deadline in working days, and the public archive
of released records."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from ecitizen.accounts.models import Role
from ecitizen.accounts.services import department_ensure
from ecitizen.cases import services
from ecitizen.catalogue.models import Service
from ecitizen.demo import riverton
from ecitizen.demo.cases import demo_services_publish
from tests.personas import _official

from .support import pdf_file


@pytest.fixture
def foi(db):
    for slug, name in riverton.DEPARTMENTS:
        department_ensure(slug=slug, name=name, email="", actor=None)
    demo_services_publish()
    return Service.objects.get(slug="freedom-of-information")


@pytest.fixture
def foi_officer(foi):
    return _official(Role.CASE_OFFICER, foi.department, email="foi@example.test")


def _request(foi, resident):
    draft = services.draft_start(service=foi, applicant=resident, actor=resident)
    answers = {
        "requester_name": "Alex Morgan",
        "information": "All contracts for street lighting since 2024.",
        "format": "electronic",
        "reply_by_email": True,
        "email": "resident@example.test",
    }
    services.draft_save_answers(draft=draft, values=answers, actor=resident)
    return services.draft_submit(draft=draft, actor=resident)


def _release(case, officer, *, publish: bool, name: str):
    for action in ("start_search", "send_to_review"):
        case = services.case_transition(case=case, action_id=action, actor=officer)
    return services.case_transition(
        case=case,
        action_id="release",
        actor=officer,
        given=services.ActionInput(files=[pdf_file(name)], publish=publish),
    )


def test_the_deadline_is_20_working_days_with_holidays(foi, resident):
    with time_machine.travel("2026-12-01 10:00 +00:00", tick=False):
        case = _request(foi, resident)
    # 2 December ... 31 December, skipping weekends, Christmas and Boxing Day (observed).
    assert case.due_date == date(2026, 12, 31)


def test_released_records_are_published_unless_held_back(client, foi, resident, foi_officer):
    published = _release(_request(foi, resident), foi_officer, publish=True, name="contracts.pdf")
    kept = _release(_request(foi, resident), foi_officer, publish=False, name="personal.pdf")
    assert published.outcome == "approved"
    page = client.get(reverse("cases:records")).content.decode()
    assert "contracts.pdf" in page
    assert "personal.pdf" not in page
    record = published.files.get(published=True)
    response = client.get(reverse("cases:record_file", args=[record.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    private = kept.files.get()
    assert client.get(reverse("cases:record_file", args=[private.pk])).status_code == 404
