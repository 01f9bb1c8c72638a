"""The payments' hot pages (bench/pages.py) read a fixed number of queries: "your bills" the
same exact number with one bill as with five (no query per bill)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import business_with

# Query counts are compared on both databases.
pytestmark = pytest.mark.db_specific


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response


def test_your_bills_reads_a_fixed_number_of_queries_whatever_the_number_of_bills(
    client, resident, make_bill, quarterly, other_department, django_assert_num_queries
):
    make_bill()
    client.force_login(resident)
    url = reverse("payments:bills")
    _get(client, url)  # the session and caches warmed
    # The session, the user, the unread inbox count, the bills.
    with django_assert_num_queries(4):
        _get(client, url)
    make_bill(instalments=quarterly, amount_minor=100_001)
    make_bill(amount_minor=2_000)
    make_bill(amount_minor=3_000)
    business_with(resident, other_department)  # a bill of another department
    with django_assert_num_queries(4):
        page = _get(client, url).content.decode()
    assert "TST-000004" in page


def test_pay_by_reference_reads_a_fixed_number_of_queries(
    client, make_bill, django_assert_num_queries
):
    make_bill(payer=None, postcode="RV1 1AA")
    url = reverse("payments:pay_by_reference")
    _get(client, url)  # caches warmed
    with django_assert_num_queries(0):  # a form: nothing read until it is sent
        _get(client, url)


def test_your_bills_come_a_page_at_a_time_what_is_owed_first(client, resident, make_bill):
    """Twenty bills a page: first those with something to pay, the earliest due first
    and then the oldest first; then the others, newest first. The first page's rows
    (compiled) are the ORM's, and the next page holds the rest."""
    from datetime import timedelta

    from django.db.models import F

    from ecitizen.payments.models import Bill
    from ecitizen.payments.selectors import (
        BILLS_PAGE_SIZE,
        bills_listed_first_page,
        bills_listed_for_payer,
    )

    owed = [make_bill() for _ in range(BILLS_PAGE_SIZE + 1)]
    paid_old, paid_new = make_bill(), make_bill()
    Bill.objects.filter(pk__in=[paid_old.pk, paid_new.pk]).update(paid_minor=F("total_minor"))
    due_soon = owed[-1]
    Bill.objects.filter(pk=due_soon.pk).update(due_date=due_soon.due_date - timedelta(days=7))
    expected = [due_soon, *owed[:-1], paid_new, paid_old]
    assert list(bills_listed_for_payer(user=resident)) == expected
    # The first page compiled: the same rows in the same order, with their departments.
    first_rows = bills_listed_first_page(user=resident)
    assert first_rows == expected[:BILLS_PAGE_SIZE]
    assert [bill.department.slug for bill in first_rows] == [
        bill.department.slug for bill in expected[:BILLS_PAGE_SIZE]
    ]

    client.force_login(resident)
    url = reverse("payments:bills")
    first = _get(client, url).content.decode()
    references = [bill.reference for bill in expected]
    assert [ref for ref in references if ref in first] == references[:BILLS_PAGE_SIZE]
    assert "Page 1 of 2" in first
    assert 'href="?page=2" rel="next"' in first
    second = _get(client, url + "?page=2").content.decode()
    assert [ref for ref in references if ref in second] == references[BILLS_PAGE_SIZE:]
    assert 'href="?page=1" rel="prev"' in second
