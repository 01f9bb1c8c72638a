""" "Your property tax" and the finance pages of assessment runs."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from ecitizen.payments.models import Bill
from ecitizen.payments.services import payment_record_offline
from ecitizen.taxes import services
from ecitizen.taxes.tests.support import POUND, make_property, owner
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db

OVERVIEW = "/account/property-tax/"
NOVEMBER = "2026-11-28 10:00 +00:00"


@pytest.fixture
def roll(year_2026, wards, resident, second_resident):
    """Alex owns a home (two instalments paid) and half a flat whose bill goes to the
    other owner, Yasmin."""
    with time_machine.travel("2026-03-20 10:00 +00:00", tick=False):
        home = make_property(
            "RV000501", wards[0], owners=[owner(resident, name="Alex Morgan", occupier=True)]
        )
        flat = make_property(
            "RV000502",
            wards[1],
            value_pounds=150_000,
            owners=[
                owner(second_resident, name="Yasmin Farouk", share="0.5"),
                owner(resident, name="Alex Morgan", share="0.5"),
            ],
        )
        services.tax_assess(year=2026, actor=None)
    bill = Bill.objects.get(source_key="tax:2026:RV000501")
    with time_machine.travel("2026-07-01 10:00 +00:00", tick=False):
        payment_record_offline(bill=bill, amount_minor=2 * 34_875)
    return home, flat


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(OVERVIEW)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_owner_sees_properties_bills_instalments_and_what_to_pay(client, resident, roll):
    home, flat = roll
    client.force_login(resident)
    with time_machine.travel(NOVEMBER, tick=False):
        response = client.get(OVERVIEW)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your property tax" in page
    assert home.address_line_1 in page
    assert flat.address_line_1 in page
    bill = Bill.objects.get(source_key="tax:2026:RV000501")
    assert bill.reference in page
    assert "£1,395.00" in page  # the year's total
    assert "£697.50" in page  # paid, and still to pay
    assert "Overdue" in page  # 31 October's instalment
    pay = reverse("payments:pay", args=[bill.reference])
    assert f'href="{pay}?instalment=3"' in page
    assert f'href="{pay}"' in page
    assert "Pay this instalment: £348.75 due 31 October 2026" in page
    assert "Pay the whole balance: £697.50" in page
    # The flat's bill is Yasmin's: Alex can pay it by reference, not from here.
    flat_bill = Bill.objects.get(source_key="tax:2026:RV000502")
    assert reverse("payments:pay", args=[flat_bill.reference]) not in page
    assert "addressed to another owner" in page
    assert reverse("taxes:property", args=[home.parcel]) in page


def test_a_paid_bill_offers_nothing_to_pay(client, second_resident, roll):
    _home, flat = roll
    bill = Bill.objects.get(source_key="tax:2026:RV000502")
    payment_record_offline(bill=bill, amount_minor=bill.total_minor)
    client.force_login(second_resident)
    page = client.get(OVERVIEW).content.decode()
    assert flat.address_line_1 in page
    assert "Nothing to pay." in page
    assert reverse("payments:pay", args=[bill.reference]) not in page


def test_the_property_page_is_its_owners_only(client, resident, second_resident, outsider, roll):
    home, _flat = roll
    url = reverse("taxes:property", args=[home.parcel])
    client.force_login(resident)
    response = client.get(url)
    assert response.status_code == 200
    assert "Sole owner, you live here" in " ".join(response.content.decode().split())
    for other in (second_resident, outsider):
        client.force_login(other)
        assert client.get(url).status_code == 404
    client.force_login(resident)
    assert client.get(reverse("taxes:property", args=["RV999999"])).status_code == 404


def test_someone_who_owns_nothing_is_told_so(client, outsider, roll):
    client.force_login(outsider)
    page = client.get(OVERVIEW).content.decode()
    assert "We have no property on our tax roll in your name." in page


def test_a_former_owner_no_longer_sees_the_property(client, resident, roll):
    home, _flat = roll
    ownership = home.ownerships.get(owner=resident)
    services.ownership_end(ownership=ownership, end=ownership.start, actor=None)
    client.force_login(resident)
    assert client.get(reverse("taxes:property", args=[home.parcel])).status_code == 404


def test_an_adjustment_is_shown_under_the_years_bill(client, resident, roll):
    home, _flat = roll
    with time_machine.travel("2026-09-01 10:00 +00:00", tick=False):
        adjustment = services.property_reassess(
            property=home, new_value=200_000 * POUND, year=2026, reason="appeal", actor=None
        )
    assert adjustment is not None
    client.force_login(resident)
    page = client.get(reverse("taxes:property", args=[home.parcel])).content.decode()
    assert "Adjustment to your 2026 property tax" in page
    assert adjustment.reference in page
    # The £279.00 credit paid part of the £697.50 the year's bill still owed.
    assert "£279.00" in page
    assert "Used to pay your other bills for the year" in page
    assert "Paid by a reassessment credit" in page
    assert "Pay the whole balance: £418.50" in page


def test_the_overview_costs_a_fixed_number_of_queries(
    client, resident, roll, wards, django_assert_max_num_queries
):
    for index in range(5):
        make_property(f"RV00060{index}", wards[0], owners=[owner(resident, name="Alex Morgan")])
    services.tax_assess(year=2026, actor=None)
    client.force_login(resident)
    with django_assert_max_num_queries(14):
        assert client.get(OVERVIEW).status_code == 200


def test_finance_officers_see_assessment_runs_and_their_totals(client, finance_officer, roll):
    sign_in_official(client, finance_officer)
    response = client.get(reverse("staff:tax_runs"))
    assert response.status_code == 200
    run = services.AssessmentRun.objects.get()
    detail = client.get(reverse("staff:tax_run", args=[run.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Northgate" in page
    assert "Residential" in page
    assert "2 bills, £2,325.00 in all" in page
    assert client.get(reverse("staff:tax_run", args=[run.pk + 99])).status_code == 404


def test_residents_cannot_see_assessment_runs(client, resident, roll):
    client.force_login(resident)
    assert client.get(reverse("staff:tax_runs")).status_code == 403
