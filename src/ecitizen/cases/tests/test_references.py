"""Case references: one number per case, counted up per service code and year, none
skipped or given twice, also when applications are sent at the same instant; and what
sending an application reads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ecitizen.cases import services
from ecitizen.cases.models import Case, CaseFile, Draft, ReferenceCounter
from tests.concurrency import run_together
from tests.factories import UserFactory

from .support import submit_shed

GARDEN_ANSWERS = {"lives_in_riverton": True, "bin_count": 1, "collection_address": "1 Mill Lane"}


def _garden_draft(garden, applicant) -> Draft:
    draft = services.draft_start(service=garden, applicant=applicant, actor=applicant)
    return services.draft_save_answers(draft=draft, values=GARDEN_ANSWERS, actor=applicant)


def test_a_counter_carries_on_from_its_last_number(shed, resident, second_resident):
    year = timezone.localdate().year
    ReferenceCounter.objects.create(code="SP", year=year, last=41)
    ReferenceCounter.objects.create(code="SP", year=year - 1, last=900)  # another year's
    first = submit_shed(shed, resident)
    second = submit_shed(shed, second_resident)
    assert first.reference == f"RIV-SP-{year}-000042"
    assert second.reference == f"RIV-SP-{year}-000043"
    assert ReferenceCounter.objects.get(code="SP", year=year).last == 43
    assert ReferenceCounter.objects.get(code="SP", year=year - 1).last == 900


def test_a_year_s_first_case_starts_its_counter(garden, resident):
    year = timezone.localdate().year
    assert not ReferenceCounter.objects.filter(code="GWC").exists()
    case = services.draft_submit(draft=_garden_draft(garden, resident), actor=resident)
    assert case.reference == f"RIV-GWC-{year}-000001"
    assert ReferenceCounter.objects.get(code="GWC", year=year).last == 1


def test_an_application_without_files_does_not_read_the_draft_s_files(garden, resident):
    draft = _garden_draft(garden, resident)
    with CaptureQueriesContext(connection) as queries:
        case = services.draft_submit(draft=draft, actor=resident)
    assert not [query for query in queries if "cases_draftfile" in query["sql"]]
    assert not CaseFile.objects.filter(case=case).exists()


def test_an_application_s_files_become_the_case_s(shed, resident):
    case = submit_shed(shed, resident)
    assert CaseFile.objects.filter(case=case, question="plan_files").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.db_specific
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)
@pytest.mark.parametrize("counter_exists", [False, True], ids=["first-of-year", "counting"])
def test_applications_sent_at_once_get_consecutive_numbers(garden, counter_exists):
    year = timezone.localdate().year
    if counter_exists:
        ReferenceCounter.objects.create(code="GWC", year=year, last=7)
    applicants = [UserFactory() for _ in range(6)]
    drafts = [_garden_draft(garden, applicant) for applicant in applicants]

    errors = run_together(
        lambda n: services.draft_submit(draft=drafts[n], actor=applicants[n]), len(drafts)
    )

    assert not errors
    start = 7 if counter_exists else 0
    references = sorted(Case.objects.values_list("reference", flat=True))
    assert references == [f"RIV-GWC-{year}-{number:06d}" for number in range(start + 1, start + 7)]
    assert ReferenceCounter.objects.get(code="GWC", year=year).last == start + 6
