"""Stripe Checkout as a payment provider, through Stripe's official SDK (``StripeClient``).

A payment is one Checkout Session in ``payment`` mode with a single line item; the
session id is our ``provider_id`` and the session's ``url`` is the payer's single-use page.
Requests that create something carry our idempotency key as Stripe's ``Idempotency-Key``
(https://docs.stripe.com/api/idempotent_requests): the same key with the same parameters
returns the same session or refund; the same key with other parameters is refused by
Stripe (``idempotency_error``) and surfaces here as :class:`ProviderError`.

Sessions accept cards only (wallets such as Apple Pay and Google Pay are cards to Stripe).
Delayed methods such as Bacs or SEPA Direct Debit settle days later, long after the
platform gives up on an unfinished payment (90 minutes); allowing them needs that rule
changed first. The mapping below still covers them, should a session ever carry one.

State mapping (the authoritative read, :meth:`StripeProvider.get_payment`)
------------------------------------------------------------------------------
Stripe's documented values: Checkout Session ``status`` is ``open``, ``complete`` or
``expired``, and ``payment_status`` is ``paid``, ``unpaid`` or ``no_payment_required``
(https://docs.stripe.com/api/checkout/sessions/object); PaymentIntent ``status`` is
``requires_payment_method``, ``requires_confirmation``, ``requires_action``,
``processing``, ``requires_capture``, ``canceled`` or ``succeeded``, and
``last_payment_error`` holds the last failed attempt
(https://docs.stripe.com/payments/paymentintents/lifecycle). The session is read with
``expand[]=payment_intent``; Checkout creates the PaymentIntent only when the payer first
submits the form, so ``payment_intent`` is ``null`` before that.

=================  ===============  ================================================  ==========
session status     payment_status   payment intent                                    our state
=================  ===============  ================================================  ==========
open               unpaid           none, ``requires_payment_method`` without an      started
                                    error, ``requires_confirmation``,
                                    ``requires_action``, ``canceled``
open               unpaid           ``requires_payment_method`` with                  failed [1]
                                    ``last_payment_error``
open               unpaid           ``processing``, ``requires_capture``,             submitted
                                    ``succeeded`` (the session completes next)
complete           paid             any                                               success
complete           unpaid           ``requires_payment_method`` with                  failed
                                    ``last_payment_error`` (async payment failed)
complete           unpaid           anything else (async payment pending)             submitted
complete           no_payment_req.  any (never for a positive amount)                 error
expired            any              ``last_payment_error`` present                    failed
expired            any              no error                                          cancelled
anything else                                                                         raises
=================  ===============  ================================================  ==========

A freshly created session is reported as ``created`` by :meth:`create_payment`; Stripe
does not say whether the payer has opened the page, so a later read says ``started``.
Every read and every Checkout Session event also reports the session's ``amount_total``
and ``currency`` (upper-cased): the platform settles a payment only when they are
exactly what it asked for.

[1] After a decline Stripe keeps the session open and lets the payer try another card,
so "failed" would not be final on Stripe's side: a payment we consider finished could
still be paid afterwards and the money would be lost to our books. Before answering
``failed`` for an open session, :meth:`get_payment` therefore expires the session
(``POST /v1/checkout/sessions/{id}/expire``), which makes Stripe agree. If the expiry
is refused because the session has just completed, the session is read again and mapped
as above (then never expired a second time).

Refund states (https://docs.stripe.com/api/refunds/object, ``status``): ``pending`` and
``requires_action`` → ``submitted``; ``succeeded`` → ``success``; ``failed`` and
``canceled`` → ``failed``; a status Stripe adds later → ``submitted`` (not final).

Webhooks (https://docs.stripe.com/checkout/fulfillment, signature scheme
https://docs.stripe.com/webhooks#verify-manually): the ``Stripe-Signature`` header is
checked by the SDK (``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, with the
endpoint secret ``STRIPE_WEBHOOK_SECRET``, timestamps older than
:data:`WEBHOOK_TOLERANCE_SECONDS` refused):

=========================================  =====================================
event type                                 our state
=========================================  =====================================
checkout.session.completed                 success if ``payment_status`` is
                                           ``paid``; submitted if ``unpaid``
                                           (async payment pending); error if
                                           ``no_payment_required``
checkout.session.async_payment_succeeded   success
checkout.session.async_payment_failed      failed
checkout.session.expired                   cancelled
any other type                             "" (empty): a genuine Stripe event
                                           that says nothing about a payment's
                                           state; acknowledge it and ignore it
=========================================  =====================================

A webhook whose signature, timestamp or body is not valid raises
:class:`WebhookRejected`. Webhook states are hints delivered at least once and in any
order; :meth:`get_payment` stays the authoritative read. No card data ever leaves this
module: a ``failure_message`` is Stripe's message for the payer from
``last_payment_error.message`` (for example "Your card was declined."), never the payment
method that error carries; a :class:`ProviderError` names Stripe's error type, code,
parameter, HTTP status and request id, never Stripe's free text; webhook details are a
fixed list of non-personal session fields (no customer details).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import stripe
from django.conf import settings

from ecitizen.payments.providers.base import (
    ProviderError,
    ProviderPayment,
    ProviderRefund,
    WebhookEvent,
    WebhookRejected,
)

#: Stripe accepts ``expires_at`` from 30 minutes to 24 hours after creation; one minute
#: more than the minimum absorbs clock skew between us and Stripe.
SESSION_MIN_LIFETIME_SECONDS: Final = 31 * 60
#: ``expires_at`` is rounded up to this step so that a retry of the same request (same
#: idempotency key) within the step sends identical parameters, as Stripe requires.
#: A session therefore lives between 31 and 46 minutes.
EXPIRY_STEP_SECONDS: Final = 15 * 60
#: Webhooks signed longer ago than this are refused (Stripe's recommended tolerance).
WEBHOOK_TOLERANCE_SECONDS: Final = 300
#: Connect and read timeouts of the default HTTP client (the SDK's own default is 80 s).
HTTP_TIMEOUT_SECONDS: Final = (10.0, 30.0)
#: Retries of connection errors, 409s and 5xx by the SDK, with the same idempotency key.
MAX_NETWORK_RETRIES: Final = 2

EVENT_STATES: Final = {
    "checkout.session.async_payment_succeeded": "success",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "cancelled",
}
REFUND_STATES: Final = {
    "pending": "submitted",
    "requires_action": "submitted",
    "succeeded": "success",
    "failed": "failed",
    "canceled": "failed",
}
PAYMENT_INTENT_SUBMITTED: Final = frozenset({"processing", "requires_capture", "succeeded"})
#: Session fields copied into :attr:`WebhookEvent.detail`; never customer details.
DETAIL_FIELDS: Final = (
    "status",
    "payment_status",
    "amount_total",
    "currency",
    "client_reference_id",
)
MAX_FAILURE_MESSAGE: Final = 300


def _provider_error(action: str, exc: stripe.StripeError) -> ProviderError:
    """A :class:`ProviderError` naming what failed without Stripe's free text (which
    for card errors describes the card)."""
    if isinstance(exc, stripe.IdempotencyError):
        return ProviderError(
            f"Stripe refused to {action}: the idempotency key was already used with "
            f"different parameters (request {exc.request_id or 'unknown'})"
        )
    if isinstance(exc, stripe.APIConnectionError):
        return ProviderError(f"Stripe could not be reached to {action}")
    details = [type(exc).__name__]
    if exc.http_status:
        details.append(f"HTTP {exc.http_status}")
    if exc.code:
        details.append(f"code {exc.code}")
    param = getattr(exc, "param", None)
    if param:
        details.append(f"parameter {param}")
    if exc.request_id:
        details.append(f"request {exc.request_id}")
    return ProviderError(f"Stripe refused to {action}: {', '.join(details)}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _payment_error(payment_intent: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not payment_intent:
        return None
    error = payment_intent.get("last_payment_error")
    return error if isinstance(error, Mapping) and error else None


def _failure_message(error: Mapping[str, Any]) -> str:
    """What the payer is told: Stripe's message for the payer (``"Your card was
    declined."``) or the error code; never the payment method it carries."""
    message = error.get("message") or ""
    if not message:
        code = error.get("decline_code") or error.get("code") or "unknown"
        message = f"The payment was not accepted ({code})."
    return str(message)[:MAX_FAILURE_MESSAGE]


def _open_state(payment_status: Any, intent_status: Any, error: Any) -> tuple[str, str]:
    if error and intent_status == "requires_payment_method":
        return "failed", _failure_message(error)
    if intent_status in PAYMENT_INTENT_SUBMITTED:
        return "submitted", ""
    return "started", ""


def _complete_state(payment_status: Any, intent_status: Any, error: Any) -> tuple[str, str]:
    if payment_status == "paid":
        return "success", ""
    if payment_status == "no_payment_required":
        return "error", "Stripe did not take a payment for this session."
    if error and intent_status == "requires_payment_method":
        return "failed", _failure_message(error)
    return "submitted", ""


def _expired_state(payment_status: Any, intent_status: Any, error: Any) -> tuple[str, str]:
    if error:
        return "failed", _failure_message(error)
    return "cancelled", ""


SESSION_STATES: Final = {
    "open": _open_state,
    "complete": _complete_state,
    "expired": _expired_state,
}


def session_state(session: Mapping[str, Any]) -> tuple[str, str]:
    """Our state and failure message for a Checkout Session (a plain dict as Stripe
    sends it, ``payment_intent`` expanded or not). Pure; see the module's table.
    Raises :class:`ProviderError` for a status this module does not know."""
    status = session.get("status")
    state_of = SESSION_STATES.get(str(status))
    if state_of is None:
        raise ProviderError(f"Stripe returned a Checkout Session status we do not know: {status!r}")
    intent = session.get("payment_intent")
    payment_intent = intent if isinstance(intent, Mapping) else None
    intent_status = payment_intent.get("status") if payment_intent else None
    return state_of(session.get("payment_status"), intent_status, _payment_error(payment_intent))


class StripeProvider:
    """Stripe Checkout behind :class:`~ecitizen.payments.providers.base.PaymentProvider`.

    Configuration: ``STRIPE_SECRET_KEY`` (API calls) and ``STRIPE_WEBHOOK_SECRET``
    (webhook signatures), unless given to the constructor. ``http_client`` replaces the
    SDK's HTTP transport (tests pass a recording fake); ``clock`` returns Unix time.
    Every method except :meth:`parse_webhook` makes HTTPS requests to Stripe.
    """

    name = "stripe"
    # A brand name: the same in every language.
    label = "Stripe"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        webhook_secret: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = MAX_NETWORK_RETRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_key = settings.STRIPE_SECRET_KEY if api_key is None else api_key
        self._webhook_secret = (
            settings.STRIPE_WEBHOOK_SECRET if webhook_secret is None else webhook_secret
        )
        self._clock = clock
        self._client = stripe.StripeClient(
            self._api_key,
            http_client=http_client or stripe.RequestsClient(timeout=HTTP_TIMEOUT_SECONDS),
            max_network_retries=max_network_retries,
        )

    def _api(self) -> stripe.StripeClient:
        if not self._api_key:
            raise ProviderError("STRIPE_SECRET_KEY is not set")
        return self._client

    def _expires_at(self) -> int:
        earliest = int(self._clock()) + SESSION_MIN_LIFETIME_SECONDS
        return -(-earliest // EXPIRY_STEP_SECONDS) * EXPIRY_STEP_SECONDS

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
        """Create a Checkout Session for ``amount_minor`` (> 0, minor units of
        ``currency``) and return it in state ``created`` with the payer's page as
        ``next_url``. The payer comes back to ``return_url`` whether they paid or
        pressed back. Side effect: one session at Stripe per idempotency key (Stripe
        keeps keys for at least 24 hours). Raises :class:`ProviderError`."""
        if amount_minor <= 0:
            raise ValueError("amount_minor must be positive")
        params: dict[str, Any] = {
            "mode": "payment",
            "payment_method_types": ["card"],
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_minor,
                        "product_data": {"name": description},
                    },
                }
            ],
            "client_reference_id": reference,
            "metadata": {"reference": reference},
            "payment_intent_data": {
                "description": description,
                "metadata": {"reference": reference},
            },
            "success_url": return_url,
            "cancel_url": return_url,
            "expires_at": self._expires_at(),
        }
        try:
            session = self._api().v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _provider_error("create the Checkout Session", exc) from None
        data = session.to_dict()
        if not data.get("id") or not data.get("url"):
            raise ProviderError("Stripe created a Checkout Session without an id or a URL")
        return ProviderPayment(
            provider_id=data["id"],
            state="created",
            amount_minor=int(data.get("amount_total") or amount_minor),
            next_url=data["url"],
        )

    def _retrieve(self, provider_id: str) -> dict[str, Any]:
        try:
            session = self._api().v1.checkout.sessions.retrieve(
                provider_id, {"expand": ["payment_intent"]}
            )
        except stripe.StripeError as exc:
            raise _provider_error("read the Checkout Session", exc) from None
        return session.to_dict()

    def _payment(self, session: Mapping[str, Any], state: str, message: str) -> ProviderPayment:
        return ProviderPayment(
            provider_id=str(session["id"]),
            state=state,
            amount_minor=int(session.get("amount_total") or 0),
            next_url=str(session.get("url") or "") if session.get("status") == "open" else "",
            failure_message=message,
            currency=str(session.get("currency") or "").upper(),
        )

    def get_payment(self, provider_id: str) -> ProviderPayment:
        """Stripe's view of the session ``provider_id`` (see the module's table).
        Side effect: an open session whose last attempt failed is expired at Stripe
        first, so that the ``failed`` answered here is final there too. Raises
        :class:`ProviderError` (unreachable, unknown session or status)."""
        session = self._retrieve(provider_id)
        state, message = session_state(session)
        if state != "failed" or session.get("status") != "open":
            return self._payment(session, state, message)
        try:
            expired = self._api().v1.checkout.sessions.expire(provider_id).to_dict()
        except stripe.InvalidRequestError:
            # No longer open: completed meanwhile. Read again; never expire twice.
            session = self._retrieve(provider_id)
            state, message = session_state(session)
            if state == "failed" and session.get("status") == "open":
                state = "started"
            return self._payment(session, state, message)
        except stripe.StripeError as exc:
            raise _provider_error("expire the failed Checkout Session", exc) from None
        if expired.get("status") != "expired":
            raise ProviderError("Stripe did not expire the failed Checkout Session")
        return self._payment(expired, "failed", message)

    def refund(
        self, *, provider_id: str, amount_minor: int, idempotency_key: str
    ) -> ProviderRefund:
        """Refund ``amount_minor`` (> 0) of the paid session ``provider_id`` on its
        PaymentIntent. Side effect: one Stripe refund per idempotency key. Raises
        :class:`ProviderError` if the session is not paid or Stripe refuses (for example
        more than the refundable amount)."""
        if amount_minor <= 0:
            raise ValueError("amount_minor must be positive")
        try:
            session = self._api().v1.checkout.sessions.retrieve(provider_id).to_dict()
        except stripe.StripeError as exc:
            raise _provider_error("read the Checkout Session to refund", exc) from None
        intent = session.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, Mapping) else intent
        if session.get("payment_status") != "paid" or not intent_id:
            raise ProviderError("Stripe has no payment to refund for this Checkout Session")
        try:
            refund = self._api().v1.refunds.create(
                {"payment_intent": str(intent_id), "amount": amount_minor},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _provider_error("refund the payment", exc) from None
        data = refund.to_dict()
        return ProviderRefund(
            provider_refund_id=str(data["id"]),
            state=REFUND_STATES.get(str(data.get("status")), "submitted"),
        )

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        """Check the ``Stripe-Signature`` of ``body`` (the raw request body) and read
        the event (see the module's table; state ``""`` means "valid, nothing to do").
        No network. Raises :class:`WebhookRejected` for a missing or wrong signature, a
        timestamp outside the tolerance, or a body that is not a Stripe event."""
        if not self._webhook_secret:
            raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = self._client.construct_event(
                body,
                _header(headers, "Stripe-Signature"),
                self._webhook_secret,
                tolerance=WEBHOOK_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"Stripe-Signature not valid: {exc.user_message}") from None
        except (ValueError, TypeError, AttributeError):  # not JSON, not UTF-8, not an event
            raise WebhookRejected("the body is not a Stripe event") from None
        data = event.to_dict()
        event_id, event_type = data.get("id"), data.get("type")
        obj = (data.get("data") or {}).get("object")
        if not isinstance(event_id, str) or not isinstance(event_type, str):
            raise WebhookRejected("the Stripe event has no id or type")
        if not isinstance(obj, Mapping):
            raise WebhookRejected("the Stripe event has no data object")
        detail: dict[str, Any] = {"type": event_type, "created": data.get("created")}
        is_session = obj.get("object") == "checkout.session"
        if is_session:
            detail.update({name: obj.get(name) for name in DETAIL_FIELDS})
        if event_type == "checkout.session.completed":
            payment_status = obj.get("payment_status")
            state = {"paid": "success", "no_payment_required": "error"}.get(
                str(payment_status), "submitted"
            )
        else:
            state = EVENT_STATES.get(event_type, "")
        session_id = obj.get("id") if is_session else None
        if state and not (is_session and isinstance(session_id, str) and session_id):
            raise WebhookRejected(f"the {event_type} event carries no Checkout Session")
        amount = obj.get("amount_total") if is_session else None
        return WebhookEvent(
            event_id=event_id,
            provider_id=session_id if isinstance(session_id, str) else "",
            state=state,
            detail=detail,
            amount_minor=amount if isinstance(amount, int) else None,
            currency=str(obj.get("currency") or "").upper() if is_session else "",
        )
