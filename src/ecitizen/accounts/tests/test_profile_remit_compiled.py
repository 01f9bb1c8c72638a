"""The audited profile reads one profile through a query compiled per shape of the
official's remits (``accounts.selectors._profile_for_staff``): it finds exactly the
profiles the remit's queryset finds, for each shape (a department, a ward of it, two
assignments, the whole authority)."""

from __future__ import annotations

import pytest

from ecitizen.accounts import services
from ecitizen.accounts.models import Role
from ecitizen.accounts.selectors import _profile_for_staff, _profiles_for_staff
from tests.factories import DepartmentFactory, JurisdictionFactory, UserFactory, business_with
from tests.personas import official_with

# The compiled SQL is compared on both databases.
pytestmark = pytest.mark.db_specific


def test_the_compiled_profile_query_finds_what_the_remit_finds(db):
    revenue, works = DepartmentFactory(slug="revenue"), DepartmentFactory(slug="works")
    north, south = JurisdictionFactory(code="north"), JurisdictionFactory(code="south")
    residents = []
    for number, (department, ward) in enumerate(
        [(revenue, north), (revenue, south), (works, north), (works, south), (None, north)]
    ):
        resident = UserFactory(email=f"remit{number}@example.test")
        services.profile_update(user=resident, data={"ward": ward}, actor=resident)
        if department is not None:
            business_with(resident, department)
        residents.append(resident)
    officials = [
        official_with((Role.CASE_OFFICER, revenue, None)),
        official_with((Role.CASE_OFFICER, revenue, north)),
        official_with((Role.CASE_OFFICER, revenue, north), (Role.SUPERVISOR, works, None)),
        official_with((Role.PLATFORM_ADMIN, None, None)),
        official_with((Role.DEPARTMENT_ADMIN, revenue, None)),  # no residents' data
    ]
    seen = []
    for official in officials:
        for resident in residents:
            profile_id = resident.profile.pk
            expected = _profiles_for_staff(official).filter(pk=profile_id).first()
            assert _profile_for_staff(official, profile_id) == expected
            seen.append(expected is not None)
    assert seen == [
        *(True, True, False, False, False),
        *(True, False, False, False, False),
        *(True, False, True, True, False),
        *(True, True, True, True, True),
        *(False, False, False, False, False),
    ]
