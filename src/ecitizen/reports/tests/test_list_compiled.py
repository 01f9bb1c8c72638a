"""The public reports list's first page and count are read through queries compiled per
shape of its filters (``reports.selectors.reports_first_page``): for each filter the
list offers, they find the rows, in the order and with the count, that the queryset
finds; other filters are left to the queryset."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ecitizen.reports import geo
from ecitizen.reports.selectors import ReportFilters, reports_filtered, reports_first_page

from .conftest import RIVERSIDE, thirty_reports

# The compiled SQL is compared on both databases.
pytestmark = pytest.mark.db_specific

COLUMNS = ("reference", "title", "category", "is_open", "requested_at", "latitude", "ward__name")
SIZE = 7


@pytest.fixture
def reports(wards):
    """Thirty public reports of two categories, open and closed, in two wards and none,
    near Riverside and in London; a hidden one and an unconfirmed one."""
    ward_list = [*wards.values()][:2]
    thirty_reports(timezone.now(), ward_list)
    return ward_list


def test_the_compiled_first_page_finds_what_the_queryset_finds(reports):
    riverside = geo.bbox_around(*RIVERSIDE, 500)
    filters_list = [
        ReportFilters(),
        ReportFilters(categories=["pothole"]),
        ReportFilters(categories=["no-such%_"]),  # LIKE's characters, taken as they are
        ReportFilters(is_open=True),
        ReportFilters(is_open=False, categories=["streetlight"]),
        ReportFilters(ward_id=reports[0].pk),
        ReportFilters(ward_id=0),  # a ward the list does not know
        ReportFilters(bbox=riverside),
        ReportFilters(bbox=riverside, is_open=True, ward_id=reports[1].pk),
    ]
    totals = []
    for filters in filters_list:
        read = reports_first_page(filters, columns=COLUMNS, size=SIZE)
        assert read is not None, filters
        found = read()
        queryset = reports_filtered(filters).values_list(*COLUMNS)
        assert list(found) == list(queryset[:SIZE]), filters
        assert found.total == queryset.count(), filters
        totals.append(found.total)
    assert totals[0] == 28  # not the hidden one, nor the unconfirmed one
    assert 0 in totals
    assert len(set(totals)) > 5


def test_other_filters_are_left_to_the_queryset(reports):
    for filters in (
        ReportFilters(categories=["pothole", "streetlight"]),
        ReportFilters(states=["received"]),
        ReportFilters(references=["RIV-REP-2026-000001"]),
        ReportFilters(requested_from=timezone.now()),
        ReportFilters(updated_after=timezone.now()),
    ):
        assert reports_first_page(filters, columns=COLUMNS, size=SIZE) is None, filters


def test_nothing_is_read_before_the_reader_is_called(reports, django_assert_num_queries):
    with django_assert_num_queries(0):
        read = reports_first_page(ReportFilters(), columns=COLUMNS, size=SIZE)
    with django_assert_num_queries(2):  # the page, full: then its count
        assert read is not None
        assert len(read()) == SIZE
    with django_assert_num_queries(1):  # a short page is its own count
        read = reports_first_page(ReportFilters(ward_id=0), columns=COLUMNS, size=SIZE)
        assert read is not None
        assert read().total == 0
