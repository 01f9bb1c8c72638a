"""The built-in sandbox payment provider: it behaves like a real payment service provider
so that every path of the platform can be exercised without one.

- A hosted card page under its own URL prefix (``/sandbox-pay/<id>/``), single-use.
- Test cards (any future expiry date, any 3-digit security code):

  ================  =====================================================
  4242424242424242  success
  4000000000000002  declined
  4000000000009995  declined: insufficient funds
  4000000000003220  a challenge step (like 3-D Secure), then success or failure
  4000000000000119  the provider times out: the payment stays "submitted" and
                    status queries fail for ``TIMEOUT_SECONDS``, then it succeeds
  ================  =====================================================

- Webhooks signed with HMAC-SHA256 (``X-Sandbox-Signature: t=<unix time>,v1=<hex>`` over
  ``"<t>.<body>"``) are delivered through the task worker with retries. For testing, the
  setting ``PAYMENTS_SANDBOX_WEBHOOK_MODE`` makes it ``duplicate``, ``delay``, ``reorder``
  or ``drop`` them (default ``normal``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.payments.models import FINISHED_STATES, PaymentState, SandboxCharge
from ecitizen.payments.providers.base import (
    ProviderError,
    ProviderPayment,
    ProviderRefund,
    WebhookEvent,
    WebhookRejected,
)

SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
CHALLENGE_CARD = "4000000000003220"
TIMEOUT_CARD = "4000000000000119"
TIMEOUT_SECONDS = 120
SIGNATURE_HEADER = "X-Sandbox-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
WEBHOOK_RETRY_DELAYS = (10, 60, 300, 1800)

OUTCOMES = {
    SUCCESS_CARD: (PaymentState.SUCCESS, ""),
    DECLINED_CARD: (PaymentState.FAILED, "card_declined"),
    INSUFFICIENT_FUNDS_CARD: (PaymentState.FAILED, "insufficient_funds"),
}


def _secret() -> bytes:
    """The webhook signing key. An empty key is refused in every mode: an HMAC under
    the empty key is one anybody can compute, so it proves nothing."""
    secret = str(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET or "")
    if not secret:
        raise WebhookRejected("PAYMENTS_SANDBOX_WEBHOOK_SECRET is not set")
    return secret.encode()


def sign(body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body``. Raises :class:`WebhookRejected` when
    no secret is set (nothing signed with the empty key is ever sent or accepted)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        _secret(),
        f"{timestamp}.".encode() + body,
        hashlib.sha256,
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_url() -> str:
    return settings.PAYMENTS_SANDBOX_WEBHOOK_URL or (
        settings.PUBLIC_BASE_URL.rstrip("/") + reverse("payments:webhook", args=["sandbox"])
    )


def _event_body(charge: SandboxCharge) -> bytes:
    charge.event_sequence += 1
    return json.dumps(
        {
            "id": f"evt_{charge.id}_{charge.event_sequence}",
            "type": "payment.updated",
            "payment_id": charge.id,
            "state": charge.state,
            "amount": charge.amount_minor,
            "currency": charge.currency,
            "sequence": charge.event_sequence,
        },
        separators=(",", ":"),
    ).encode()


def _emit(charge: SandboxCharge) -> None:
    """Queue the webhook for the charge's new state (after the change commits), shaped
    by the test mode."""
    from ecitizen.payments.tasks import sandbox_deliver_webhook

    body = _event_body(charge).decode()
    charge.save(update_fields=["event_sequence"])
    mode = getattr(settings, "PAYMENTS_SANDBOX_WEBHOOK_MODE", "normal")
    if mode == "drop":
        return
    deliveries = [(body, 0)]
    if mode == "duplicate":
        deliveries.append((body, 0))
    elif mode in {"delay", "reorder"}:
        # Late: a minute later ("reorder": the earlier events arrive after later ones).
        deliveries = [(body, 60 if mode == "delay" else 60 - charge.event_sequence)]

    def send() -> None:
        for payload, delay in deliveries:
            task = sandbox_deliver_webhook
            if delay and task.get_backend().supports_defer:
                task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
            task.enqueue(payload, 0)

    transaction.on_commit(send)


class SandboxProvider:
    """The sandbox as a :class:`~ecitizen.payments.providers.base.PaymentProvider`."""

    name = "sandbox"
    label = _("Sandbox (test payments)")

    @transaction.atomic
    def create_payment(
        self,
        *,
        amount_minor: int,
        currency: str,
        reference: str,
        description: str,
        return_url: str,
        idempotency_key: str,
    ) -> ProviderPayment:
        charge, _created = SandboxCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "id": "sbx_" + secrets.token_urlsafe(18),
                "amount_minor": amount_minor,
                "currency": currency,
                "reference": reference,
                "description": description,
                "return_url": return_url,
            },
        )
        return self._view(charge)

    def _view(self, charge: SandboxCharge) -> ProviderPayment:
        return ProviderPayment(
            provider_id=charge.id,
            state=charge.state,
            amount_minor=charge.amount_minor,
            next_url=reverse("payments:sandbox_card", args=[charge.id]),
            failure_message=charge.failure_code,
            currency=charge.currency.upper(),
        )

    def get_payment(self, provider_id: str) -> ProviderPayment:
        charge = SandboxCharge.objects.filter(pk=provider_id).first()
        if charge is None:
            raise ProviderError(f"unknown sandbox payment {provider_id}")
        if charge.failure_code == "timeout":
            if timezone.now() - charge.created_at < timedelta(seconds=TIMEOUT_SECONDS):
                raise ProviderError("the sandbox provider timed out")
            charge = sandbox_resolve_timeout(charge)
        return self._view(charge)

    @transaction.atomic
    def refund(
        self, *, provider_id: str, amount_minor: int, idempotency_key: str
    ) -> ProviderRefund:
        charge = SandboxCharge.objects.select_for_update().filter(pk=provider_id).first()
        if charge is None or charge.state != PaymentState.SUCCESS:
            raise ProviderError("only a successful sandbox payment can be refunded")
        if charge.refunded_minor + amount_minor > charge.amount_minor:
            return ProviderRefund(provider_refund_id="", state="failed")
        charge.refunded_minor += amount_minor
        charge.save(update_fields=["refunded_minor"])
        return ProviderRefund(provider_refund_id=f"rfd_{idempotency_key}", state="success")

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        """Check the signature and read the event; raises :class:`WebhookRejected` for
        a missing, old or wrong signature, a body that is not a sandbox event, and for
        every webhook while no secret is set."""
        _secret()
        header = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower(), "")
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise WebhookRejected("no timestamp in the signature") from None
        if abs(time.time() - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise WebhookRejected("the signature is too old")
        expected = sign(body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise WebhookRejected("the signature does not match")
        try:
            data = json.loads(body)
            amount = data.get("amount")
            return WebhookEvent(
                event_id=str(data["id"]),
                provider_id=str(data["payment_id"]),
                state=str(data["state"]),
                detail={"sequence": data.get("sequence")},
                amount_minor=amount if isinstance(amount, int) else None,
                currency=str(data.get("currency") or "").upper(),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRejected("the body is not a sandbox event") from None


# --- the hosted page's actions (called by the sandbox's own views) ------------------------


def _lock(charge_id: str) -> SandboxCharge:
    return SandboxCharge.objects.select_for_update().get(pk=charge_id)


@transaction.atomic
def sandbox_open(charge_id: str) -> SandboxCharge:
    """The payer opened the card page: the payment has started."""
    charge = _lock(charge_id)
    if charge.state == PaymentState.CREATED:
        charge.state = PaymentState.STARTED
        charge.save(update_fields=["state"])
        _emit(charge)
    return charge


@transaction.atomic
def sandbox_pay(charge_id: str, *, card_number: str) -> SandboxCharge:
    """The payer submitted a card: the outcome the test card stands for. A challenge card
    moves to ``submitted`` and waits for :func:`sandbox_challenge`."""
    charge = _lock(charge_id)
    if charge.state in FINISHED_STATES or charge.page_used:
        return charge
    charge.card_last4 = card_number[-4:]
    if card_number == CHALLENGE_CARD:
        charge.state = PaymentState.SUBMITTED
        charge.failure_code = "challenge"
    elif card_number == TIMEOUT_CARD:
        charge.state = PaymentState.SUBMITTED
        charge.failure_code = "timeout"
        charge.page_used = True
    else:
        charge.state, charge.failure_code = OUTCOMES.get(
            card_number, (PaymentState.FAILED, "card_declined")
        )
        charge.page_used = True
    charge.save()
    _emit(charge)
    return charge


@transaction.atomic
def sandbox_challenge(charge_id: str, *, approve: bool) -> SandboxCharge:
    charge = _lock(charge_id)
    if charge.state != PaymentState.SUBMITTED or charge.failure_code != "challenge":
        return charge
    charge.state = PaymentState.SUCCESS if approve else PaymentState.FAILED
    charge.failure_code = "" if approve else "authentication_failed"
    charge.page_used = True
    charge.save()
    _emit(charge)
    return charge


@transaction.atomic
def sandbox_cancel(charge_id: str) -> SandboxCharge:
    charge = _lock(charge_id)
    if charge.state not in FINISHED_STATES and not charge.page_used:
        charge.state = PaymentState.CANCELLED
        charge.page_used = True
        charge.save()
        _emit(charge)
    return charge


@transaction.atomic
def sandbox_resolve_timeout(charge: SandboxCharge) -> SandboxCharge:
    """A timed-out payment completes once the provider answers again."""
    charge = _lock(charge.pk)
    if charge.failure_code == "timeout" and charge.state == PaymentState.SUBMITTED:
        charge.state = PaymentState.SUCCESS
        charge.failure_code = ""
        charge.save()
        _emit(charge)
    return charge


def delivery_headers(body: bytes) -> dict[str, Any]:
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)}
