"""Reassessment after an appeal: an adjusting bill for the difference, never an edit of
the year's bill, paid or not."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db.models import Sum

from ecitizen.core.models import AuditEvent
from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import Bill, LedgerEntry
from ecitizen.payments.services import bill_credits_apply, payment_record_offline
from ecitizen.taxes import services
from ecitizen.taxes.models import Exemption, UseClass
from ecitizen.taxes.tests.support import POUND, make_property, owner

pytestmark = pytest.mark.django_db

JUNE = "2026-06-15 10:00 +00:00"


@pytest.fixture
def home(year_2026, wards, resident):
    """Alex's home, £250,000, owner-occupied: £1,395.00 for 2026 after 10 % relief."""
    with time_machine.travel("2026-03-20 10:00 +00:00", tick=False):
        prop = make_property(
            "RV000301",
            wards[0],
            value_pounds=250_000,
            owners=[owner(resident, name="Alex Morgan", occupier=True)],
        )
        services.tax_assess(year=2026, actor=None)
    return prop


def _original(prop) -> Bill:
    return Bill.objects.get(source_key=f"tax:2026:{prop.parcel}")


def _snapshot(bill: Bill) -> tuple:
    bill.refresh_from_db()
    return (bill.total_minor, bill.paid_minor, bill.lines, bill.instalments, bill.due_date)


def test_a_higher_value_issues_an_adjusting_bill_and_leaves_the_paid_bill_alone(
    home, resident, finance_officer
):
    original = _original(home)
    with time_machine.travel("2026-04-20 10:00 +00:00", tick=False):
        payment_record_offline(bill=original, amount_minor=original.total_minor)
    before = _snapshot(original)
    assert before[1] == original.total_minor  # paid in full

    with time_machine.travel(JUNE, tick=False):
        adjustment = services.property_reassess(
            property=home,
            new_value=280_000 * POUND,
            year=2026,
            reason="Extension completed in 2025",
            actor=finance_officer,
        )
    assert adjustment is not None
    assert _snapshot(original) == before
    assert adjustment.kind == Bill.Kind.ADJUSTMENT
    assert adjustment.adjusts == original
    assert adjustment.payer == resident
    assert adjustment.reference == f"{original.reference}-A1"
    assert adjustment.source_key == "tax:2026:RV000301:adj:1"
    # £280,000 x 0.62 % = £1,736, less 10 %: £1,562.40; charged £1,395.00.
    assert adjustment.total_minor == 156_240 - 139_500
    assert [line["amount_minor"] for line in adjustment.lines] == [18_600, -1_860]
    # Payable in the instalments still to come in the year.
    assert [i["due_date"] for i in adjustment.instalments] == [
        "2026-07-31",
        "2026-10-31",
        "2027-01-31",
    ]
    assert sum(i["amount_minor"] for i in adjustment.instalments) == adjustment.total_minor
    home.refresh_from_db()
    assert home.assessed_value_minor == 280_000 * POUND
    assert AuditEvent.objects.filter(action="taxes.adjustment_issued").count() == 1
    assert ledger_verify().ok
    receivable = LedgerEntry.objects.filter(bill=adjustment, account__code="receivables").aggregate(
        total=Sum("amount_minor")
    )
    assert receivable["total"] == adjustment.total_minor


def _reassess(prop, value_pounds: int, reason: str = "Appeal upheld: comparable sales"):
    with time_machine.travel(JUNE, tick=False):
        return services.property_reassess(
            property=prop, new_value=value_pounds * POUND, year=2026, reason=reason, actor=None
        )


def test_a_lower_value_issues_a_credit_that_pays_the_years_bill_earliest_instalment_first(
    home, client, resident
):
    original = _original(home)
    before = _snapshot(original)
    credit = _reassess(home, 200_000)
    assert credit is not None
    assert credit.total_minor == 111_600 - 139_500  # negative: in the owner's favour
    assert credit.instalments == []
    assert credit.due_date == date(2026, 6, 15)
    # The year's bill is not edited: the credit pays part of it, like a payment would.
    assert _snapshot(original) == before
    original.refresh_from_db()
    assert original.credited_minor == 27_900
    assert credit.credited_minor == -27_900
    assert credit.balance_minor == 0
    assert original.balance_minor == 111_600
    assert [i["outstanding_minor"] for i in original.instalment_status()] == [
        34_875 - 27_900,
        34_875,
        34_875,
        34_875,
    ]
    assert ledger_verify().ok
    assert AuditEvent.objects.filter(action="payments.credit_applied").count() == 1
    # Applying again moves nothing.
    assert bill_credits_apply(bill=credit, actor=None) == 0
    assert ledger_verify().ok

    client.force_login(resident)
    with time_machine.travel(JUNE, tick=False):
        page = client.get("/account/property-tax/").content.decode()
    assert "Paid by a reassessment credit" in page
    assert "Used to pay your other bills for the year" in page
    assert "Credit used" in page
    assert "Pay the whole balance: £1,116.00" in page


def test_a_credit_on_a_paid_bill_stays_in_the_owners_favour_until_a_new_charge_uses_it(home):
    original = _original(home)
    with time_machine.travel("2026-04-20 10:00 +00:00", tick=False):
        payment_record_offline(bill=original, amount_minor=original.total_minor)
    credit = _reassess(home, 200_000)
    assert credit is not None
    assert credit.balance_minor == -27_900  # nothing owed to pay with it: kept
    assert credit.credited_minor == 0

    # A later appeal raises the value: the new charge is paid first by the credit left.
    charge = _reassess(home, 300_000, reason="Survey found an extension")
    assert charge is not None
    # £300,000 x 0.62 % less 10 % = £1,674.00; charged so far £1,395.00 - £279.00.
    assert charge.total_minor == 167_400 - 111_600
    assert charge.credited_minor == 27_900
    assert charge.balance_minor == 55_800 - 27_900
    credit.refresh_from_db()
    assert credit.balance_minor == 0
    assert ledger_verify().ok


def test_successive_appeals_adjust_against_everything_charged_so_far(home, finance_officer):
    with time_machine.travel(JUNE, tick=False):
        first = services.property_reassess(
            property=home, new_value=300_000 * POUND, year=2026, reason="r1", actor=None
        )
        same = services.property_reassess(
            property=home, new_value=300_000 * POUND, year=2026, reason="r1 again", actor=None
        )
        second = services.property_reassess(
            property=home, new_value=250_000 * POUND, year=2026, reason="r2", actor=None
        )
    assert first is not None
    assert same is None  # nothing changes: nothing issued
    assert second is not None
    assert second.reference.endswith("-A2")
    assert second.total_minor == -first.total_minor
    charged = Bill.objects.filter(source_reference=home.parcel).aggregate(total=Sum("total_minor"))[
        "total"
    ]
    assert charged == 139_500  # back to the original tax


def test_a_relief_gained_by_the_new_value_shows_as_its_own_line(year_2026, wards):
    with time_machine.travel("2026-03-20 10:00 +00:00", tick=False):
        shop = make_property(
            "RV000302",
            wards[1],
            use_class=UseClass.COMMERCIAL,
            value_pounds=160_000,
            owners=[owner()],
        )
        services.tax_assess(year=2026, actor=None)
    with time_machine.travel(JUNE, tick=False):
        adjustment = services.property_reassess(
            property=shop, new_value=150_000 * POUND, year=2026, reason="appeal", actor=None
        )
    # £160,000 x 1.18 % = £1,888; now £1,770 less 25 % small property relief = £1,327.50.
    assert adjustment is not None
    assert [line["amount_minor"] for line in adjustment.lines] == [-11_800, -44_250]
    assert [line["account"] for line in adjustment.lines] == [
        "revenue:property_tax:revenue",
        "revenue:property_tax_relief:revenue",
    ]
    assert adjustment.total_minor == 132_750 - 188_800


def test_an_exempt_property_owes_nothing_whatever_its_value(year_2026, wards):
    chapel = make_property(
        "RV000303", wards[0], exemption=Exemption.PLACE_OF_WORSHIP, owners=[owner()]
    )
    services.tax_assess(year=2026, actor=None)
    assert not Bill.objects.filter(source_reference=chapel.parcel).exists()
    assert (
        services.property_reassess(
            property=chapel, new_value=900_000 * POUND, year=2026, reason="r", actor=None
        )
        is None
    )


def test_a_property_that_owed_nothing_gets_the_years_bill_when_it_now_owes_tax(year_2026, wards):
    plot = make_property("RV000304", wards[0], value_pounds=0, owners=[owner()])
    with time_machine.travel("2026-05-10 10:00 +00:00", tick=False):
        services.tax_assess(year=2026, actor=None)
        assert not Bill.objects.filter(source_reference=plot.parcel).exists()
        bill = services.property_reassess(
            property=plot, new_value=100_000 * POUND, year=2026, reason="built", actor=None
        )
    assert bill is not None
    assert bill.kind == Bill.Kind.PROPERTY_TAX
    assert bill.source_key == "tax:2026:RV000304"
    assert bill.total_minor == 62_000
    assert len(bill.instalments) == 3  # the instalments still to come


def test_before_the_year_is_assessed_only_the_value_changes(year_2026, wards):
    prop = make_property("RV000305", wards[0], value_pounds=100_000, owners=[owner()])
    assert (
        services.property_reassess(
            property=prop, new_value=120_000 * POUND, year=2026, reason="survey", actor=None
        )
        is None
    )
    prop.refresh_from_db()
    assert prop.assessed_value_minor == 120_000 * POUND
    services.tax_assess(year=2026, actor=None)
    assert Bill.objects.get(source_reference=prop.parcel).total_minor == 74_400


def test_bad_reassessments_are_refused(home):
    with pytest.raises(services.TaxError):
        services.property_reassess(property=home, new_value=-1, year=2026, reason="r", actor=None)
    with pytest.raises(services.TaxError):
        services.property_reassess(property=home, new_value=1, year=2026, reason=" ", actor=None)
    with pytest.raises(services.YearNotConfigured):
        services.property_reassess(property=home, new_value=1, year=2031, reason="r", actor=None)
