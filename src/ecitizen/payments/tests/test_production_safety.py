"""Payments that are not real are never silent: the banner on every page, the sandbox's
pages gone when it is not enabled, and no webhook signed with the empty key."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from ecitizen.payments import services
from ecitizen.payments.models import PaymentState, SandboxCharge
from ecitizen.payments.providers import sandbox
from ecitizen.payments.providers.base import WebhookRejected

BANNER = "Payments on this site are not real. No money is taken: do not use a real card."


def _signed_with(key: bytes, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {sandbox.SIGNATURE_HEADER: f"t={timestamp},v1={digest}"}


def _success_event(charge: SandboxCharge) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{charge.pk}_9",
            "type": "payment.updated",
            "payment_id": charge.pk,
            "state": "success",
            "amount": charge.amount_minor,
            "currency": charge.currency,
            "sequence": 9,
        }
    ).encode()


@pytest.fixture
def started(make_bill):
    bill = make_bill(amount_minor=7_000)
    payment = services.payment_create(
        bill=bill, idempotency_key="safety", return_url="https://e.test/{payment_id}/"
    )
    payment = services.payment_start(payment=payment)
    return payment, SandboxCharge.objects.get(pk=payment.provider_id)


def test_a_webhook_signed_with_the_empty_key_is_never_accepted(started, settings, client):
    payment, charge = started
    settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET = ""
    body = _success_event(charge)
    headers = _signed_with(b"", body)
    with pytest.raises(WebhookRejected, match="not set"):
        services.webhook_receive(provider_name="sandbox", body=body, headers=headers)
    response = client.post(
        "/payments/webhooks/sandbox/",
        body,
        content_type="application/json",
        headers={"X-Sandbox-Signature": headers[sandbox.SIGNATURE_HEADER]},
    )
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.state == PaymentState.CREATED
    assert payment.settled_at is None
    # Nor does the sandbox ever sign anything with it.
    with pytest.raises(WebhookRejected):
        sandbox.sign(body)


def test_a_webhook_signed_with_the_configured_key_is_accepted(started, settings):
    payment, charge = started
    body = _success_event(charge)
    headers = _signed_with(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET.encode(), body)
    sandbox.sandbox_pay(charge.pk, card_number=sandbox.SUCCESS_CARD)
    services.webhook_receive(provider_name="sandbox", body=body, headers=headers)
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUCCESS


@pytest.mark.parametrize("path", ["/", "/pay/", "/accounts/login/", "/no-such-page/"])
def test_every_page_says_payments_are_not_real(client, settings, path, db):
    assert settings.PAYMENTS_NOT_REAL  # the test settings pay through the sandbox
    html = client.get(path).content.decode()
    assert 'id="payments-not-real"' in html
    assert BANNER in html
    assert "govuk-tag--red" in html


def test_no_banner_when_payments_are_real(client, settings, db):
    settings.PAYMENTS_NOT_REAL = False
    html = client.get("/").content.decode()
    assert "payments-not-real" not in html
    assert BANNER not in html


def test_the_sandbox_pages_and_webhooks_are_gone_when_it_is_not_enabled(started, settings, client):
    _payment, charge = started
    assert client.get(f"/sandbox-pay/{charge.pk}/").status_code == 200
    settings.PAYMENT_PROVIDERS = {
        "stripe": "ecitizen.payments.providers.stripe.StripeProvider",
    }
    assert client.get(f"/sandbox-pay/{charge.pk}/").status_code == 404
    assert client.post(f"/sandbox-pay/{charge.pk}/cancel/").status_code == 404
    assert client.get(f"/sandbox-pay/{charge.pk}/challenge/").status_code == 404
    body = _success_event(charge)
    response = client.post(
        "/payments/webhooks/sandbox/",
        body,
        content_type="application/json",
        headers={"X-Sandbox-Signature": sandbox.sign(body)},
    )
    assert response.status_code == 404
