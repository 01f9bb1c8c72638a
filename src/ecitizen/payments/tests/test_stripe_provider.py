"""The Stripe Checkout provider against recorded Stripe responses (no network).

The official SDK runs unchanged; only its HTTP transport is replaced by
:class:`RecordedStripe`, which answers each request with the next recorded response from
``stripe_responses/`` (shaped as in Stripe's API reference) and keeps what was sent, so
that the tests can check the parameters, headers and paths of every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe
from requests.structures import CaseInsensitiveDict

from ecitizen.payments.providers import get_provider
from ecitizen.payments.providers.base import ProviderError, WebhookRejected
from ecitizen.payments.providers.stripe import (
    EXPIRY_STEP_SECONDS,
    SESSION_MIN_LIFETIME_SECONDS,
    WEBHOOK_TOLERANCE_SECONDS,
    StripeProvider,
    session_state,
)

RESPONSES = Path(__file__).parent / "stripe_responses"
API_KEY = "sk_test_51QxR5yLkZ2bN8wYcTestOnlyKey"
WEBHOOK_SECRET = "whsec_test_only_5f0c6d2e8a444c559d0b2b7f1c9a3e61"
SESSION_ID = "cs_test_a1Qm7UoZ3RkXbJ8nVd2LhWcE5yTsPfG4iK9oN6rMaB0xHjYq3Dl7vCuS2e"
PI_ID = "pi_3QxR7tLkZ2bN8wYc0dF4hJ1m"
RETURN_URL = "https://riverton.example/payments/return/5f0c6d2e-8a44-4c55-9d0b-2b7f1c9a3e61/"
REQUEST_ID = "req_Kd3LmN8pQrSt1u"
NOW = 1_793_001_600


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RESPONSES / f"{name}.json").read_text())


@dataclass
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded body, one value per key (as the SDK sends it)."""
        return {key: values[0] for key, values in parse_qs(self.body or "").items()}


class RecordedStripe(stripe.HTTPClient):
    """The SDK's HTTP transport replaced: replies with recorded responses in order."""

    name = "recorded"

    def __init__(self, *responses: tuple[int, str] | Exception) -> None:
        super().__init__()
        self.responses = list(responses)
        self.sent: list[SentRequest] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, CaseInsensitiveDict[str]]:
        self.sent.append(SentRequest(method, url, dict(headers or {}), post_data))
        if not self.responses:
            raise AssertionError(f"unexpected request {method.upper()} {url}")
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        status, name = response
        body = (RESPONSES / f"{name}.json").read_text()
        # Case-insensitive, as the headers of the SDK's own (requests) transport.
        headers = CaseInsensitiveDict(
            {"Request-Id": REQUEST_ID, "Content-Type": "application/json"}
        )
        return body, status, headers

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the provider never streams")

    def close(self) -> None:
        pass

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0  # retries without waiting in tests


def provider(transport: RecordedStripe, **kwargs: Any) -> StripeProvider:
    return StripeProvider(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        http_client=transport,
        clock=lambda: NOW,
        **kwargs,
    )


def create(stripe_provider: StripeProvider, **overrides: Any) -> Any:
    arguments = {
        "amount_minor": 12550,
        "currency": "GBP",
        "reference": "RIV-PT-2027-004211-1",
        "description": "Property tax 2027, instalment 1 of 4",
        "return_url": RETURN_URL,
        "idempotency_key": "pay-5f0c6d2e-8a44-4c55-9d0b-2b7f1c9a3e61",
    }
    return stripe_provider.create_payment(**{**arguments, **overrides})


# --- create_payment ---------------------------------------------------------------------


def test_create_payment_sends_a_checkout_session_with_our_idempotency_key() -> None:
    transport = RecordedStripe((200, "checkout_session_created"))
    payment = create(provider(transport))

    assert payment.provider_id == SESSION_ID
    assert payment.state == "created"
    assert not payment.finished
    assert payment.amount_minor == 12550
    assert payment.next_url == recorded("checkout_session_created")["url"]
    [sent] = transport.sent
    assert (sent.method, sent.url) == ("post", "https://api.stripe.com/v1/checkout/sessions")
    assert sent.headers["Idempotency-Key"] == "pay-5f0c6d2e-8a44-4c55-9d0b-2b7f1c9a3e61"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    form = sent.form
    assert form["mode"] == "payment"
    assert form["payment_method_types[0]"] == "card"
    assert "payment_method_types[1]" not in form
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][unit_amount]"] == "12550"
    assert form["line_items[0][price_data][currency]"] == "gbp"
    assert (
        form["line_items[0][price_data][product_data][name]"]
        == "Property tax 2027, instalment 1 of 4"
    )
    assert form["client_reference_id"] == "RIV-PT-2027-004211-1"
    assert form["metadata[reference]"] == "RIV-PT-2027-004211-1"
    assert form["payment_intent_data[metadata][reference]"] == "RIV-PT-2027-004211-1"
    assert form["success_url"] == RETURN_URL
    assert form["cancel_url"] == RETURN_URL
    expires_at = int(form["expires_at"])
    # Stripe's minimum is 30 minutes after creation; rounded up to a 15-minute step.
    assert NOW + 30 * 60 < NOW + SESSION_MIN_LIFETIME_SECONDS <= expires_at
    assert expires_at < NOW + SESSION_MIN_LIFETIME_SECONDS + EXPIRY_STEP_SECONDS
    assert expires_at % EXPIRY_STEP_SECONDS == 0


def test_a_retry_with_the_same_key_sends_identical_parameters() -> None:
    """Stripe refuses a reused key whose parameters differ, so a retry a few minutes
    later must send the same ``expires_at``."""
    transport = RecordedStripe((200, "checkout_session_created"), (200, "checkout_session_created"))
    clock = iter([NOW, NOW + 7 * 60])
    stripe_provider = StripeProvider(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        http_client=transport,
        clock=lambda: next(clock),
    )
    first, again = create(stripe_provider), create(stripe_provider)

    assert first == again
    assert transport.sent[0].body == transport.sent[1].body
    assert (
        transport.sent[0].headers["Idempotency-Key"] == transport.sent[1].headers["Idempotency-Key"]
    )


def test_a_server_error_is_retried_with_the_same_idempotency_key() -> None:
    transport = RecordedStripe((500, "error_api"), (200, "checkout_session_created"))
    payment = create(provider(transport))

    assert payment.provider_id == SESSION_ID
    assert len(transport.sent) == 2
    assert {sent.headers["Idempotency-Key"] for sent in transport.sent} == {
        "pay-5f0c6d2e-8a44-4c55-9d0b-2b7f1c9a3e61"
    }


def test_same_key_different_request_is_refused() -> None:
    transport = RecordedStripe((400, "error_idempotency"))
    with pytest.raises(ProviderError, match="idempotency key was already used") as caught:
        create(provider(transport), amount_minor=99)
    assert REQUEST_ID in str(caught.value)


def test_an_unreachable_stripe_is_a_provider_error() -> None:
    transport = RecordedStripe(stripe.APIConnectionError("Connection reset", should_retry=False))
    with pytest.raises(ProviderError, match="could not be reached"):
        create(provider(transport, max_network_retries=0))


def test_api_errors_give_the_code_and_request_but_not_stripes_text() -> None:
    transport = RecordedStripe((404, "error_resource_missing"))
    with pytest.raises(ProviderError) as caught:
        provider(transport).get_payment("cs_test_unknown")
    message = str(caught.value)
    assert "code resource_missing" in message
    assert "HTTP 404" in message
    assert REQUEST_ID in message
    assert "No such" not in message


def test_without_an_api_key_nothing_is_sent() -> None:
    transport = RecordedStripe()
    stripe_provider = StripeProvider(
        api_key="", webhook_secret=WEBHOOK_SECRET, http_client=transport
    )
    with pytest.raises(ProviderError, match="STRIPE_SECRET_KEY"):
        create(stripe_provider)
    assert transport.sent == []


@pytest.mark.parametrize("amount", [0, -100])
def test_amount_must_be_positive(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        create(provider(RecordedStripe()), amount_minor=amount)


# --- get_payment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recording", "state", "message"),
    [
        ("checkout_session_open", "started", ""),
        ("checkout_session_open_processing", "submitted", ""),
        ("checkout_session_complete_paid_expanded", "success", ""),
        ("checkout_session_complete_async_pending", "submitted", ""),
        (
            "checkout_session_complete_async_failed",
            "failed",
            "The latest payment attempt of this PaymentIntent has failed",
        ),
        ("checkout_session_expired", "cancelled", ""),
        ("checkout_session_expired_after_decline", "failed", "Your card has insufficient funds."),
    ],
)
def test_get_payment_maps_stripes_states(recording: str, state: str, message: str) -> None:
    transport = RecordedStripe((200, recording))
    payment = provider(transport).get_payment(SESSION_ID)

    assert payment.provider_id == SESSION_ID
    assert payment.state == state
    assert payment.amount_minor == 12550
    assert payment.failure_message.startswith(message)
    assert bool(message) == bool(payment.failure_message)
    assert payment.finished == (state in {"success", "failed", "cancelled", "error"})
    session = recorded(recording)
    assert payment.next_url == (session["url"] if session["status"] == "open" else "")
    [sent] = transport.sent
    assert (sent.method, sent.path) == ("get", f"/v1/checkout/sessions/{SESSION_ID}")
    assert sent.query == {"expand[0]": ["payment_intent"]}


def test_a_declined_open_session_is_expired_before_it_is_reported_failed() -> None:
    transport = RecordedStripe(
        (200, "checkout_session_open_declined"), (200, "checkout_session_expired_by_request")
    )
    payment = provider(transport).get_payment(SESSION_ID)

    assert payment.state == "failed"
    assert payment.finished
    assert payment.failure_message == "Your card was declined."
    assert payment.next_url == ""
    assert [(sent.method, sent.path) for sent in transport.sent] == [
        ("get", f"/v1/checkout/sessions/{SESSION_ID}"),
        ("post", f"/v1/checkout/sessions/{SESSION_ID}/expire"),
    ]
    # Nothing of the card (its last digits, expiry, holder) is passed on.
    assert "0002" not in repr(payment)
    assert "Ada" not in repr(payment)


def test_a_declined_session_that_completed_meanwhile_is_read_again() -> None:
    transport = RecordedStripe(
        (200, "checkout_session_open_declined"),
        (400, "error_session_not_expirable"),
        (200, "checkout_session_complete_paid_expanded"),
    )
    payment = provider(transport).get_payment(SESSION_ID)

    assert payment.state == "success"
    assert [(sent.method, sent.path) for sent in transport.sent] == [
        ("get", f"/v1/checkout/sessions/{SESSION_ID}"),
        ("post", f"/v1/checkout/sessions/{SESSION_ID}/expire"),
        ("get", f"/v1/checkout/sessions/{SESSION_ID}"),
    ]


def test_session_state_for_values_outside_the_recordings() -> None:
    free = {**recorded("checkout_session_complete_paid"), "payment_status": "no_payment_required"}
    assert session_state(free)[0] == "error"
    three_d_secure = recorded("checkout_session_open_processing")
    three_d_secure["payment_intent"]["status"] = "requires_action"
    assert session_state(three_d_secure) == ("started", "")
    with pytest.raises(ProviderError, match="status we do not know"):
        session_state({**recorded("checkout_session_open"), "status": "paused"})


# --- refund -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recording", "state"),
    [("refund_pending", "submitted"), ("refund_succeeded", "success"), ("refund_failed", "failed")],
)
def test_refund_on_the_sessions_payment_intent(recording: str, state: str) -> None:
    transport = RecordedStripe((200, "checkout_session_complete_paid"), (200, recording))
    refund = provider(transport).refund(
        provider_id=SESSION_ID, amount_minor=5000, idempotency_key="refund-77"
    )

    assert refund.provider_refund_id == "re_3QxR7tLkZ2bN8wYc0aBcDeFg"
    assert refund.state == state
    read, sent = transport.sent
    assert (read.method, read.path) == ("get", f"/v1/checkout/sessions/{SESSION_ID}")
    assert (sent.method, sent.path) == ("post", "/v1/refunds")
    assert sent.form == {"payment_intent": PI_ID, "amount": "5000"}
    assert sent.headers["Idempotency-Key"] == "refund-77"


def test_refund_of_an_unpaid_session_is_refused_without_asking_stripe() -> None:
    transport = RecordedStripe((200, "checkout_session_expired"))
    with pytest.raises(ProviderError, match="no payment to refund"):
        provider(transport).refund(provider_id=SESSION_ID, amount_minor=100, idempotency_key="r1")
    assert [sent.path for sent in transport.sent] == [f"/v1/checkout/sessions/{SESSION_ID}"]


def test_refund_refused_by_stripe() -> None:
    transport = RecordedStripe(
        (200, "checkout_session_complete_paid"), (400, "error_refund_too_large")
    )
    with pytest.raises(ProviderError, match="parameter amount") as caught:
        provider(transport).refund(provider_id=SESSION_ID, amount_minor=20000, idempotency_key="r2")
    assert "unrefunded" not in str(caught.value)


# --- webhooks ---------------------------------------------------------------------------


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict[str, str]:
    """The ``Stripe-Signature`` header as Stripe computes it: HMAC-SHA256 with the
    endpoint secret over ``"<timestamp>.<raw body>"``, hex, as ``t=...,v1=...``."""
    timestamp = int(time.time()) if at is None else at
    signature = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={signature}"}


def event_body(name: str) -> bytes:
    return (RESPONSES / f"{name}.json").read_bytes()


@pytest.mark.parametrize(
    ("recording", "state"),
    [
        ("event_checkout_session_completed", "success"),
        ("event_checkout_session_completed_async_pending", "submitted"),
        ("event_checkout_session_async_payment_succeeded", "success"),
        ("event_checkout_session_async_payment_failed", "failed"),
        ("event_checkout_session_expired", "cancelled"),
    ],
)
def test_a_signed_checkout_event_is_accepted(recording: str, state: str) -> None:
    body = event_body(recording)
    event = provider(RecordedStripe()).parse_webhook(body=body, headers=signed(body))

    assert event.event_id == json.loads(body)["id"]
    assert event.provider_id == SESSION_ID
    assert event.state == state
    assert event.detail["type"] == json.loads(body)["type"]
    assert event.detail["client_reference_id"] == "RIV-PT-2027-004211-1"
    assert event.detail["amount_total"] == 12550
    # The customer's details in the session never reach our records.
    assert "resident@example.org" not in json.dumps(event.detail)
    assert "Ada Resident" not in json.dumps(event.detail)


def test_another_event_type_is_valid_but_says_nothing() -> None:
    body = event_body("event_payment_intent_succeeded")
    event = provider(RecordedStripe()).parse_webhook(body=body, headers=signed(body))

    assert event.event_id == "evt_3QxR7tLkZ2bN8wYc0PiSucceeded"
    assert event.state == ""
    assert event.provider_id == ""


def test_header_names_are_case_insensitive_and_rotated_secrets_are_accepted() -> None:
    body = event_body("event_checkout_session_completed")
    now = int(time.time())
    [old] = signed(body, secret="whsec_previous_secret", at=now).values()
    [new] = signed(body, at=now).values()
    header = old + "," + new.split(",")[1]  # t=...,v1=<old>,v1=<current>
    event = provider(RecordedStripe()).parse_webhook(
        body=body, headers={"stripe-signature": header}
    )
    assert event.state == "success"


def test_a_tampered_body_is_rejected() -> None:
    body = event_body("event_checkout_session_completed")
    headers = signed(body)
    tampered = body.replace(b'"amount_total": 12550', b'"amount_total": 1')
    assert tampered != body
    with pytest.raises(WebhookRejected):
        provider(RecordedStripe()).parse_webhook(body=tampered, headers=headers)


def test_a_wrong_secret_is_rejected() -> None:
    body = event_body("event_checkout_session_completed")
    with pytest.raises(WebhookRejected):
        provider(RecordedStripe()).parse_webhook(
            body=body, headers=signed(body, secret="whsec_someone_else")
        )


def test_an_old_timestamp_is_rejected_and_a_recent_one_accepted() -> None:
    body = event_body("event_checkout_session_completed")
    stripe_provider = provider(RecordedStripe())
    too_old = int(time.time()) - WEBHOOK_TOLERANCE_SECONDS - 60
    with pytest.raises(WebhookRejected, match="tolerance"):
        stripe_provider.parse_webhook(body=body, headers=signed(body, at=too_old))
    recent = int(time.time()) - WEBHOOK_TOLERANCE_SECONDS + 60
    assert stripe_provider.parse_webhook(body=body, headers=signed(body, at=recent)).state


@pytest.mark.parametrize(
    "headers",
    [{}, {"Stripe-Signature": ""}, {"Stripe-Signature": "garbage"}, {"Stripe-Signature": "t=1"}],
)
def test_a_missing_or_malformed_signature_is_rejected(headers: dict[str, str]) -> None:
    body = event_body("event_checkout_session_completed")
    with pytest.raises(WebhookRejected):
        provider(RecordedStripe()).parse_webhook(body=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"id": "evt_1", "object": "event", "type": "checkout.session.completed"}',
        b'{"id": "evt_1", "object": "event", "type": "checkout.session.completed",'
        b' "data": {"object": {"object": "payment_intent", "id": "pi_1"}}}',
        b'{"object": "v2.core.event", "id": "evt_2", "type": "v1.billing.meter.error_report"}',
    ],
)
def test_a_correctly_signed_body_that_is_no_stripe_event_is_rejected(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        provider(RecordedStripe()).parse_webhook(body=body, headers=signed(body))


def test_without_a_webhook_secret_every_webhook_is_rejected() -> None:
    body = event_body("event_checkout_session_completed")
    stripe_provider = StripeProvider(
        api_key=API_KEY, webhook_secret="", http_client=RecordedStripe()
    )
    with pytest.raises(WebhookRejected, match="STRIPE_WEBHOOK_SECRET"):
        stripe_provider.parse_webhook(body=body, headers=signed(body, secret=""))


# --- wiring -----------------------------------------------------------------------------


def test_the_provider_is_registered_under_its_name(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    stripe_provider = get_provider("stripe")
    assert isinstance(stripe_provider, StripeProvider)
    assert stripe_provider.name == "stripe"
