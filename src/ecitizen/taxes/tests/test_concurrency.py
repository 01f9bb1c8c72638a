"""Assessments and reminders running at the same time (PostgreSQL, threads on their own
connections): every bill and every notice exactly once."""

from __future__ import annotations

import threading
import time

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
    pytest.mark.db_specific,
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


def _database_sessions() -> int:
    """Sessions connected to the test database; a closed one can take a moment to go."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _settled_sessions(expected: int) -> int:
    for _attempt in range(50):
        count = _database_sessions()
        if count == expected:
            break
        time.sleep(0.1)
    return count


def _recording_pricing_threads(monkeypatch, fail_on_call: int | None = None) -> list[str]:
    """Record the thread that prices each batch; optionally fail the n-th pricing."""
    real = services._batch_specs
    threads: list[str] = []

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        if len(threads) == fail_on_call:
            raise ConnectionError("the reader lost its connection")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_batch_specs", recording)
    return threads


def test_the_next_batch_is_priced_ahead_on_its_own_connection_and_a_stopped_run_resumes(
    year_2026, wards, monkeypatch
):
    make_roll(wards, 40)
    sessions = _database_sessions()
    threads = _recording_pricing_threads(monkeypatch)

    stopped = services.tax_assess(year=2026, actor=None, batch_size=5, max_batches=3)
    assert stopped.status == AssessmentRun.Status.STOPPED
    assert (stopped.batches, stopped.properties_seen) == (3, 15)
    assert stopped.bills_created == taxable(15)
    # Priced by the reader thread, never by the writer; it closed its connection.
    assert threads
    assert all(name.startswith("tax-assess-reader") for name in threads)
    assert _settled_sessions(sessions) == sessions

    finished = services.tax_assess(year=2026, actor=None, batch_size=5)
    assert finished.status == AssessmentRun.Status.FINISHED
    assert finished.bills_created == taxable(40) - taxable(15)
    assert Bill.objects.filter(source_key__startswith="tax:2026:").count() == taxable(40)
    assert ledger_verify().ok
    assert _settled_sessions(sessions) == sessions


def test_a_failure_in_the_reader_fails_the_run_and_keeps_the_batches_written(
    year_2026, wards, monkeypatch
):
    make_roll(wards, 40)
    sessions = _database_sessions()
    _recording_pricing_threads(monkeypatch, fail_on_call=3)

    with pytest.raises(ConnectionError):
        services.tax_assess(year=2026, actor=None, batch_size=5)
    failed = AssessmentRun.objects.get()
    assert failed.status == AssessmentRun.Status.FAILED
    assert "the reader lost its connection" in failed.error
    assert failed.batches == 2
    assert Bill.objects.filter(source_key__startswith="tax:2026:").count() == taxable(10)
    assert ledger_verify().ok
    assert _settled_sessions(sessions) == sessions


def test_a_credit_applied_by_processes_at_once_moves_once(year_2026, wards):
    from ecitizen.payments.services import (
        BillSpec,
        LineSpec,
        bill_create,
        bill_credits_apply,
    )

    make_roll(wards, 1)
    services.tax_assess(year=2026, actor=None)
    original = Bill.objects.get(source_key__startswith="tax:2026:")
    # A credit issued but not yet applied (as if its issuing process stopped there).
    credit = bill_create(
        spec=BillSpec(
            reference=f"{original.reference}-A1",
            kind=Bill.Kind.ADJUSTMENT,
            description="Reassessment credit",
            department_id=original.department_id,
            due_date=original.due_date,
            lines=[LineSpec("Property tax reassessed", -10_000, services.REVENUE_TAX)],
            adjusts_id=original.pk,
        ),
        actor=None,
    )
    moved: list[int] = []
    errors = run_together(
        lambda _n: moved.append(bill_credits_apply(bill=credit, actor=None)), 4, timeout=60
    )
    assert not errors
    assert sorted(moved) == [0, 0, 0, 10_000]
    credit.refresh_from_db()
    assert credit.balance_minor == 0
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
