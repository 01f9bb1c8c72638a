"""Workers killed with SIGKILL in the middle of settling a payment and of issuing
documents lose nothing and do nothing twice.

A resident's shed permit is approved; its fee is paid on the sandbox's card page, and the
resident closes the browser: the sandbox's webhook, which a worker delivers to the web
process, is what settles the payment. Four workers are then killed, one after the other,
each at a fault point of :mod:`tests.faults.inject` (a real ``ecitizen worker``, the
platform's code, held there until the SIGKILL):

1. once the web process answered the webhook (the payment settled) and before the
   delivery task is recorded as done;
2. issuing the receipt: its PDF encrypted and stored, nothing committed;
3. just after committing "fee paid" on the case (the subscriber of ``BillPaid``), before
   anything left for after the commit;
4. issuing the permit: its PDF stored, nothing committed.

Each time a live worker requeues the dead one's task once its lease has expired
(``core.leases``) and runs it again. Afterwards: the payment is settled once, with one
receipt; the case is paid once and has one permit; each notice went once; no task is
left or failed; ``audit verify`` and ``ledger check`` pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ecitizen.cases import services as cases
from ecitizen.cases.models import Case, CaseEvent
from ecitizen.core.models import AuditEvent
from ecitizen.documents.models import IssuedDocument, Upload
from ecitizen.notifications.models import Notification
from ecitizen.payments import services as payments
from ecitizen.payments.models import Bill, Payment, PaymentEvent
from ecitizen.payments.providers import sandbox
from tests.factories import UserFactory
from tests.faults.checks import (
    assert_commands_pass,
    assert_no_task_failed,
    assert_payments,
    wait_for_the_queue,
)
from tests.faults.stack import Stack, postgres_only
from tests.processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_specific, postgres_only]


def _approved_shed_permit(services) -> Case:
    from ecitizen.accounts.models import Department, Role
    from ecitizen.cases.tests.support import submit_shed
    from tests.personas import _official

    works = Department.objects.get(slug="public-works")
    officer = _official(Role.CASE_OFFICER, works, email="works.officer@example.test")
    supervisor = _official(Role.SUPERVISOR, works, email="works.supervisor@example.test")
    resident = UserFactory(email="shed.owner@example.test", full_name="Alex Morgan")
    case = submit_shed(services["shed-permit"], resident)
    case = cases.case_transition(case=case, action_id="start_review", actor=officer)
    case = cases.case_transition(case=case, action_id="pass_first", actor=officer)
    return cases.case_transition(case=case, action_id="approve", actor=supervisor)


def _pay_and_close_the_browser(case: Case) -> Payment:
    """The resident pays on the sandbox's card page and never comes back: only the
    webhook will tell the platform."""
    bill = Bill.objects.get(reference=case.bill_reference)
    payment = payments.payment_create(
        bill=bill,
        idempotency_key="web:faults-worker",
        return_url="http://127.0.0.1/payments/{payment_id}/return/",
        payer=case.applicant,
    )
    payment = payments.payment_start(payment=payment)
    sandbox.sandbox_open(payment.provider_id)
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
    return payment


def _stored_files(media: Path) -> set[str]:
    return {
        str(path.relative_to(media))
        for path in (media / "documents").rglob("*.bin")
        if path.is_file()
    }


def test_workers_killed_settling_a_payment_and_issuing_documents(
    stack: Stack, services, database_queue
):
    case = _approved_shed_permit(services)
    assert case.state == "approved"
    assert case.payment_status == "due"
    media = stack.var / "media"
    files_before = _stored_files(media)
    stack.env["PUBLIC_BASE_URL"] = stack.web_url("web1")
    stack.start_web("web1")
    wait_for(lambda: stack.web_ready("web1"), "the web process")
    payment = _pay_and_close_the_browser(case)

    # Four fault points armed at once; each holds one worker once, in whatever order
    # the workers meet them. The one holding is killed, the next worker started.
    points = {
        # Settling: the web process settled the payment on the webhook; the worker dies
        # before it can record the delivery as done.
        ("webhook", r'"state":"success"'): "settling the payment",
        # Issuing the receipt: its PDF is in storage, nothing is committed.
        ("document", r"^receipt "): "issuing the receipt",
        # The fee paid on the case is committed; what was to follow the commit is not.
        ("commit", r"^cases\.fee_paid$"): "committing the fee paid on the case",
        # Issuing the permit (which only happens if the fee paid brought its task along).
        ("document", r"^permit "): "issuing the shed permit",
    }
    for number, (point, pattern) in enumerate(points, start=1):
        stack.arm(point, pattern, label=str(number))
    killed: list[str] = []
    for number in range(1, len(points) + 1):
        worker = f"doomed-{number}"
        stack.start_worker(worker)
        held = stack.wait_held(
            "*", f"{worker} to reach one of: {sorted(set(points.values()) - set(killed))}"
        )
        assert stack.kill_group(held["pgid"]) == worker
        killed.append(points[held["point"], held["pattern"]])
        if held["point"] == "webhook":  # the settlement committed before the kill
            payment.refresh_from_db()
            assert payment.settled_at is not None
        elif held["point"] == "document":  # the half-issued document did not
            template, reference = held["subject"].split(" ", 1)
            assert not IssuedDocument.objects.filter(template=template, reference=reference)
    assert sorted(killed) == sorted(points.values())

    stack.start_worker("rescuer")
    wait_for_the_queue()
    assert_no_task_failed()

    # The payment: settled once (one ledger posting, the bill paid once), one receipt,
    # the success webhook applied once however often it came.
    assert assert_payments([str(payment.pk)]) == 1
    success = PaymentEvent.objects.filter(
        payment=payment, source=PaymentEvent.Source.WEBHOOK, state="success"
    )
    assert success.count() == 1
    # The case: paid once, one permit, one notice of each.
    case.refresh_from_db()
    assert case.payment_status == "paid"
    assert case.events.filter(kind=CaseEvent.Kind.PAID).count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.DOCUMENT).count() == 1
    permit = IssuedDocument.objects.get(reference=case.reference)
    assert permit.template == "permit"
    for event in ("document_issued", "payment_received"):
        notices = Notification.objects.filter(recipient=case.applicant, event=event)
        assert sorted(notices.values_list("channel", flat=True)) == ["email", "inbox"], event
    # Each killed worker's task was requeued, once.
    requeued = AuditEvent.objects.filter(action="tasks.requeued")
    assert sorted(e.changes["worker"]["before"] for e in requeued) == [
        "doomed-1",
        "doomed-2",
        "doomed-3",
        "doomed-4",
    ]
    # Every stored document has its file. The two PDFs whose issuing was killed stayed in
    # storage without a row: ciphertext nobody can name or read, nothing issued twice.
    stored = _stored_files(media) - files_before
    kept = set(
        Upload.objects.filter(issued_document__isnull=False).values_list("storage_name", flat=True)
    )
    assert kept <= stored
    assert len(stored - kept) == 2, sorted(stored - kept)
    assert_commands_pass(stack.env)
