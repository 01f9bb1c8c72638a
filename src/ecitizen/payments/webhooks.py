"""The payments app's webhook event for integrators (``payment.settled``): registered
from ``PaymentsConfig.ready`` with :func:`register_webhook_events`; delivered by the api
app. The payload names the bill by its reference and the amount paid, never the payer."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.events import PaymentSettled
from ecitizen.core.registry import WebhookEvent, registry
from ecitizen.payments.models import Bill


def payment_audience(event: Any) -> dict[str, Any]:
    """The bill's payer and department (bills belong to no ward)."""
    row = Bill.objects.filter(pk=event.bill_id).values("payer_id", "department_id").first()
    if row is None:
        return {"user_id": None, "department_id": None, "ward_id": None}
    return {"user_id": row["payer_id"], "department_id": row["department_id"], "ward_id": None}


def payment_settled_payload(event: Any) -> dict[str, Any]:
    return {
        "payment_id": event.payment_id,
        "bill_reference": event.bill_reference,
        "amount_minor": event.amount_minor,
        "currency": event.currency,
        "provider": event.provider,
    }


def register_webhook_events() -> None:
    """Offer the payment event to integrators (idempotent)."""
    registry.register_webhook_event(
        WebhookEvent(
            name="payment.settled",
            label=_("A payment was received and posted to its bill"),
            event_type=PaymentSettled,
            payload=payment_settled_payload,
            audience=payment_audience,
            scopes=("bills:read", "cases:read"),
        )
    )
