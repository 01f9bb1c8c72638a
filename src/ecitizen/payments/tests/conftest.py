"""A Revenue department, a resident and bills to pay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from ecitizen.payments.models import Bill
from ecitizen.payments.services import BillSpec, LineSpec, bill_create


@pytest.fixture
def make_bill(department, resident):
    counter = iter(range(1, 10_000))

    def make(*, amount_minor: int = 12_500, payer=resident, postcode: str = "", instalments=()):
        number = next(counter)
        return bill_create(
            spec=BillSpec(
                reference=f"TST-{number:06d}",
                kind=Bill.Kind.FEE,
                description="Test fee",
                department_id=department.pk,
                due_date=timezone.localdate() + timedelta(days=30),
                lines=[LineSpec("Test fee", amount_minor, "fee")],
                payer_id=payer.pk if payer else None,
                verification_postcode=postcode,
                instalments=instalments,
                source_key=f"test:{number}",
            ),
            actor=None,
        )

    return make


@pytest.fixture
def quarterly():
    start = date(2027, 4, 1)
    return [
        (start, 25_000),
        (start.replace(month=7), 25_000),
        (start.replace(month=10), 25_000),
        (date(2028, 1, 1), 25_001),
    ]
