"""The queue's first page is read through a query compiled per shape of the official's
remit and set of filters (``cases.selectors.queue_first_page``): for each kind of
official and each filter, it finds exactly the cases, in the order and with the count,
that the queue's queryset finds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ecitizen.accounts.models import Role
from ecitizen.accounts.selectors import user_role_assignments
from ecitizen.cases.models import Case
from ecitizen.cases.presentation import QUEUE_ROW_COLUMNS as COLUMNS
from ecitizen.cases.presentation import QueueRow
from ecitizen.cases.selectors import QueueFilters, case_queue, queue_first_page
from tests.factories import DepartmentFactory, JurisdictionFactory, UserFactory
from tests.personas import official_with

# The compiled SQL is compared on both databases.
pytestmark = pytest.mark.db_specific

SIZE = 7


@pytest.fixture
def cases(shed, works):
    """Forty cases of two departments, two wards and none, in three states, some
    closed, some assigned, falling due over six weeks."""
    revenue = DepartmentFactory(slug="revenue")
    north, south = JurisdictionFactory(code="north"), JurisdictionFactory(code="south")
    applicants = [UserFactory(email=f"compiled{i}@example.test") for i in range(3)]
    today = timezone.localdate()
    Case.objects.bulk_create(
        [
            Case(
                reference=f"RIV-SP-2026-{i:06d}",
                service=shed,
                service_version=shed.current_version,
                department=[works, revenue][i % 2],
                ward=[north, south, None][i % 3],
                applicant=applicants[i % 3],
                submitted_by=applicants[i % 3],
                assigned_to=applicants[0] if i % 5 == 0 else None,
                state=["submitted", "first_review", "info_needed"][i % 3],
                outcome="approved" if i % 7 == 0 else "",
                submitted_at=timezone.now() - timedelta(days=i % 11),
                due_date=None if i % 9 == 0 else today + timedelta(days=(i % 40) - 14),
                answers_json="{}",
            )
            for i in range(40)
        ]
    )
    return {"revenue": revenue, "works": works, "north": north, "south": south}


FILTERS = [
    QueueFilters(),
    QueueFilters(state="first_review"),
    QueueFilters(state="no-such-state%_"),  # LIKE's characters, taken as they are
    QueueFilters(service="shed-permit", sort="-due_date"),
    QueueFilters(ward="north", sort="reference"),
    QueueFilters(ward="nowhere"),
    QueueFilters(due="overdue", sort="submitted"),
    QueueFilters(due="week", include_closed=True, sort="-submitted"),
    QueueFilters(assigned="none", include_closed=True),
    QueueFilters(due="someday", sort="no-such-sort"),  # unknown: no filter, the default order
    QueueFilters(state="submitted", ward="south", due="overdue", include_closed=True),
]


def test_the_compiled_first_page_finds_what_the_queue_finds(cases):
    officials = [
        official_with((Role.CASE_OFFICER, cases["works"], None)),
        official_with((Role.CASE_OFFICER, cases["works"], cases["north"])),
        official_with(
            (Role.CASE_OFFICER, cases["works"], cases["north"]),
            (Role.SUPERVISOR, cases["revenue"], None),
        ),
        official_with((Role.PLATFORM_ADMIN, None, None)),
        official_with((Role.PLATFORM_ADMIN, None, cases["south"])),
    ]
    # The officials are assigned cases too (assigned to me).
    Case.objects.filter(reference__endswith="3").update(assigned_to=officials[2])
    filters_and_mine = [*FILTERS, QueueFilters(assigned="me", include_closed=True)]
    totals = []
    for official in officials:
        for filters in filters_and_mine:
            queryset = case_queue(user=official, filters=filters)
            compiled = queue_first_page(user=official, filters=filters, columns=COLUMNS, size=SIZE)
            expected = list(queryset.values_list(*COLUMNS)[:SIZE])
            # The same rows in the same order, every value read as the ORM reads it (the
            # applicant's and the assignee's names decrypted, the ward's names decoded).
            assert [QueueRow._make(row) for row in compiled] == [
                QueueRow._make(row) for row in expected
            ], (official.pk, filters)
            assert compiled.total == queryset.count(), (official.pk, filters)
            totals.append(compiled.total)
    # Not all empty, not all full: the shapes and filters do choose.
    assert 0 in totals
    assert max(totals) > SIZE
    assert len(set(totals)) > 5


def test_no_remit_reads_nothing(cases, django_assert_num_queries):
    helper = official_with((Role.INTERMEDIARY, None, None))  # helps residents; works no case
    user_role_assignments(helper)  # as every official's request reads them
    with django_assert_num_queries(0):
        found = queue_first_page(user=helper, filters=QueueFilters(), columns=COLUMNS, size=SIZE)
    assert (list(found), found.total) == ([], 0)


def test_the_actionable_filter_is_left_to_the_queryset(cases):
    official = official_with((Role.CASE_OFFICER, cases["works"], None))
    with pytest.raises(ValueError, match="actionable"):
        queue_first_page(
            user=official, filters=QueueFilters(actionable=True), columns=COLUMNS, size=SIZE
        )
