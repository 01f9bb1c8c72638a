"""The street reports list (bench/pages.py) reads a fixed number of queries: the same exact
number with one report as with five (no query per report)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .conftest import RIVERSIDE_20M, jpeg_with_gps
from .test_views import _report

# Query counts are compared on both databases.
pytestmark = pytest.mark.db_specific


def test_the_street_reports_read_a_fixed_number_of_queries_whatever_the_number_of_reports(
    client, pothole, resident, second_resident, django_assert_num_queries
):
    _report(resident, title="Report 0")
    url = reverse("reports:list")
    client.get(url)  # caches warmed
    # The categories (services) and the page of reports (shorter than a page: its own
    # count; a full page is counted by one more query).
    with django_assert_num_queries(2):
        assert client.get(url).status_code == 200
    _report(second_resident, RIVERSIDE_20M, title="Report 1", photos=[jpeg_with_gps()])
    for number in range(2, 5):
        _report(resident, title=f"Report {number}")
    with django_assert_num_queries(2):
        page = client.get(url)
    assert "Report 4" in page.content.decode()
