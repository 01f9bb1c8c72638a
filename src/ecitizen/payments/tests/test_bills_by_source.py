"""What an app that issues bills (property tax) gets from the payments app instead of
querying its tables: bills found by their source, their totals, a bill family locked for
an adjustment, an adjusting bill with its credit applied, a bill locked for a reminder."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from ecitizen.payments import selectors, services
from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import Bill
from ecitizen.payments.services import BillSpec, LineSpec


@pytest.fixture
def issue(department, resident):
    """Issue a bill with the given source key, reference (``source_reference``), kind and
    amount; ``adjusts`` names the bill an adjustment adjusts."""

    def make(
        key,
        *,
        source="P1",
        kind=Bill.Kind.PROPERTY_TAX,
        amount=10_000,
        payer=resident,
        adjusts=None,
    ):
        return services.bill_create(
            spec=BillSpec(
                reference=key.upper().replace(":", "-"),
                kind=kind,
                description=f"Bill {key}",
                department_id=department.pk,
                due_date=timezone.localdate() + timedelta(days=30),
                lines=[LineSpec(f"Bill {key}", amount, "property_tax")],
                payer_id=payer.pk if payer else None,
                source_reference=source,
                source_key=key,
                adjusts_id=adjusts.pk if adjusts else None,
            ),
            actor=None,
        )

    return make


def _adjustment(original, key, amount):
    return BillSpec(
        reference=key.upper().replace(":", "-"),
        kind=Bill.Kind.ADJUSTMENT,
        description=f"Adjustment {key}",
        department_id=original.department_id,
        due_date=original.due_date,
        lines=[LineSpec(f"Adjustment {key}", amount, "property_tax")],
        payer_id=original.payer_id,
        source_reference=original.source_reference,
        source_key=key,
        adjusts_id=original.pk,
    )


def test_bills_are_found_by_source_key_prefix_references_and_kinds(issue):
    first = issue("tax:2026:P1", source="P1")
    issue("tax:2026:P2", source="P2")
    adjustment = issue("tax:2026:P1:adj:1", source="P1", kind=Bill.Kind.ADJUSTMENT, adjusts=first)
    issue("tax:2027:P1", source="P1", kind=Bill.Kind.FEE)
    issue("fee:P1", source="P1")

    assert selectors.bills_exist(source_key_prefix="tax:2026:")
    assert not selectors.bills_exist(source_key_prefix="tax:2025:")
    found = selectors.bills_for_sources(
        source_references=["P1"],
        source_key_prefix="tax:",
        kinds=[selectors.BillKind.PROPERTY_TAX, selectors.BillKind.ADJUSTMENT],
    )
    assert found == [first, adjustment]  # in the order they were issued


def test_bills_with_something_to_pay_and_by_ids(issue, resident):
    owing = issue("tax:2026:P1", source="P1")
    paid = issue("tax:2026:P2", source="P2")
    services.payment_record_offline(bill=paid, amount_minor=paid.total_minor)
    nobody = issue("tax:2026:P3", source="P3", payer=None)
    issue("fee:P4", source="P4")

    kinds = [Bill.Kind.PROPERTY_TAX]
    assert selectors.bill_ids_with_balance(kinds=kinds, source_key_prefix="tax:") == [
        owing.pk,
        nobody.pk,
    ]
    assert selectors.bill_ids_with_balance(
        kinds=kinds, source_key_prefix="tax:", payer_required=True
    ) == [owing.pk]
    assert selectors.bills_by_ids(ids=[nobody.pk, owing.pk, 999_999]) == [owing, nobody]


def test_each_bills_total_by_source_reference(issue):
    first = issue("tax:2026:P1", source="P1", amount=10_000)
    issue("tax:2026:P1:second", source="P1", amount=2_500)
    issue("tax:2026:P2", source="P2", amount=7_000)
    issue("tax:2026:P1:adj:1", source="P1", kind=Bill.Kind.ADJUSTMENT, amount=-500, adjusts=first)
    issue("tax:2027:P1", source="P1", amount=1)

    totals = selectors.bill_totals(kind=Bill.Kind.PROPERTY_TAX, source_key_prefix="tax:2026:")
    assert sorted(totals) == [("P1", 2_500), ("P1", 10_000), ("P2", 7_000)]
    assert list(selectors.bill_totals(kind=Bill.Kind.FEE, source_key_prefix="tax:")) == []


def test_a_family_is_locked_the_bill_first_then_its_adjustments_in_order(issue):
    original = issue("tax:2026:P1")
    second = issue("tax:2026:P1:adj:2", kind=Bill.Kind.ADJUSTMENT, amount=-100, adjusts=original)
    first = issue("tax:2026:P1:adj:1", kind=Bill.Kind.ADJUSTMENT, amount=200, adjusts=original)
    issue("tax:2026:P2", source="P2")

    with transaction.atomic():
        family = services.bill_family_lock(source_key="tax:2026:P1")
        assert services.bill_family_lock(source_key="tax:2026:P9") is None
    assert family is not None
    assert family.original == original
    assert family.adjustments == [second, first]  # id order


def test_an_adjustment_is_issued_with_the_familys_credit_applied(issue):
    original = issue("tax:2026:P1", amount=10_000)

    credit = services.bill_adjustment_issue(
        spec=_adjustment(original, "tax:2026:P1:adj:1", -3_000), actor=None
    )
    assert credit.total_minor == -3_000
    assert credit.credited_minor == -3_000  # as it stands after the credit was applied
    original.refresh_from_db()
    assert original.credited_minor == 3_000
    assert original.balance_minor == 7_000

    # Idempotent on the source key: the same adjustment again is the same bill.
    again = services.bill_adjustment_issue(
        spec=_adjustment(original, "tax:2026:P1:adj:1", -3_000), actor=None
    )
    assert again.pk == credit.pk
    original.refresh_from_db()
    assert original.credited_minor == 3_000
    assert ledger_verify().ok


def test_an_adjustment_must_say_what_it_adjusts(issue):
    original = issue("tax:2026:P1")
    spec = _adjustment(original, "tax:2026:P1:adj:1", 100)
    not_an_adjustment = BillSpec(**{**spec.__dict__, "kind": Bill.Kind.PROPERTY_TAX})
    adjusting_nothing = BillSpec(**{**spec.__dict__, "adjusts_id": None})
    for wrong in (not_an_adjustment, adjusting_nothing):
        with pytest.raises(services.PaymentError):
            services.bill_adjustment_issue(spec=wrong, actor=None)
    assert not Bill.objects.filter(source_key="tax:2026:P1:adj:1").exists()


def test_a_locked_bill_is_read_as_it_stands_with_its_payer(issue, resident):
    bill = issue("tax:2026:P1")
    services.payment_record_offline(bill=bill, amount_minor=4_000)
    with transaction.atomic():
        locked = services.bill_lock(bill_id=bill.pk)
    assert locked.paid_minor == 4_000
    assert locked.payer == resident
    with pytest.raises(Bill.DoesNotExist), transaction.atomic():
        services.bill_lock(bill_id=999_999)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks (PostgreSQL)")
def test_a_locked_family_keeps_other_transactions_off_every_bill_of_it(issue):
    from django.db import DatabaseError

    original = issue("tax:2026:P1")
    adjustment = issue("tax:2026:P1:adj:1", kind=Bill.Kind.ADJUSTMENT, adjusts=original)
    other = issue("tax:2026:P2", source="P2")
    outcome: dict[int, str] = {}

    def try_to_lock() -> None:
        for bill in (original, adjustment, other):
            try:
                with transaction.atomic():
                    Bill.objects.select_for_update(nowait=True).get(pk=bill.pk)
                outcome[bill.pk] = "free"
            except DatabaseError:
                outcome[bill.pk] = "locked"
        connections.close_all()

    with transaction.atomic():
        services.bill_family_lock(source_key="tax:2026:P1")
        thread = threading.Thread(target=try_to_lock)
        thread.start()
        thread.join(timeout=30)
    assert outcome == {original.pk: "locked", adjustment.pk: "locked", other.pk: "free"}
