"""Locks that only matter when requests really run at once: checked on PostgreSQL with
threads, each on its own connection. (SQLite lets one writer in at a time, so there is no
race to lose; these tests run in the PostgreSQL pass of CI.)"""

from __future__ import annotations

import pytest
from django.db import connection

from ecitizen.accounts import services
from ecitizen.core.selectors import audit_chain_verify
from ecitizen.core.services import audit_record
from tests.concurrency import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.db_specific,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
    ),
]


def test_parallel_appends_keep_one_unbroken_chain():
    errors = run_together(lambda n: audit_record(action=f"test.parallel{n}"), 12)
    assert not errors
    report = audit_chain_verify()
    assert report.ok, report.reason
    assert report.events_checked == 12
    # Each append signed its own head, under the same lock (ADR 0013).
    assert report.checkpoints_checked == 12


def test_parallel_guesses_are_all_counted(settings):
    settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = 5
    admitted: list[int] = []

    def guess(number: int) -> None:
        try:
            services.signin_attempt_begin(email="target@example.test", ip_address=None)
        except services.SignInThrottled:
            return
        admitted.append(number)

    errors = run_together(guess, 20)
    assert not errors
    assert len(admitted) == 5


def _shed_service():
    from pathlib import Path

    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish
    from tests.factories import DepartmentFactory

    DepartmentFactory(slug="public-works", name="Public Works")
    fixtures = Path(__file__).resolve().parents[1] / "src/ecitizen/cases/tests/fixtures"
    service_definitions_publish(directory=fixtures, actor=None)
    return Service.objects.get(slug="shed-permit")


def test_parallel_submissions_of_one_draft_make_one_case():
    from ecitizen.cases import services as cases
    from ecitizen.cases.models import Case
    from ecitizen.cases.tests.support import SHED_ANSWERS, pdf_file
    from tests.factories import UserFactory

    service = _shed_service()
    resident = UserFactory(email="parallel@example.test")
    draft = cases.draft_start(service=service, applicant=resident, actor=resident)
    cases.draft_save_answers(
        draft=draft, values=SHED_ANSWERS, files={"plan_files": [pdf_file()]}, actor=resident
    )
    references: list[str] = []
    errors = run_together(
        lambda n: references.append(cases.draft_submit(draft=draft, actor=resident).reference), 6
    )
    assert not errors
    assert Case.objects.count() == 1
    assert len(set(references)) == 1


def test_parallel_submissions_get_distinct_references():
    from ecitizen.cases.tests.support import submit_shed
    from tests.factories import UserFactory

    service = _shed_service()
    residents = [UserFactory(email=f"many{n}@example.test") for n in range(6)]
    references: list[str] = []
    errors = run_together(
        lambda n: references.append(submit_shed(service, residents[n]).reference), 6
    )
    assert not errors
    assert len(set(references)) == 6
    assert sorted(int(r.rsplit("-", 1)[1]) for r in references) == list(range(1, 7))


def test_parallel_officials_cannot_take_two_actions_from_one_state():
    from ecitizen.accounts.models import Role
    from ecitizen.cases import services as cases
    from ecitizen.cases.models import CaseEvent
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.catalogue.models import Service
    from tests.factories import UserFactory
    from tests.personas import _official

    service = _shed_service()
    officers = [
        _official(Role.CASE_OFFICER, service.department, email=f"o{n}@example.test")
        for n in range(4)
    ]
    case = submit_shed(Service.objects.get(pk=service.pk), UserFactory(email="one@example.test"))
    errors = run_together(
        lambda n: cases.case_transition(case=case, action_id="start_review", actor=officers[n]), 4
    )
    # One review starts; the others find the case has moved on.
    assert len(errors) == 3
    assert all(getattr(error, "code", "") == "stale_action" for error in errors)
    assert case.events.filter(kind=CaseEvent.Kind.ACTION).count() == 1


def test_concurrent_refunds_never_exceed_the_payment():
    from datetime import timedelta

    from django.utils import timezone

    from ecitizen.accounts.models import Role
    from ecitizen.payments import services as payments
    from ecitizen.payments.ledger import ledger_verify
    from ecitizen.payments.models import Bill, Refund
    from tests.factories import DepartmentFactory
    from tests.personas import _official

    department = DepartmentFactory(slug="revenue", name="Revenue")
    officers = [
        _official(Role.FINANCE_OFFICER, department, email=f"f{n}@example.test") for n in range(5)
    ]
    bill = payments.bill_create(
        spec=payments.BillSpec(
            reference="CONC-000001",
            kind=Bill.Kind.FEE,
            description="Concurrent refunds",
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=10),
            lines=[payments.LineSpec("Fee", 10_000, "fee")],
        ),
        actor=None,
    )
    payment = payments.payment_record_offline(bill=bill, amount_minor=10_000)
    # Five refunds of £30 against £100: exactly three can succeed.
    errors = run_together(
        lambda n: payments.refund_create(
            payment=payment, amount_minor=3_000, reason=f"refund {n}", actor=officers[n]
        ),
        5,
    )
    assert len(errors) == 2
    assert all(getattr(error, "code", "") == "too_much" for error in errors)
    assert Refund.objects.count() == 3
    bill.refresh_from_db()
    assert bill.refunded_minor == 9_000
    assert ledger_verify().ok
