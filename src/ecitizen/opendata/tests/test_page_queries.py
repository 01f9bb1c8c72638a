"""The open data search (bench/pages.py) reads a fixed number of queries: the same exact
number with one dataset as with five (no query per dataset)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .test_public_pages import _published

# Query counts are compared on both databases.
pytestmark = pytest.mark.db_specific


def test_the_open_data_search_reads_a_fixed_number_of_queries_whatever_the_number_of_datasets(
    client, department, other_department, django_assert_num_queries
):
    _published(department, "bin-collections", keywords="waste")
    url = reverse("opendata:search")
    client.get(url)  # caches warmed
    # The page of datasets, their resources, the facet counts, the departments.
    with django_assert_num_queries(4):
        assert client.get(url).status_code == 200
    _published(other_department, "planning-applications", fmt="GeoJSON", themes=["REGI"])
    for name in ("street-trees", "air-quality", "parking-fines"):
        _published(department, name)
    with django_assert_num_queries(4):
        page = client.get(url)
    assert "Parking fines" in page.content.decode()
