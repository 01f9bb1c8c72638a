"""Service definitions kept by checksum in each process (catalogue.selectors): the least
recently used is the one forgotten when the memory is full, not all of them."""

from __future__ import annotations

import pytest

from ecitizen.catalogue import selectors
from ecitizen.catalogue.models import ServiceVersion

pytestmark = pytest.mark.django_db


def test_the_least_recently_used_definition_is_forgotten_first(
    published, riverton, monkeypatch, django_assert_num_queries
):
    versions = list(ServiceVersion.objects.order_by("pk"))
    assert len({version.checksum for version in versions}) >= 3
    first, second, third = (version.checksum for version in versions[:3])
    monkeypatch.setattr(selectors, "_DEFINITIONS_LIMIT", 2)
    selectors.definitions_forget()

    with django_assert_num_queries(1):
        specs = selectors.version_specs([first, second])
    assert specs[first].definition == versions[0].definition
    with django_assert_num_queries(0):
        selectors.version_specs([first])  # now the most recently used
    with django_assert_num_queries(1):
        selectors.version_specs([third])  # the memory is full: the second goes
    with django_assert_num_queries(0):
        assert selectors.version_specs([first, third])[third].definition == (versions[2].definition)
    with django_assert_num_queries(1):
        selectors.version_specs([second])
