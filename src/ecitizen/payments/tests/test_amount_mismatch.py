"""A payment settles only when the provider reports exactly the amount and currency it
asked for; otherwise it is not settled and the mismatch is recorded for finance.
Sandbox and Stripe (recorded responses), by every path: the payer's return, webhooks and
reconciliation."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import Role
from ecitizen.core.models import AuditEvent
from ecitizen.payments import services
from ecitizen.payments.ledger import ledger_verify
from ecitizen.payments.models import (
    LedgerTransaction,
    Payment,
    PaymentMismatch,
    PaymentState,
    SandboxCharge,
)
from ecitizen.payments.providers import sandbox
from ecitizen.payments.tests.test_stripe_provider import (
    SESSION_ID,
    WEBHOOK_SECRET,
    RecordedStripe,
    event_body,
    provider,
    signed,
)
from tests.personas import _official, sign_in_official


def _start(bill, key="m1"):
    payment = services.payment_create(
        bill=bill,
        idempotency_key=key,
        return_url="https://example.test/payments/{payment_id}/return/",
        payer=bill.payer,
    )
    return services.payment_start(payment=payment)


def _assert_not_settled(payment: Payment, bill, *, reported_amount, reported_currency) -> None:
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.state == PaymentState.ERROR
    assert payment.finished
    assert payment.failure_message == services.AMOUNT_MISMATCH
    assert payment.settled_at is None
    assert not payment.receipt_code
    assert bill.paid_minor == 0
    assert not LedgerTransaction.objects.filter(key=f"settle:{payment.pk}").exists()
    assert ledger_verify().ok
    mismatch = PaymentMismatch.objects.get(payment=payment)
    assert (mismatch.expected_amount_minor, mismatch.expected_currency) == (
        payment.amount_minor,
        payment.currency,
    )
    assert (mismatch.reported_amount_minor, mismatch.reported_currency) == (
        reported_amount,
        reported_currency,
    )
    event = AuditEvent.objects.get(action="payments.amount_mismatch")
    assert event.object_id == str(payment.pk)


# --- sandbox ---------------------------------------------------------------------------------


def test_the_sandbox_reporting_another_amount_is_not_settled(make_bill, caplog):
    bill = make_bill(amount_minor=7_000)
    payment = _start(bill)
    # The provider's side says it took 70p, not £70 (a tampered or buggy provider).
    SandboxCharge.objects.filter(pk=payment.provider_id).update(amount_minor=70)
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
    with caplog.at_level(logging.ERROR, logger="ecitizen.payments.services"):
        services.payment_refresh(payment=payment)
    _assert_not_settled(payment, bill, reported_amount=70, reported_currency="GBP")
    assert any(
        record.levelno == logging.ERROR and "not settled" in record.getMessage()
        for record in caplog.records
    )
    # Nothing that arrives later settles it: a matching webhook, reconciliation.
    charge = SandboxCharge.objects.get(pk=payment.provider_id)
    body = json.dumps(
        {
            "id": "evt_late",
            "payment_id": charge.pk,
            "state": "success",
            "amount": 7_000,
            "currency": "GBP",
            "sequence": 99,
        }
    ).encode()
    services.webhook_receive(
        provider_name="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)}
    )
    services.payment_refresh(payment=payment, source="reconcile")
    _assert_not_settled(payment, bill, reported_amount=70, reported_currency="GBP")


def test_the_sandbox_reporting_another_currency_is_not_settled(make_bill):
    bill = make_bill(amount_minor=7_000)
    payment = _start(bill)
    SandboxCharge.objects.filter(pk=payment.provider_id).update(currency="EUR")
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
    services.payment_refresh(payment=payment)
    _assert_not_settled(payment, bill, reported_amount=7_000, reported_currency="EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "reported"),
    [(6_999, "GBP", (6_999, "GBP")), (7_000, "USD", (7_000, "USD")), (None, None, (None, ""))],
)
def test_a_sandbox_webhook_reporting_another_amount_is_not_settled(
    make_bill, amount, currency, reported
):
    bill = make_bill(amount_minor=7_000)
    payment = _start(bill)
    event = {"id": "evt_1", "payment_id": payment.provider_id, "state": "success", "sequence": 1}
    if amount is not None:
        event |= {"amount": amount, "currency": currency}
    body = json.dumps(event).encode()
    services.webhook_receive(
        provider_name="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)}
    )
    _assert_not_settled(payment, bill, reported_amount=reported[0], reported_currency=reported[1])


def test_a_matching_report_settles_as_before(make_bill):
    bill = make_bill(amount_minor=7_000)
    payment = _start(bill)
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
    payment = services.payment_refresh(payment=payment)
    assert payment.state == PaymentState.SUCCESS
    assert payment.settled_at is not None
    assert not PaymentMismatch.objects.exists()
    assert payment.events.last().detail["reported"] == {"amount_minor": 7_000, "currency": "GBP"}


# --- Stripe (recorded responses) ------------------------------------------------------------


@pytest.fixture
def stripe_payment(make_bill, settings):
    """A payment through Stripe whose Checkout Session is the recorded one (12,550 GBP
    minor units); the bill asks for ``amount``."""
    settings.STRIPE_SECRET_KEY = "sk_test_recorded"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    def make(amount_minor: int) -> tuple[Payment, object]:
        bill = make_bill(amount_minor=amount_minor)
        payment = services.payment_create(
            bill=bill,
            idempotency_key=f"stripe-{uuid.uuid4()}",
            return_url="https://example.test/{payment_id}/",
            provider_name="stripe",
        )
        Payment.objects.filter(pk=payment.pk).update(
            provider_id=SESSION_ID, next_url="https://checkout.stripe.com/c/pay/x"
        )
        payment.refresh_from_db()
        return payment, bill

    return make


def _stripe_answers(monkeypatch, *responses):
    transport = RecordedStripe(*responses)
    monkeypatch.setattr(services, "get_provider", lambda name=None: provider(transport))
    return transport


def test_stripe_reports_the_amount_and_currency_it_charged(monkeypatch):
    transport = RecordedStripe((200, "checkout_session_complete_paid_expanded"))
    view = provider(transport).get_payment(SESSION_ID)
    assert (view.state, view.amount_minor, view.currency) == ("success", 12_550, "GBP")
    body = event_body("event_checkout_session_completed")
    event = provider(RecordedStripe()).parse_webhook(body=body, headers=signed(body))
    assert (event.state, event.amount_minor, event.currency) == ("success", 12_550, "GBP")


def test_a_stripe_session_paid_for_the_amount_asked_settles(stripe_payment, monkeypatch):
    payment, bill = stripe_payment(12_550)
    _stripe_answers(monkeypatch, (200, "checkout_session_complete_paid_expanded"))
    payment = services.payment_refresh(payment=payment)
    bill.refresh_from_db()
    assert payment.state == PaymentState.SUCCESS
    assert bill.paid_minor == 12_550


def test_a_stripe_session_paid_for_another_amount_is_not_settled(stripe_payment, monkeypatch):
    payment, bill = stripe_payment(12_500)
    _stripe_answers(monkeypatch, (200, "checkout_session_complete_paid_expanded"))
    services.payment_refresh(payment=payment)
    _assert_not_settled(payment, bill, reported_amount=12_550, reported_currency="GBP")


def test_a_stripe_session_paid_in_another_currency_is_not_settled(
    stripe_payment, monkeypatch, settings
):
    settings.CURRENCY = "EUR"
    payment, bill = stripe_payment(12_550)
    assert payment.currency == "EUR"
    _stripe_answers(monkeypatch, (200, "checkout_session_complete_paid_expanded"))
    services.payment_refresh(payment=payment)
    _assert_not_settled(payment, bill, reported_amount=12_550, reported_currency="GBP")


def test_a_stripe_webhook_for_another_amount_is_not_settled(stripe_payment):
    payment, bill = stripe_payment(12_500)
    body = event_body("event_checkout_session_completed")
    services.webhook_receive(provider_name="stripe", body=body, headers=signed(body))
    _assert_not_settled(payment, bill, reported_amount=12_550, reported_currency="GBP")
    assert PaymentMismatch.objects.get().source == "webhook"


# --- what people see ---------------------------------------------------------------------------


@pytest.fixture
def mismatched(make_bill):
    bill = make_bill(amount_minor=7_000)
    payment = _start(bill)
    SandboxCharge.objects.filter(pk=payment.provider_id).update(amount_minor=70)
    sandbox.sandbox_pay(payment.provider_id, card_number=sandbox.SUCCESS_CARD)
    return services.payment_refresh(payment=payment)


def test_finance_sees_the_mismatch_on_the_payment_and_in_the_report(client, department, mismatched):
    finance = _official(Role.FINANCE_OFFICER, department, email="finance@example.test")
    sign_in_official(client, finance)
    page = client.get(reverse("staff:payment", args=[mismatched.pk])).content.decode()
    assert "Not settled: the amount does not match" in page
    assert "The payment provider reported £0.70 paid, but this payment was for £70.00." in page
    report = client.get(
        reverse("staff:payments_report"), {"day": timezone.localdate().isoformat()}
    ).content.decode()
    assert "Payments not settled because the amount did not match" in report
    assert reverse("staff:payment", args=[mismatched.pk]) in report
    assert "£0.70" in report
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    later = client.get(reverse("staff:payments_report"), {"day": tomorrow}).content.decode()
    assert "every payment the providers reported as paid that day was for the amount" in later


def test_the_payer_is_told_not_to_pay_again(client, mismatched):
    session = client.session
    session["payments_made"] = [str(mismatched.pk)]
    session.save()
    page = client.get(reverse("payments:return", args=[mismatched.pk])).content.decode()
    assert "We could not confirm your payment" in page
    assert "Do not pay again." in page
    assert "No money was taken" not in page
