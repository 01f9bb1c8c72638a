"""Webhooks in the public API, for the calling client (scope ``webhooks``).

- ``/api/v1/webhooks/events``: the events one may subscribe to;
- ``/api/v1/webhooks/subscriptions``: the client's subscriptions (for the resident its
  token is for, or for its service account), made here: the answer carries the signing
  secret once;
- ``/api/v1/webhooks/deliveries``: the delivery log (attempts, status codes, durations,
  the category of what went wrong), and ``.../{id}/replay`` to send a delivery again (a
  few times an hour: 429 past that).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from ecitizen.api import selectors
from ecitizen.api.auth import OAuth2, principal_of
from ecitizen.api.models import IntegrationClient, WebhookDelivery, WebhookSubscription
from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.api.problems import ApiProblem
from ecitizen.api.webhooks import (
    WebhookError,
    WebhookReplayLimited,
    delivery_replay,
    subscription_create,
    subscription_delete,
    webhook_events,
)
from ecitizen.core.http import client_ip

router = Router()
_AUTH = OAuth2(["webhooks"])


class EventType(Schema):
    name: str = Field(description="What a subscription names, e.g. `case.submitted`.")
    label: str


class SubscriptionIn(Schema):
    url: str = Field(
        max_length=500, description="Where to POST deliveries: a public https:// address."
    )
    events: list[str] = Field(
        min_length=1, max_length=20, description="Event names (see `/webhooks/events`)."
    )


class Subscription(Schema):
    id: uuid.UUID
    url: str
    events: list[str]
    active: bool
    created_at: datetime.datetime


class NewSubscription(Subscription):
    secret: str = Field(
        description="Signs every delivery (`X-Ecitizen-Signature`); shown only now."
    )


class Attempt(Schema):
    number: int
    started_at: datetime.datetime
    status_code: int | None = None
    duration_ms: int
    error: str = Field(
        "",
        description=(
            "What went wrong, as a category (empty when the endpoint answered 2xx): "
            "`http_status` (see `status_code`), `timeout`, `connection_failed`, "
            "`tls_failed`, `protocol_error`, `address_refused` (the host name does not "
            "resolve, or not to a public address), `invalid_address`, `internal_error`."
        ),
    )


class Delivery(Schema):
    id: uuid.UUID
    subscription: uuid.UUID
    event: str
    event_id: uuid.UUID
    status: str = Field(description="`pending`, `delivered` or `failed`.")
    attempts: int
    next_attempt_at: datetime.datetime | None = None
    created_at: datetime.datetime
    delivered_at: datetime.datetime | None = None
    replay_of: uuid.UUID | None = None
    body: str = Field(description="The JSON sent, exactly (what the signature covers).")
    attempt_log: list[Attempt]


class DeliveryQuery(PageQuery):
    subscription: uuid.UUID | None = Field(None, description="Only this subscription's.")


def _client(request: HttpRequest) -> tuple[IntegrationClient, Any]:
    principal = principal_of(request)
    client = selectors.client_by_client_id(principal.client_id)
    if client is None:  # a token of an application registered outside the platform
        raise ApiProblem(403, "client_unknown", _("This client is not registered for webhooks."))
    return client, principal.user


def _subscription(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.uid,
        "url": subscription.url,
        "events": list(subscription.events),
        "active": subscription.active,
        "created_at": subscription.created_at,
    }


def _delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.uid,
        "subscription": delivery.subscription.uid,
        "event": delivery.event,
        "event_id": delivery.event_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "replay_of": delivery.replay_of.uid if delivery.replay_of else None,
        "body": delivery.body,
        "attempt_log": [
            {
                "number": attempt.number,
                "started_at": attempt.started_at,
                "status_code": attempt.status_code,
                "duration_ms": attempt.duration_ms,
                "error": attempt.error,
            }
            for attempt in selectors.delivery_attempts(delivery)
        ],
    }


@router.get("/events", response=list[EventType], auth=_AUTH, url_name="webhook_events")
def events_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The events a subscription may name."""
    return [{"name": event.name, "label": str(event.label)} for event in webhook_events()]


@router.get(
    "/subscriptions",
    response=page_of(Subscription),
    auth=_AUTH,
    url_name="webhook_subscriptions",
)
def subscriptions_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The client's subscriptions for the token's user, newest first."""
    client, user = _client(request)
    return paginate(
        request,
        selectors.subscriptions_for(client=client, user=user),
        page,
        transform=_subscription,
    )


@router.post(
    "/subscriptions",
    response={201: NewSubscription},
    auth=_AUTH,
    url_name="webhook_subscribe",
)
def subscription_new(request: HttpRequest, data: SubscriptionIn) -> Status:
    """Subscribe to events. Only events about what the token's user may see are
    delivered: a resident's own applications, bills and documents; a back-office
    system's department (and ward). 422 ``webhook_event_unknown`` names the events that
    do not exist; 422 ``webhook_url_invalid``/``webhook_url_private`` refuses an address
    that is not a public https one."""
    client, user = _client(request)
    try:
        subscription, secret = subscription_create(
            client=client,
            user=user,
            url=data.url,
            events=data.events,
            ip_address=client_ip(request),
        )
    except WebhookError as error:
        if error.code == "webhook_subscriptions_limit":
            raise ApiProblem(409, error.code, str(error.message)) from error
        field = "events" if error.code.startswith("webhook_event") else "url"
        raise ApiProblem(
            422,
            error.code,
            str(error.message),
            errors=[{"field": field, "message": str(error.message), "code": error.code}],
        ) from error
    return Status(201, {**_subscription(subscription), "secret": secret})


@router.get(
    "/subscriptions/{subscription_id}",
    response=Subscription,
    auth=_AUTH,
    url_name="webhook_subscription",
)
def subscription_detail(request: HttpRequest, subscription_id: uuid.UUID) -> dict[str, Any]:
    """One subscription (404 for another client's or another user's)."""
    client, user = _client(request)
    return _subscription(selectors.subscription_get(client=client, user=user, uid=subscription_id))


@router.post(
    "/subscriptions/{subscription_id}/stop",
    response=Subscription,
    auth=_AUTH,
    url_name="webhook_unsubscribe",
)
def subscription_stop(request: HttpRequest, subscription_id: uuid.UUID) -> dict[str, Any]:
    """Stop a subscription: nothing more is delivered to it (its log stays readable)."""
    client, user = _client(request)
    subscription = selectors.subscription_get(client=client, user=user, uid=subscription_id)
    subscription_delete(subscription=subscription, user=user, ip_address=client_ip(request))
    subscription.refresh_from_db()
    return _subscription(subscription)


@router.get("/deliveries", response=page_of(Delivery), auth=_AUTH, url_name="webhook_deliveries")
def deliveries_list(request: HttpRequest, query: Query[DeliveryQuery]) -> dict[str, Any]:
    """The delivery log of the client's subscriptions for the token's user, newest
    first, each with its attempts."""
    client, user = _client(request)
    deliveries = selectors.deliveries_for(
        client=client, user=user, subscription_uid=query.subscription
    ).select_related("replay_of")
    return paginate(request, deliveries, query, transform=_delivery)


@router.get("/deliveries/{delivery_id}", response=Delivery, auth=_AUTH, url_name="webhook_delivery")
def delivery_detail(request: HttpRequest, delivery_id: uuid.UUID) -> dict[str, Any]:
    """One delivery and its attempts (404 for another client's)."""
    client, user = _client(request)
    return _delivery(selectors.delivery_get(client=client, user=user, uid=delivery_id))


@router.post(
    "/deliveries/{delivery_id}/replay",
    response={202: Delivery},
    auth=_AUTH,
    url_name="webhook_replay",
)
def delivery_replay_now(request: HttpRequest, delivery_id: uuid.UUID) -> Status:
    """Send a delivery again: a new delivery with the same body and event id, queued
    now. 409 ``webhook_subscription_inactive`` when its subscription was stopped; 429
    ``webhook_replay_limited`` (with ``Retry-After``) past 5 replays of one event, or
    100 of one subscription's deliveries, within an hour."""
    client, user = _client(request)
    delivery = selectors.delivery_get(client=client, user=user, uid=delivery_id)
    try:
        replay = delivery_replay(delivery=delivery, user=user, ip_address=client_ip(request))
    except WebhookReplayLimited as limited:
        raise ApiProblem(
            429,
            limited.code,
            str(limited.message),
            headers={"Retry-After": str(limited.retry_after)},
        ) from limited
    return Status(202, _delivery(replay))
