"""``ecitizen tax assess``: every property's bill, in batches, idempotent, resumable,
with totals per use class and ward."""

from __future__ import annotations

import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import Bill, LedgerEntry
from ecitizen.taxes import services
from ecitizen.taxes.models import AssessmentRun, Property
from ecitizen.taxes.tests.support import POUND, make_property, make_roll, owner, taxable

pytestmark = pytest.mark.db_specific

ROLL = 23  # with batches of 5: five batches, the last one short


def _assess(*args: str) -> str:
    out = StringIO()
    call_command("tax", "assess", "--year", "2026", "--no-progress", *args, stdout=out)
    return out.getvalue()


def _tax_bills():
    return Bill.objects.filter(kind=Bill.Kind.PROPERTY_TAX, source_key__startswith="tax:2026:")


def test_every_taxable_property_gets_one_bill_payable_in_instalments(year_2026, wards):
    make_roll(wards, ROLL)
    output = _assess("--batch-size", "5")
    assert f"{taxable(ROLL)} created" in output
    bills = list(_tax_bills())
    assert len(bills) == taxable(ROLL)
    assert len({bill.source_reference for bill in bills}) == len(bills)
    for bill in bills:
        assert bill.total_minor > 0
        assert sum(item["amount_minor"] for item in bill.instalments) == bill.total_minor
        assert [item["due_date"] for item in bill.instalments] == [
            "2026-04-30",
            "2026-07-31",
            "2026-10-31",
            "2027-01-31",
        ]
        assert bill.due_date == date(2027, 1, 31)
        assert sum(line["amount_minor"] for line in bill.lines) == bill.total_minor
        assert bill.department.slug == "revenue"
        assert bill.reference.startswith("RIV-PT-2026-")
    run = AssessmentRun.objects.get()
    assert run.status == AssessmentRun.Status.FINISHED
    assert (run.batches, run.properties_seen, run.bills_created) == (5, ROLL, taxable(ROLL))
    assert run.zero_tax == ROLL - taxable(ROLL)
    assert run.totals["total"]["amount_minor"] == sum(bill.total_minor for bill in bills)
    assert ledger_verify().ok


def test_the_bill_carries_the_tax_the_relief_and_the_payer(year_2026, wards, resident):
    home = make_property(
        "RV000101",
        wards[0],
        value_pounds=250_000,
        owners=[owner(resident, name="Alex Morgan", occupier=True)],
    )
    make_property("RV000102", wards[1], value_pounds=180_500, owners=[owner(name="No Account")])
    services.tax_assess(year=2026, actor=None)
    bill = Bill.objects.get(source_key="tax:2026:RV000101")
    assert bill.payer == resident
    assert bill.source_reference == home.parcel
    assert bill.total_minor == 155_000 - 15_500
    assert [line["amount_minor"] for line in bill.lines] == [155_000, -15_500]
    assert bill.lines[0]["account"] == "revenue:property_tax:revenue"
    assert bill.lines[1]["account"] == "revenue:property_tax_relief:revenue"
    assert "Owner-occupier relief (10%)" in bill.lines[1]["description"]
    assert [item["amount_minor"] for item in bill.instalments] == [34_875] * 4
    # The bill names the parcel: bills are not encrypted, and the address with the payer
    # would say where the resident lives.
    assert bill.description == "Property tax 2026, parcel RV000101"
    assert "RV1 2AB" not in bill.description
    assert bill.verification_index  # payable by reference with the property's postcode
    other = Bill.objects.get(source_key="tax:2026:RV000102")
    assert other.payer is None
    assert other.total_minor == 111_910  # £180,500 x 0.62 %, no relief
    assert [item["amount_minor"] for item in other.instalments] == [27_977, 27_977, 27_977, 27_979]


def test_a_second_run_creates_nothing(year_2026, wards):
    make_roll(wards, ROLL)
    _assess("--batch-size", "5")
    bills, entries = _tax_bills().count(), LedgerEntry.objects.count()
    output = _assess("--batch-size", "7")
    assert output.startswith("0 created")
    assert (_tax_bills().count(), LedgerEntry.objects.count()) == (bills, entries)
    assert AssessmentRun.objects.count() == 2
    assert ledger_verify().ok


def test_a_run_stopped_half_way_is_finished_by_the_next(year_2026, wards):
    make_roll(wards, ROLL)
    output = _assess("--batch-size", "5", "--max-batches", "2")
    assert "Stopped after 2 batches" in output
    first = AssessmentRun.objects.get()
    assert first.status == AssessmentRun.Status.STOPPED
    assert first.properties_seen == 10
    assert _tax_bills().count() == taxable(10)

    output = _assess("--batch-size", "5")
    assert f"{taxable(ROLL) - taxable(10)} created" in output
    assert _tax_bills().count() == taxable(ROLL)
    assert _tax_bills().values("source_key").distinct().count() == taxable(ROLL)
    assert ledger_verify().ok


def test_a_run_that_crashes_keeps_its_finished_batches_and_a_rerun_completes(
    year_2026, wards, monkeypatch
):
    make_roll(wards, ROLL)
    real = services.bills_create_bulk
    calls = {"n": 0}

    def failing_on_the_third_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "bills_create_bulk", failing_on_the_third_batch)
    with pytest.raises(ConnectionError):
        services.tax_assess(year=2026, actor=None, batch_size=5)
    failed = AssessmentRun.objects.get()
    assert failed.status == AssessmentRun.Status.FAILED
    assert "database went away" in failed.error
    assert failed.batches == 2
    # The third batch rolled back whole: no bill, no ledger entry of it.
    assert _tax_bills().count() == taxable(10)
    assert ledger_verify().ok

    monkeypatch.setattr(services, "bills_create_bulk", real)
    run = services.tax_assess(year=2026, actor=None, batch_size=5)
    assert run.bills_created == taxable(ROLL) - taxable(10)
    assert _tax_bills().count() == taxable(ROLL)
    assert ledger_verify().ok


def test_the_totals_per_use_class_and_ward_are_printed(year_2026, wards):
    make_roll(wards, ROLL)
    output = _assess("--batch-size", "5")
    bills = list(_tax_bills())
    parcels = {p.parcel: p for p in Property.objects.select_related("ward")}
    total = sum(b.total_minor for b in bills)
    assert f"Bills for 2026: {len(bills)}, £{total / POUND:,.2f}" in output

    def row(label: str) -> tuple[int, str]:
        match = re.search(rf"^{re.escape(label)}\s+(\d+)\s+(\S+)$", output, re.MULTILINE)
        assert match, f"no line for {label} in:\n{output}"
        return int(match.group(1)), match.group(2)

    for label, use_class in [("Residential", "residential"), ("Commercial", "commercial")]:
        mine = [b for b in bills if parcels[b.source_reference].use_class == use_class]
        assert row(label) == (len(mine), f"£{sum(b.total_minor for b in mine) / POUND:,.2f}")
    assert row("Charity") == (0, "£0.00")
    for ward in wards:
        mine = [b for b in bills if parcels[b.source_reference].ward_id == ward.pk]
        assert row(ward.name) == (len(mine), f"£{sum(b.total_minor for b in mine) / POUND:,.2f}")
    totals = AssessmentRun.objects.get().totals
    assert totals["total"] == {"count": len(bills), "amount_minor": total}
    assert totals["ward"]["northgate"]["name"] == "Northgate"
    # A second run prints the same totals for the year.
    assert f"Bills for 2026: {len(bills)}" in _assess()


def test_assessing_an_unconfigured_year_is_refused(db):
    with pytest.raises(CommandError, match="2031 has no tax configuration"):
        call_command("tax", "assess", "--year", "2031", "--no-progress")
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("tax", "assess", "--year", "2026", "--batch-size", "0")


def test_the_owners_on_the_first_day_of_the_year_are_billed(
    year_2026, wards, resident, second_resident
):
    prop = make_property("RV000201", wards[0], owners=[owner(resident, name="Alex Morgan")])
    ownership = prop.ownerships.get()
    services.ownership_end(ownership=ownership, end=date(2025, 12, 31), actor=None)
    services.ownership_record(
        property=prop,
        owner=second_resident,
        owner_name="Yasmin Farouk",
        start=date(2026, 1, 1),
        actor=None,
    )
    services.tax_assess(year=2026, actor=None)
    assert Bill.objects.get(source_key="tax:2026:RV000201").payer == second_resident
