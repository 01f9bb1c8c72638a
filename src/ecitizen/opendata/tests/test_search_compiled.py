"""A listing of public datasets chosen by facets only (the search page as it opens and
as its filters narrow it) is read through queries compiled per shape
(``opendata.selectors._compiled_listing``): for each such query it finds the datasets,
order, count, formats and facet counts that the ORM's path finds."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest

from ecitizen.opendata import selectors, services
from ecitizen.opendata.selectors import SearchQuery, dataset_search

from .test_public_pages import _create, _published

# The compiled SQL is compared on both databases.
pytestmark = pytest.mark.db_specific

FACETS = ("organization", "groups", "tags", "res_format", "license_id")


@pytest.fixture
def catalogue(department, other_department):
    _published(department, "bin-collections", keywords="waste, bins")
    _published(department, "street-trees", keywords="trees", themes=["ENVI", "REGI"])
    _published(other_department, "planning-applications", fmt="GeoJSON", themes=["REGI"])
    _published(other_department, "parking-fines", keywords="parking, waste")
    _published(department, "air-quality", fmt="GeoJSON", keywords="air")
    withdrawn = _published(department, "old-survey", keywords="waste")
    services.dataset_withdraw(actor=None, dataset=withdrawn, reason="Superseded.")
    _create(department, "draft-plan", keywords="waste")  # a draft: never listed
    _published(department, "staff-rota", keywords="waste", private="true")
    return department, other_department


def _found(query: SearchQuery) -> tuple:
    result = dataset_search(user=None, query=dataclasses.replace(query))
    return (
        result.count,
        [dataset.name for dataset in result.datasets],
        {str(key): value for key, value in result.formats.items()},
        result.facets,
        [dataset.department.name for dataset in result.datasets],
    )


def test_the_compiled_listing_finds_what_the_orm_finds(catalogue):
    _department, other = catalogue
    listing = SearchQuery(listing=True, rows=3, facet_fields=FACETS)
    queries = [
        listing,
        dataclasses.replace(listing, start=3),
        dataclasses.replace(listing, start=30),  # past the last page: counted apart
        dataclasses.replace(listing, sort="name asc"),
        dataclasses.replace(listing, sort="title_string desc, metadata_created asc"),
        dataclasses.replace(listing, terms=[("tags", "waste")]),
        dataclasses.replace(listing, terms=[("tags", "waste")], include_withdrawn=True),
        dataclasses.replace(listing, terms=[("organization", other.slug), ("res_format", "PDF")]),
        dataclasses.replace(listing, terms=[("tags", "wa%_")]),  # LIKE's characters, as typed
        dataclasses.replace(listing, terms=[("res_format", "GeoJSON")], rows=10, facet_fields=()),
    ]
    seen = []
    for query in queries:
        assert selectors._compiled_listing(query) is not None, query
        compiled = _found(query)
        with mock.patch.object(selectors, "_compiled_listing", return_value=None):
            expected = _found(query)
        assert compiled == expected, query
        seen.append(compiled[0])
    assert seen == [5, 5, 5, 5, 5, 2, 3, 1, 0, 2]


def test_other_searches_are_left_to_the_orm(catalogue):
    listing = SearchQuery(listing=True, rows=3)
    for query in (
        dataclasses.replace(listing, q="waste"),
        dataclasses.replace(listing, include_private=True),
        dataclasses.replace(listing, include_drafts=True),
        dataclasses.replace(listing, names=["bin-collections"]),
        SearchQuery(rows=3),  # the API's whole datasets, with their resources
    ):
        assert selectors._compiled_listing(query) is None, query


def test_an_unknown_sort_is_refused_as_before(catalogue):
    with pytest.raises(selectors.SearchInvalid):
        dataset_search(user=None, query=SearchQuery(listing=True, sort="colour asc"))
