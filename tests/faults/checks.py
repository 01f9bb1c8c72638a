"""What must hold after a fault, however the processes died: read from the database the
test process is connected to, and through the platform's own commands.

- every submission whose confirmation page was shown exists, and none twice;
- every payment the provider settled is settled once (one ledger transaction, the bill
  paid once) with one receipt;
- no task is lost (none left to run, none failed) or done twice in its effects;
- ``ecitizen audit verify`` and ``ecitizen ledger check`` pass.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from django.db.models import Count

from tests.processes import run_ecitizen

#: How long the queue may go without finishing a task before the wait for it to empty
#: fails (polling).
PATIENCE = 60.0


def unfinished_tasks() -> list[Any]:
    """Tasks still to run now: running, or ready and due (a task with no ``run_after``
    has the largest date there is, which counts as due)."""
    from django_tasks_db.models import DBTaskResult

    unfinished = DBTaskResult.objects.ready() | DBTaskResult.objects.running()
    return list(unfinished.values("id", "status", "task_path", "worker_ids", "run_after"))


def wait_for_the_queue(patience: float = PATIENCE) -> None:
    """Wait until no task is left to run now (a retry planned for later may wait).
    Fails when ``patience`` seconds pass without a task finishing: a stuck queue, told
    apart from a slow one on a loaded machine (a run once failed a fixed deadline a
    second before the workers finished the last tasks)."""
    left = unfinished_tasks()
    deadline = time.monotonic() + patience
    while left:
        time.sleep(0.3)
        now_left = unfinished_tasks()
        if {task["id"] for task in left} - {task["id"] for task in now_left}:
            deadline = time.monotonic() + patience  # progress: a task finished
        elif time.monotonic() > deadline:
            pytest.fail(f"tasks never finished: {now_left}")
        left = now_left


def assert_no_retry_pending(*, allowed: tuple[str, ...] = ()) -> None:
    """No task waits to be tried again later (a subscriber, a delivery that failed),
    but for the task paths in ``allowed``."""
    from django_tasks_db.models import DBTaskResult

    later = (
        DBTaskResult.objects.filter(status="READY")
        .exclude(pk__in=DBTaskResult.objects.ready())
        .exclude(task_path__in=allowed)
    )
    assert not later.exists(), f"tasks failed and wait to be retried: {list(later.values())}"


def assert_no_task_failed() -> None:
    from django_tasks_db.models import DBTaskResult

    failed = list(
        DBTaskResult.objects.filter(status="FAILED").values(
            "task_path", "args_kwargs", "exception_class_path", "traceback"
        )
    )
    assert not failed, f"tasks failed: {failed}"


def assert_submissions(confirmed: dict[Any, Iterable[str]]) -> int:
    """``confirmed``: each applicant (a user) and the references their confirmation pages
    showed. Each exists once, and the applicant has no other case (no submission
    twice); each draft became at most one case. Returns how many cases were checked."""
    from ecitizen.cases.models import Case, Draft

    total = 0
    for applicant, references in confirmed.items():
        shown = Counter(references)
        cases = Counter(
            Case.objects.filter(applicant=applicant).values_list("reference", flat=True)
        )
        assert all(count == 1 for count in cases.values()), f"a reference twice: {cases}"
        assert set(cases) == set(shown), (
            f"{applicant.email}: confirmations shown {sorted(shown)}, cases {sorted(cases)}"
        )
        # A confirmation shown twice for one reference is the same case shown again.
        total += len(cases)
    doubled = (
        Draft.objects.values("case").annotate(n=Count("id")).filter(case__isnull=False, n__gt=1)
    )
    assert not doubled.exists(), f"drafts sharing a case: {list(doubled)}"
    return total


def _tasks_about(payment_id: Any) -> list[Any]:
    from django_tasks_db.models import DBTaskResult

    return [
        task
        for task in DBTaskResult.objects.values(
            "task_path", "status", "args_kwargs", "enqueued_at", "finished_at", "worker_ids"
        )
        if str(payment_id) in str(task["args_kwargs"])
    ]


def assert_payments(shown: Iterable[str]) -> int:
    """``shown``: the payments whose "Payment received" page appeared. Each of them, and
    every other payment the provider settled, is settled once with one receipt, and its
    bill is paid once. Returns how many settled payments were checked."""
    from ecitizen.documents.models import IssuedDocument
    from ecitizen.payments.models import (
        Bill,
        LedgerTransaction,
        Payment,
        PaymentState,
        SandboxCharge,
    )

    shown = set(shown)
    settled_by_provider = set(
        SandboxCharge.objects.filter(state=PaymentState.SUCCESS).values_list("id", flat=True)
    )
    payments = Payment.objects.filter(provider_id__in=settled_by_provider) | Payment.objects.filter(
        pk__in=shown
    )
    checked = 0
    for payment in payments.select_related("bill"):
        assert payment.state == PaymentState.SUCCESS, (payment.pk, payment.state)
        assert payment.settled_at is not None, f"payment {payment.pk} not settled"
        postings = LedgerTransaction.objects.filter(key=f"settle:{payment.pk}").count()
        assert postings == 1, f"payment {payment.pk} posted {postings} times"
        receipts = IssuedDocument.objects.filter(
            template="receipt",
            reference=f"{payment.bill.reference}/{payment.pk.hex[:8].upper()}",
        )
        assert receipts.count() == 1, (
            f"payment {payment.pk}: {receipts.count()} receipts; tasks: {_tasks_about(payment.pk)}"
            f"; events: {list(payment.events.values_list('source', 'state', 'at'))}"
        )
        assert payment.receipt_code == receipts.get().code
        checked += 1
    assert {str(pk) for pk in payments.values_list("pk", flat=True)} >= shown
    for bill in Bill.objects.filter(payments__in=payments).distinct():
        settled = sum(
            Payment.objects.filter(bill=bill, settled_at__isnull=False).values_list(
                "amount_minor", flat=True
            )
        )
        assert bill.paid_minor == settled == bill.total_minor, (
            f"bill {bill.reference}: paid {bill.paid_minor}, settled {settled}, "
            f"owed {bill.total_minor}"
        )
    return checked


def assert_commands_pass(env: dict[str, str]) -> None:
    """``ecitizen audit verify`` and ``ecitizen ledger check``, as an operator runs them."""
    for command in (["audit", "verify"], ["ledger", "check"]):
        result = run_ecitizen(*command, env=env, timeout=120)
        assert result.returncode == 0, (
            f"ecitizen {' '.join(command)} failed: {result.stdout}{result.stderr}"
        )
