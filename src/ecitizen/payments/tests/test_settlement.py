"""Exactly-once settlement whatever arrives, in whatever order, with a balanced ledger."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ecitizen.documents.models import IssuedDocument
from ecitizen.payments import services
from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import LedgerTransaction, Payment, PaymentState, SandboxCharge
from ecitizen.payments.providers import sandbox
from ecitizen.payments.providers.base import WebhookRejected


def _start(bill, key="k1", instalment=None):
    payment = services.payment_create(
        bill=bill,
        idempotency_key=key,
        return_url="https://example.test/payments/{payment_id}/return/",
        instalment_number=instalment,
        payer=bill.payer,
    )
    return services.payment_start(payment=payment)


def _webhook_for(charge: SandboxCharge, state: str, sequence: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": f"evt_{charge.pk}_{sequence}",
            "type": "payment.updated",
            "payment_id": charge.pk,
            "state": state,
            "amount": charge.amount_minor,
            "currency": charge.currency,
            "sequence": sequence,
        },
        separators=(",", ":"),
    ).encode()
    return body, {sandbox.SIGNATURE_HEADER: sandbox.sign(body)}


def test_a_card_payment_settles_once_with_a_receipt(make_bill, django_capture_on_commit_callbacks):
    bill = make_bill(amount_minor=4_300)
    payment = _start(bill)
    assert payment.amount_minor == 4_300
    assert payment.next_url.startswith("/sandbox-pay/")
    sandbox.sandbox_open(payment.provider_id)
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
        payment = services.payment_refresh(payment=payment)
        services.payment_refresh(payment=payment)
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.state == PaymentState.SUCCESS
    assert bill.paid_minor == 4_300
    assert bill.balance_minor == 0
    assert LedgerTransaction.objects.filter(key=f"settle:{payment.pk}").count() == 1
    assert payment.receipt_code
    assert IssuedDocument.objects.filter(template="receipt").count() == 1
    assert ledger_verify().ok


def test_declined_and_insufficient_funds_leave_the_bill_unpaid(make_bill):
    bill = make_bill()
    for key, card, message in [
        ("a", sandbox.DECLINED_CARD, "card_declined"),
        ("b", sandbox.INSUFFICIENT_FUNDS_CARD, "insufficient_funds"),
    ]:
        payment = _start(bill, key)
        sandbox.sandbox_pay(payment.provider_id, card_number=card)
        payment = services.payment_refresh(payment=payment)
        assert payment.state == PaymentState.FAILED
        assert payment.failure_message == message
    bill.refresh_from_db()
    assert bill.paid_minor == 0


def test_same_key_same_request_same_payment_different_request_refused(make_bill):
    bill = make_bill(amount_minor=10_000, instalments=[])
    first = _start(bill, "same")
    again = _start(bill, "same")
    assert again.pk == first.pk
    other = make_bill(amount_minor=999)
    with pytest.raises(services.IdempotencyConflict):
        services.payment_create(
            bill=other, idempotency_key="same", return_url="https://example.test/{payment_id}"
        )


def test_a_stated_amount_must_be_what_is_owed(make_bill):
    bill = make_bill(amount_minor=5_000)
    with pytest.raises(services.PaymentError, match="does not match"):
        services.payment_create_checked(
            amount_minor=1, bill=bill, idempotency_key="x", return_url="https://e.test/{payment_id}"
        )


def test_webhooks_must_be_signed(make_bill):
    bill = make_bill()
    payment = _start(bill)
    charge = SandboxCharge.objects.get(pk=payment.provider_id)
    body, headers = _webhook_for(charge, "success", 1)
    with pytest.raises(WebhookRejected):
        services.webhook_receive(
            provider_name="sandbox", body=body.replace(b"success", b"failed!"), headers=headers
        )
    with pytest.raises(WebhookRejected):
        services.webhook_receive(
            provider_name="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: "t=1,v1=00"}
        )


def test_a_timed_out_payment_is_settled_by_reconciliation(make_bill, settings):
    import time_machine
    from django.utils import timezone

    bill = make_bill()
    payment = _start(bill)
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.TIMEOUT_CARD)
    assert services.payment_refresh(payment=payment).state == PaymentState.CREATED  # no answer
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10)):
        assert services.payments_reconcile() == (1, 0)
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUCCESS


def test_unfinished_payments_expire_after_90_minutes(make_bill):
    import time_machine
    from django.utils import timezone

    payment = _start(make_bill())
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=91)):
        assert services.payments_reconcile() == (1, 1)
    payment.refresh_from_db()
    assert payment.state == PaymentState.FAILED
    assert payment.failure_message == "expired"


EVENTS = st.lists(
    st.sampled_from(
        ["webhook_started", "webhook_success", "return", "reconcile", "duplicate", "late_started"]
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.django_db
@hypothesis_settings(  # as many examples as the profile says (conftest.py): each is slow
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=EVENTS, data=st.data())
def test_any_order_of_events_settles_exactly_once(
    make_bill, events, data, django_capture_on_commit_callbacks
):
    """Provider events duplicated, delayed and reordered, interleaved with the payer's
    return and the reconciliation job: one settlement, one receipt, a balanced ledger."""
    bill = make_bill(amount_minor=2_500)
    payment = _start(bill, key=f"prop-{Payment.objects.count()}")
    charge = SandboxCharge.objects.get(pk=payment.provider_id)
    sandbox.sandbox_pay(charge.pk, card_number=sandbox.SUCCESS_CARD)  # the provider's truth
    charge.refresh_from_db()
    sent: list[tuple[bytes, dict[str, str]]] = []
    with django_capture_on_commit_callbacks(execute=True):
        for event in [*events, "webhook_success"]:
            if event == "webhook_started":
                sent.append(_webhook_for(charge, "started", 1))
            elif event == "webhook_success":
                sent.append(_webhook_for(charge, "success", 2))
            elif event == "late_started":
                sent.append(_webhook_for(charge, "submitted", 0))
            if event.startswith(("webhook", "late")):
                services.webhook_receive(
                    provider_name="sandbox", body=sent[-1][0], headers=sent[-1][1]
                )
            elif event == "duplicate" and sent:
                body, headers = data.draw(st.sampled_from(sent))
                services.webhook_receive(provider_name="sandbox", body=body, headers=headers)
            elif event == "return":
                services.payment_refresh(payment=payment)
            elif event == "reconcile":
                services.payment_refresh(payment=payment, source="reconcile")
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.state == PaymentState.SUCCESS
    assert LedgerTransaction.objects.filter(key=f"settle:{payment.pk}").count() == 1
    assert bill.paid_minor == 2_500
    assert IssuedDocument.objects.filter(reference__startswith=f"{bill.reference}/").count() == 1
    assert ledger_verify().ok


def test_refunds_never_exceed_the_payment(make_bill, supervisor):
    bill = make_bill(amount_minor=10_000)
    payment = _start(bill)
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
    payment = services.payment_refresh(payment=payment)
    services.refund_create(
        payment=payment, amount_minor=6_000, reason="Overcharged", actor=supervisor
    )
    with pytest.raises(services.PaymentError, match=r"at most £40\.00"):
        services.refund_create(
            payment=payment, amount_minor=4_001, reason="Again", actor=supervisor
        )
    services.refund_create(payment=payment, amount_minor=4_000, reason="The rest", actor=supervisor)
    bill.refresh_from_db()
    assert bill.refunded_minor == 10_000
    assert bill.balance_minor == 10_000
    assert ledger_verify().ok
    from ecitizen.notifications.models import Notification

    assert Notification.objects.filter(recipient=bill.payer, event="payment_refunded").count() == 4


@pytest.mark.db_specific
def test_the_ledger_refuses_changes(make_bill):
    from django.db import DatabaseError, transaction

    from ecitizen.payments.models import LedgerEntry

    make_bill()
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.update(amount_minor=0)
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.all().delete()


@pytest.mark.db_specific
@pytest.mark.django_db
def test_ledger_entries_are_indexed_by_bill_through_one_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "payments_ledgerentry")
    indexed = [info["columns"] for info in constraints.values() if info["index"]]
    assert ["bill_id", "account_id"] in indexed
    assert ["bill_id"] not in indexed


def test_ledger_check_command(make_bill):
    from io import StringIO

    from django.core.management import call_command

    make_bill()
    out = StringIO()
    call_command("ledger", "check", stdout=out)
    assert "The ledger is consistent" in out.getvalue()


def test_a_tampered_amount_is_ignored(client, make_bill):
    fine = make_bill(amount_minor=7_000, payer=None, postcode="RV1 4AB")
    session = client.session
    session["payments_bills"] = [fine.reference]
    session.save()
    page = client.get(f"/pay/{fine.reference}/")
    key = page.context["form"].initial["key"]
    response = client.post(
        f"/pay/{fine.reference}/", {"key": str(key), "amount": "0.01", "amount_minor": "1"}
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.amount_minor == 7_000
