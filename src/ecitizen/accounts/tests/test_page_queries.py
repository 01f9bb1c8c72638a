"""The accounts' hot pages (bench/pages.py) read a fixed number of queries: the same exact
number with one item (an official's look at a resident's data, a resident in the remit) as
with five (no query per item)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from ecitizen.accounts import services
from ecitizen.accounts.selectors import resident_profile_view_for_staff
from tests.factories import UserFactory, business_with
from tests.personas import sign_in_official

# Query counts are compared on both databases; the staff pages append to the audit trail.
pytestmark = pytest.mark.db_specific


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response


def _residents_with_business(department, count: int, *, start: int = 0) -> list:
    """Residents with a national identity number and business with ``department``."""
    people = []
    for number in range(start, start + count):
        user = UserFactory(email=f"r{number}@example.test")
        services.profile_update(
            user=user,
            data={
                "national_id": f"RV{10001234 + number:08d}",
                "date_of_birth": datetime.date(1980, 1, 1 + number),
            },
            actor=user,
        )
        business_with(user, department)
        people.append(user)
    return people


def test_the_sign_in_page_reads_a_fixed_number_of_queries(client, db, django_assert_num_queries):
    url = reverse("account_login")
    _get(client, url)  # caches warmed
    with django_assert_num_queries(0):  # a form: nothing read until it is sent
        _get(client, url)


def test_your_account_reads_a_fixed_number_of_queries(client, resident, django_assert_num_queries):
    client.force_login(resident)
    url = reverse("accounts:home")
    _get(client, url)  # the session and caches warmed
    # The session, the user, their identity verification, their profile, whether they have
    # a second factor, the unread inbox count.
    with django_assert_num_queries(6):
        _get(client, url)


def test_the_data_tracker_reads_a_fixed_number_of_queries_whatever_the_number_of_looks(
    client, resident, department, case_officer, supervisor, django_assert_num_queries
):
    business_with(resident, department)
    profile_id = resident.profile.pk

    def looked_at_by(official) -> None:
        resident_profile_view_for_staff(profile_id=profile_id, actor=official, ip_address=None)

    looked_at_by(case_officer)
    client.force_login(resident)
    url = reverse("accounts:data_tracker")
    _get(client, url)  # the session and caches warmed
    # The session, the user, the unread inbox count, the audit events.
    with django_assert_num_queries(4):
        _get(client, url)
    for official in (supervisor, case_officer, supervisor, case_officer):
        looked_at_by(official)
    with django_assert_num_queries(4):
        page = _get(client, url).content.decode()
    assert page.count("Opened your details") == 5


def test_a_search_by_national_id_reads_a_fixed_number_of_queries_whatever_the_residents(
    client, department, case_officer, django_assert_num_queries
):
    _residents_with_business(department, 1)
    sign_in_official(client, case_officer)
    url = reverse("staff:residents")

    def search(national_id: str) -> str:
        response = client.post(url, {"national_id": national_id})
        assert response.status_code == 200
        return response.content.decode()

    search("RV10001234")  # the session, caches and the official's audit key warmed
    # The session, the user, their roles, their second factor, the profile by its blind
    # index, the audit event (a savepoint, the chain head, the official's audit key, the
    # event, the new head, its checkpoint, the release), the unread inbox count.
    with django_assert_num_queries(13):
        search("RV10001234")
    _residents_with_business(department, 4, start=1)
    with django_assert_num_queries(13):
        page = search("RV10001238")
    assert "r4@example.test" in page


def test_a_resident_profile_reads_a_fixed_number_of_queries_whatever_the_number_of_residents(
    client, department, case_officer, django_assert_num_queries
):
    (resident,) = _residents_with_business(department, 1)
    sign_in_official(client, case_officer)
    url = reverse("staff:resident_detail", args=[resident.profile.pk])
    _get(client, url)  # the session, caches and the official's audit key warmed
    # As the search: the profile by its id instead of its blind index.
    with django_assert_num_queries(13):
        _get(client, url)
    _residents_with_business(department, 4, start=1)
    with django_assert_num_queries(13):
        _get(client, url)
