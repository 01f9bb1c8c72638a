"""The hot pages of the cases app (bench/pages.py) read a fixed number of queries: the same
exact number with a few items as with more of them (no query per item)."""

from __future__ import annotations

import shutil

import pytest
from django.urls import reverse

from ecitizen.cases import services
from ecitizen.cases.models import Case
from ecitizen.catalogue.services import service_definitions_publish
from tests.factories import DepartmentFactory
from tests.personas import sign_in_official

from .conftest import DEMO
from .support import pdf_file, submit_shed
from .test_applications_page import _cases
from .test_queue import _bulk_cases

# Query counts are compared on both databases.
pytestmark = pytest.mark.db_specific


def _get(client, url, **query):
    response = client.get(url, query)
    assert response.status_code == 200
    return response


def test_the_home_page_reads_a_fixed_number_of_queries_whatever_the_number_of_services(
    client, published, tmp_path, django_assert_num_queries
):
    url = reverse("core:home")
    _get(client, url)  # the ranking of popular services is computed, then cached
    # A visitor: the cached ranking and the services with their departments.
    with django_assert_num_queries(2):
        _get(client, url)

    for slug, name in [
        ("transport-licensing", "Transport & Licensing"),
        ("civil-registry", "Civil Registry"),
        ("planning-building", "Planning & Building"),
    ]:
        DepartmentFactory(slug=slug, name=name)
    for name in [
        "residents-parking-permit.yaml",
        "trading-licence.yaml",
        "birth-certificate-copy.yaml",
        "building-permit.yaml",
    ]:
        shutil.copy(DEMO / name, tmp_path / name)
    service_definitions_publish(directory=tmp_path, actor=None)
    _get(client, url)
    with django_assert_num_queries(2):
        _get(client, url)


def test_your_applications_reads_a_fixed_number_of_queries_whatever_the_number_of_cases(
    client, shed, garden, resident, django_assert_num_queries
):
    client.force_login(resident)
    url = reverse("cases:applications")
    _cases(shed, resident, 1)
    _get(client, url)  # the session and caches warmed
    # The session, the user, their cases and those made for them (each list shorter than
    # a page: counted as read, no count query), their drafts, the unread inbox count.
    with django_assert_num_queries(6):
        _get(client, url)
    _cases(shed, resident, 2, start=1)
    _cases(garden, resident, 2, start=3)
    with django_assert_num_queries(6):
        page = _get(client, url)
    assert "RIV-SP-2026-000004" in page.content.decode()


def _exchange(case: Case, number: int, *, officer, applicant) -> Case:
    """The officer asks for more information and the applicant replies with a file: two
    more events on the timeline, one more file. Returns the case as it is then."""
    case = services.case_transition(
        case=case,
        action_id="request_info",
        actor=officer,
        given=services.ActionInput(text=f"Question {number}"),
    )
    return services.case_transition(
        case=case,
        action_id="reply",
        actor=applicant,
        given=services.ActionInput(text=f"Answer {number}", files=[pdf_file(f"{number}.pdf")]),
    )


def test_an_application_reads_a_fixed_number_of_queries_whatever_its_history(
    client, shed, resident, works_officer, django_assert_num_queries
):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)

    def exchange(number: int) -> None:
        nonlocal case
        case = _exchange(case, number, officer=works_officer, applicant=resident)

    exchange(1)
    client.force_login(resident)
    url = reverse("cases:case_detail", args=[case.reference])
    _get(client, url)  # the session and caches warmed
    # The session, the user, the case, their issued documents, the events, the case's
    # files (the events' and the answers') with their uploads, the unread inbox count.
    with django_assert_num_queries(7):
        _get(client, url)
    for number in range(2, 6):
        exchange(number)
    with django_assert_num_queries(7):
        page = _get(client, url)
    assert "Answer 5" in page.content.decode()


def test_an_application_of_a_service_that_asks_for_no_file_reads_no_files_of_answers(
    client, garden, resident, django_assert_num_queries
):
    _cases(garden, resident, 1)
    case = Case.objects.get()
    client.force_login(resident)
    url = reverse("cases:case_detail", args=[case.reference])
    _get(client, url)
    # The session, the user, the case, their issued documents, the events (none yet: no
    # query for their files), the unread inbox count; not the files of the answers, since
    # the garden waste collection asks for no file.
    with django_assert_num_queries(6) as captured:
        page = _get(client, url)
    assert not any("upload" in query["sql"] for query in captured.captured_queries)
    assert case.reference in page.content.decode()


def test_the_officers_queue_reads_a_fixed_number_of_queries_whatever_the_number_of_cases(
    client, shed, garden, works_officer, django_assert_num_queries
):
    sign_in_official(client, works_officer)
    url = reverse("staff:case_queue")
    _bulk_cases(shed, 1)
    _get(client, url)  # the session and caches warmed
    # The session, the user, their roles, their second factor, the services, the page of
    # cases (shorter than a page: counted as read, no count query), the unread inbox
    # count, the wards (the filters).
    with django_assert_num_queries(8):
        _get(client, url)
    _bulk_cases(shed, 2, start=1)
    _bulk_cases(garden, 2, start=3)
    Case.objects.filter(reference__in=["RIV-SP-2026-000001", "RIV-SP-2026-000003"]).update(
        assigned_to=works_officer
    )
    with django_assert_num_queries(8):
        page = _get(client, url)
    assert "RIV-SP-2026-000004" in page.content.decode()


def test_the_officers_case_page_reads_a_fixed_number_of_queries_whatever_its_history(
    client, shed, resident, works_officer
):
    """The case, its events, its files (of the events and the answers), the applicant's
    profile and documents, the audit record of the view: the same queries with two events
    as with ten. Not the panels' (complaint, street report): the case is neither's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    sign_in_official(client, works_officer)
    url = reverse("staff:case_detail", args=[case.reference])
    _get(client, url)  # the session and caches warmed

    def counted() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            _get(client, url)
        return [query["sql"] for query in captured.captured_queries]

    few = counted()
    for number in range(4):
        case = _exchange(case, number, officer=works_officer, applicant=resident)
    many = counted()
    assert len(many) == len(few)
    # 15 queries, and the audit record's savepoint opened and released (within the test's
    # transaction, on both databases).
    assert len(few) == 17, few
