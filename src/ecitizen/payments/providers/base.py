"""The payment provider interface, with the semantics of GOV.UK Pay.

A provider creates a payment (amount, reference, description, return URL and an
idempotency key), sends the payer to its own single-use page (``next_url``), answers the
authoritative status of a payment, refunds, and signs the webhooks it sends. A real
provider is one module implementing :class:`PaymentProvider`.

States: ``created``, ``started``, ``submitted``, ``success``, ``failed``, ``cancelled``,
``error``; the last four are finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderError(Exception):
    """The provider could not be reached or refused the request (retry later)."""


class WebhookRejected(Exception):
    """A webhook whose signature or content is not valid (answered with 400)."""


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's view of a payment. ``amount_minor`` and ``currency`` (ISO 4217,
    upper case) are what the provider says it charged: a payment is settled only when
    they are exactly what was asked for, so a provider must always fill both."""

    provider_id: str
    state: str
    amount_minor: int
    next_url: str = ""
    failure_message: str = ""
    currency: str = ""

    @property
    def finished(self) -> bool:
        return self.state in {"success", "failed", "cancelled", "error"}


@dataclass(frozen=True)
class ProviderRefund:
    provider_refund_id: str
    state: str  # "submitted", "success" or "failed"


@dataclass(frozen=True)
class WebhookEvent:
    """A checked webhook. ``amount_minor`` and ``currency`` are what the event says was
    charged (``None`` and ``""`` when it does not say); a ``success`` event settles the
    payment only when they match it."""

    event_id: str
    provider_id: str
    state: str
    detail: dict[str, Any] = field(default_factory=dict)
    amount_minor: int | None = None
    currency: str = ""


class PaymentProvider(Protocol):
    name: str
    #: What staff read for it ("Stripe"): text or a lazy translation.
    label: Any

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
        """Create the payment on the provider's side; the same idempotency key returns
        the same payment."""

    def get_payment(self, provider_id: str) -> ProviderPayment:
        """The provider's authoritative view of the payment."""

    def refund(
        self, *, provider_id: str, amount_minor: int, idempotency_key: str
    ) -> ProviderRefund:
        """Refund part or all of a successful payment."""

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        """Check the webhook's signature and read it; raises :class:`WebhookRejected`."""
