"""A receipt task run again (its worker died after the work was done, before the task was
recorded, so a live worker requeued it): still one receipt, one notice to the payer."""

from __future__ import annotations

from ecitizen.documents.models import IssuedDocument
from ecitizen.notifications.models import Notification
from ecitizen.payments import services
from ecitizen.payments.models import PaymentState
from ecitizen.payments.providers import sandbox
from ecitizen.payments.tasks import payment_receipt_issue


def test_issuing_a_receipt_again_issues_nothing_more(
    make_bill, resident, django_capture_on_commit_callbacks
):
    bill = make_bill(amount_minor=4_300)
    payment = services.payment_create(
        bill=bill,
        idempotency_key="rerun",
        return_url="https://example.test/payments/{payment_id}/return/",
        payer=bill.payer,
    )
    payment = services.payment_start(payment=payment)
    sandbox.sandbox_open(payment.provider_id)
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
        payment = services.payment_refresh(payment=payment)
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUCCESS
    assert IssuedDocument.objects.filter(template="receipt").count() == 1

    payment_receipt_issue.call(str(payment.pk))
    payment_receipt_issue.call(str(payment.pk))

    assert IssuedDocument.objects.filter(template="receipt").count() == 1
    notices = Notification.objects.filter(recipient=resident, event="payment_received")
    assert sorted(notices.values_list("channel", flat=True)) == ["email", "inbox"]
