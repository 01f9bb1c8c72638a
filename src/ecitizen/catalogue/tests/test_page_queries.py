"""The catalogue's hot pages (bench/pages.py) read a fixed number of queries: the same exact
number with two services published as with six (no query per service)."""

from __future__ import annotations

import shutil

import pytest
from django.urls import reverse

from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.demo import riverton
from ecitizen.demo.riverton import DEFINITIONS_DIR

# The catalogue search is full text: SQLite's FTS5 or PostgreSQL's tsvector.
pytestmark = pytest.mark.db_specific

FIRST = ["building-permit.yaml", "freedom-of-information.yaml"]
MORE = [
    "residents-parking-permit.yaml",
    "trading-licence.yaml",
    "birth-certificate-copy.yaml",
    "renew-driving-licence.yaml",
]


@pytest.fixture
def publish(tmp_path, db):
    """Publish some of Riverton's services (their departments exist)."""
    for slug, name in riverton.DEPARTMENTS:
        department_ensure(slug=slug, name=name, email="", actor=None)

    def publish(names: list[str]) -> None:
        for name in names:
            shutil.copy(DEFINITIONS_DIR / name, tmp_path / name)
        service_definitions_publish(directory=tmp_path, actor=None)

    return publish


def _get(client, url, **query):
    response = client.get(url, query)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    ("url_name", "args", "query", "queries"),
    [
        # The services with their departments and versions.
        pytest.param("catalogue:list", [], {}, 1, id="catalogue"),
        # The full-text match, then the services (among which those found).
        pytest.param("catalogue:search", [], {"q": "permit"}, 2, id="search"),
        # The service with its department and version.
        pytest.param("catalogue:start", ["building-permit"], {}, 1, id="start-page"),
    ],
)
def test_the_catalogue_reads_a_fixed_number_of_queries_whatever_the_number_of_services(
    client, publish, url_name, args, query, queries, django_assert_num_queries
):
    publish(FIRST)
    url = reverse(url_name, args=args)
    _get(client, url, **query)  # caches warmed
    with django_assert_num_queries(queries):
        _get(client, url, **query)
    publish(MORE)
    if url_name != "catalogue:start":
        # The new versions' definitions, all four in one query, the first time they
        # are listed in this process (then kept by their checksum); the start page
        # reads only its own service's, kept already.
        with django_assert_num_queries(queries + 1):
            _get(client, url, **query)
    with django_assert_num_queries(queries):
        page = _get(client, url, **query).content.decode()
    if url_name != "catalogue:start":
        assert reverse("catalogue:start", args=["residents-parking-permit"]) in page
