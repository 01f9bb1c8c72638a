"""Assessments and reminders running at the same time (PostgreSQL, threads on their own
connections): every bill and every notice exactly once."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection

from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import Bill
from ecitizen.taxes import services
from ecitizen.taxes.models import AssessmentRun, TaxNotice
from ecitizen.taxes.tests.support import make_property, make_roll, owner, taxable
from tests.concurrency import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
    ),
]


def test_concurrent_assessments_issue_each_bill_once(year_2026, wards):
    make_roll(wards, 40)
    # Different batch sizes: the runs' batches overlap in every way.
    errors = run_together(
        lambda n: services.tax_assess(year=2026, actor=None, batch_size=(7, 5, 9)[n]),
        3,
        timeout=120,
    )
    assert not errors
    assert Bill.objects.filter(source_key__startswith="tax:2026:").count() == taxable(40)
    runs = AssessmentRun.objects.all()
    assert sum(run.bills_created for run in runs) == taxable(40)
    assert all(run.status == AssessmentRun.Status.FINISHED for run in runs)
    assert ledger_verify().ok


def test_concurrent_reminder_jobs_send_each_notice_once(year_2026, wards, resident):
    with time_machine.travel("2026-03-20 10:00 +00:00", tick=False):
        for index in range(4):
            make_property(f"RV00070{index}", wards[0], owners=[owner(resident, name="Alex Morgan")])
        services.tax_assess(year=2026, actor=None)
    with time_machine.travel("2026-08-01 08:00 +00:00"):
        errors = run_together(lambda _n: services.tax_reminders_send(), 4, timeout=120)
    assert not errors
    # Instalments 1 and 2 of four bills are overdue: eight notices, whoever sent them.
    assert TaxNotice.objects.count() == 8
    assert TaxNotice.objects.values("bill", "instalment", "kind").distinct().count() == 8
