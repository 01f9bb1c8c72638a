"""The demo's tax roll: a few thousand Riverton properties assessed for 2026, some bills
paid, some partly paid, some overdue; the named residents own one or two properties;
loading it again adds nothing."""

from __future__ import annotations

from collections import Counter

import pytest
import time_machine
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.core.models import AuditEvent
from ecitizen.demo import riverton
from ecitizen.demo.taxes import ROLL_SIZE, demo_tax_load
from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import Bill, Payment
from ecitizen.taxes.models import AssessmentRun, Ownership, Property, TaxYear
from ecitizen.taxes.selectors import bill_instalments
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def riverton_residents(settings):
    # Receipts are the payments app's business; here their tasks are only queued.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    for slug, name in riverton.DEPARTMENTS:
        accounts.department_ensure(slug=slug, name=name, actor=None)
    for code, name in riverton.WARDS:
        accounts.jurisdiction_ensure(code=code, name=name, actor=None)
    named = [
        UserFactory(email=f"{local}@{riverton.EMAIL_DOMAIN}", full_name=name)
        for local, name in riverton.NAMED_RESIDENTS
    ]
    others = [UserFactory(email=f"resident{i:02d}@{riverton.EMAIL_DOMAIN}") for i in range(3, 13)]
    return named + others


@time_machine.travel("2026-11-28 09:00 +00:00")
def test_the_demo_roll_is_assessed_with_a_history_of_payments(riverton_residents):
    demo_tax_load(seed=2026, residents=riverton_residents)

    assert set(TaxYear.objects.values_list("year", flat=True)) == {2026, 2027}
    assert Property.objects.count() >= ROLL_SIZE
    uses = Counter(Property.objects.values_list("use_class", flat=True))
    assert uses["residential"] > 2000
    assert all(uses[name] for name in ("commercial", "industrial", "agricultural", "charity"))
    assert len(set(Property.objects.values_list("ward_id", flat=True))) == len(riverton.WARDS)
    streets = {
        p.split(" ", 1)[-1] for p in Property.objects.values_list("address_line_1", flat=True)
    }
    assert any(street.endswith(riverton.STREETS[0]) for street in streets)

    run = AssessmentRun.objects.get()
    assert run.status == AssessmentRun.Status.FINISHED
    bills = list(
        Bill.objects.filter(kind=Bill.Kind.PROPERTY_TAX, source_key__startswith="tax:2026:")
    )
    assert len(bills) == run.bills_created > 2500
    assert all(bill.issued_on.isoformat() == "2026-03-16" for bill in bills)

    alex, yasmin = riverton_residents[:2]
    assert Ownership.objects.filter(owner=alex).count() == 2
    assert Ownership.objects.filter(owner=yasmin).count() == 1
    assert Bill.objects.filter(payer=alex, source_key__startswith="tax:2026:").count() == 2
    assert Ownership.objects.filter(owner__in=riverton_residents[2:]).count() == 10
    # Yasmin won an appeal: the credit paid part of what her home still owed.
    credit = Bill.objects.get(kind=Bill.Kind.ADJUSTMENT, payer=yasmin)
    assert credit.total_minor < 0
    assert credit.balance_minor == 0
    assert credit.adjusts.credited_minor == -credit.total_minor

    today = timezone.localdate()
    states = Counter()
    for bill in bills:
        statuses = {item.status for item in bill_instalments(bill=bill, today=today)}
        if bill.balance_minor == 0:
            states["paid"] += 1
        elif bill.paid_minor:
            states["partly paid"] += 1
        if "overdue" in statuses:
            states["overdue"] += 1
    assert states["paid"] >= 50
    assert states["partly paid"] >= 40
    assert states["overdue"] >= 1000
    assert ledger_verify().ok

    counts = (
        Property.objects.count(),
        Bill.objects.count(),
        Payment.objects.count(),
        AuditEvent.objects.count(),
    )
    demo_tax_load(seed=2026, residents=riverton_residents)
    assert counts == (
        Property.objects.count(),
        Bill.objects.count(),
        Payment.objects.count(),
        AuditEvent.objects.count(),
    )
