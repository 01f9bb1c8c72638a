"""Webhooks for integrators: subscriptions, signed deliveries, retries and replays.

How an event reaches a client:

1. an app registers webhook events (``registry.register_webhook_event``): a name, the
   domain event it is made from, its payload (references, codes, states: no personal
   field) and its audience;
2. :func:`webhook_event_fanout` is subscribed to those domain events (``ApiConfig``): it
   runs as a background task once the change is committed and makes one
   :class:`~ecitizen.api.models.WebhookDelivery` per active subscription entitled to the
   event (:func:`entitled`), each sent by the ``webhook_deliver`` task on commit;
3. :func:`delivery_attempt` POSTs the body, signed: header ``X-Ecitizen-Signature:
   t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body with the subscription's secret>``
   (as the payments sandbox signs), within ``WEBHOOK_TIMEOUT_SECONDS``, to a public
   address only (:func:`target_address`); every attempt is logged;
4. a delivery that failed is tried again after 30 s, 1 min, 2 min... (doubling, at most
   6 h) by the ``webhooks retry`` job, until ``WEBHOOK_MAX_ATTEMPTS``; a client may replay
   any delivery (:func:`delivery_replay`).

Deliveries are at least once: a receiver deduplicates by the body's ``id`` (the event's,
the same in a replay) or the ``X-Ecitizen-Delivery`` header (the delivery's).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import remit_covers
from ecitizen.api.models import (
    Consent,
    IntegrationClient,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from ecitizen.api.oauth import BACK_OFFICE, RESIDENT_APP
from ecitizen.core.errors import DomainError
from ecitizen.core.registry import WebhookEvent, registry
from ecitizen.core.services import audit_record

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Ecitizen-Signature"
EVENT_HEADER = "X-Ecitizen-Event"
DELIVERY_HEADER = "X-Ecitizen-Delivery"
#: A receiver should refuse a signature older than this (as the payments sandbox does).
SIGNATURE_TOLERANCE_SECONDS = 300
#: First retry delay; each next one doubles, up to :data:`RETRY_MAX_DELAY`.
RETRY_FIRST_DELAY = 30
RETRY_MAX_DELAY = 6 * 3600
#: At most this much of an answer is read (and then thrown away).
RESPONSE_READ_LIMIT = 64 * 1024
USER_AGENT = "ecitizen-webhooks/1"
#: Active subscriptions a client may have for one user (resident or service account).
MAX_SUBSCRIPTIONS = 20


class WebhookError(DomainError):
    code = "webhook_invalid"


class WebhookTargetRefused(Exception):
    """The endpoint's address may not be reached (a private or loopback address in
    production, a scheme other than https, a name that does not resolve)."""


# --- Events and entitlement ---------------------------------------------------------------


def webhook_events() -> list[WebhookEvent]:
    """The registered webhook events, by name."""
    return sorted(registry.webhook_events.values(), key=lambda event: event.name)


def webhook_events_for(event_type: type) -> list[WebhookEvent]:
    return [event for event in webhook_events() if event.event_type is event_type]


def granted_scopes(subscription: WebhookSubscription) -> set[str]:
    """What the subscription's client may see for its user: the resident's consent's
    scopes for an app acting for residents, the client's scopes for a back-office
    system."""
    client = subscription.client
    if client.kind == BACK_OFFICE:
        return set(client.scope_list)
    consent = Consent.objects.filter(
        user_id=subscription.user_id,
        application_id=client.application_id,
        revoked_at__isnull=True,
    ).first()
    return set(consent.scope_list) if consent else set()


def entitled(
    subscription: WebhookSubscription, definition: WebhookEvent, audience: Mapping[str, Any]
) -> bool:
    """Whether the subscription may receive an event with this ``audience``: an app acting
    for residents only for its own resident's objects (with a live consent granting one
    of the event's scopes); a back-office system only within the department (and ward)
    of its service account's role."""
    client = subscription.client
    granted = granted_scopes(subscription)
    if (
        not subscription.active
        or client.disabled_at is not None
        or not granted  # no live consent (or a client that may be granted nothing)
        or (definition.scopes and not granted & set(definition.scopes))
    ):
        return False
    if client.kind == RESIDENT_APP:
        user_id = audience.get("user_id")
        return user_id is not None and user_id == subscription.user_id
    if client.kind != BACK_OFFICE or not client.role:
        return False
    if subscription.user_id != client.service_account_id:
        return False
    return remit_covers(
        subscription.user,
        frozenset({client.role}),
        departments=audience.get("department_id"),
        ward_id=audience.get("ward_id"),
    )


# --- Subscriptions ------------------------------------------------------------------------


def _events_valid(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(name).strip() for name in events))
    if not chosen:
        raise WebhookError(
            _("Name at least one event to subscribe to."), code="webhook_events_required"
        )
    unknown = [name for name in chosen if name not in registry.webhook_events]
    if unknown:
        raise WebhookError(
            _("Unknown webhook events: %(unknown)s. The events are: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(registry.webhook_events))},
            code="webhook_event_unknown",
        )
    return chosen


def _url_valid(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname or len(url) > 500:
        raise WebhookError(
            _("The address must be a full https:// address of at most 500 characters."),
            code="webhook_url_invalid",
        )
    if parts.username or parts.password:
        raise WebhookError(
            _("The address must not carry a user name or password."),
            code="webhook_url_invalid",
        )
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not allow_private and not _public(literal):
        raise WebhookError(
            _("The address must be on the public internet."), code="webhook_url_private"
        )
    return url


@transaction.atomic
def subscription_create(
    *,
    client: IntegrationClient,
    user: Any,
    url: str,
    events: Iterable[str],
    ip_address: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``client`` (acting as ``user``: its token's user) to ``events`` at
    ``url`` and return the subscription with its signing secret in clear (shown once,
    kept encrypted). Raises :class:`WebhookError`: ``webhook_event_unknown`` for an event
    name that is not registered, ``webhook_url_invalid`` / ``webhook_url_private`` for an
    address that is not a public https one, ``webhook_subscriptions_limit`` past
    :data:`MAX_SUBSCRIPTIONS`. Audited (``api.webhook_subscribed``)."""
    if client.disabled_at is not None:
        raise WebhookError(_("This client is disabled."), code="client_disabled")
    active = WebhookSubscription.objects.filter(client=client, user=user, active=True)
    if active.count() >= MAX_SUBSCRIPTIONS:
        raise WebhookError(
            _("A client may have at most %(count)d active subscriptions: stop one first.")
            % {"count": MAX_SUBSCRIPTIONS},
            code="webhook_subscriptions_limit",
        )
    chosen = _events_valid(events)
    url = _url_valid(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(
        client=client, user=user, url=url, events=chosen, secret=secret
    )
    audit_record(
        action="api.webhook_subscribed",
        actor=user,
        obj=subscription,
        subject_user_id=user.pk if client.kind == RESIDENT_APP else None,
        changes={
            "client_id": {"before": None, "after": client.application.client_id},
            "url": {"before": None, "after": url},
            "events": {"before": None, "after": chosen},
        },
        ip_address=ip_address,
    )
    return subscription, secret


@transaction.atomic
def subscription_delete(
    *, subscription: WebhookSubscription, user: Any, ip_address: str | None = None
) -> None:
    """Stop a subscription (its delivery log is kept with it until it is deleted with the
    client). Audited (``api.webhook_unsubscribed``)."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    audit_record(
        action="api.webhook_unsubscribed",
        actor=user,
        obj=subscription,
        changes={"active": {"before": True, "after": False}},
        ip_address=ip_address,
    )


# --- Fan-out: from domain events to deliveries --------------------------------------------


def _enqueue(delivery_pks: list[int]) -> None:
    """Queue a ``webhook_deliver`` task per delivery, once this transaction commits (in
    it, with the database task backend, like ``core.events``)."""
    from ecitizen.api.tasks import webhook_deliver

    for pk in delivery_pks:
        enqueue = partial(webhook_deliver.enqueue, pk)
        if settings.TASKS_BACKEND == "database":
            enqueue()
        else:
            transaction.on_commit(enqueue)


def webhook_body(*, name: str, event_id: uuid.UUID, data: Mapping[str, Any]) -> str:
    """The JSON a delivery sends: ``{"id", "event", "created_at", "data"}``."""
    return json.dumps(
        {
            "id": str(event_id),
            "event": name,
            "created_at": timezone.now().isoformat().replace("+00:00", "Z"),
            "data": dict(data),
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def webhook_event_fanout(event: Any) -> None:
    """Subscriber of every domain event that webhook events are made from: make and queue
    the deliveries of ``event`` to every subscription entitled to it (see
    :func:`webhook_deliveries_make`)."""
    webhook_deliveries_make(event)


def webhook_deliveries_make(event: Any) -> int:
    """Make and queue the deliveries of ``event`` to every subscription entitled to it;
    returns how many. Runs in its own transaction as a background task (``core.events``);
    the deliveries' tasks are queued with that transaction."""
    made: list[int] = []
    for definition in webhook_events_for(type(event)):
        if definition.applies is not None and not definition.applies(event):
            continue
        candidates = [
            subscription
            for subscription in WebhookSubscription.objects.filter(
                active=True, client__disabled_at__isnull=True
            ).select_related("client", "user")
            if definition.name in subscription.events
        ]
        if not candidates:
            continue
        audience = definition.audience(event)
        receivers = [s for s in candidates if entitled(s, definition, audience)]
        if not receivers:
            continue
        event_id = uuid.uuid4()
        body = webhook_body(name=definition.name, event_id=event_id, data=definition.payload(event))
        now = timezone.now()
        for subscription in receivers:
            delivery = WebhookDelivery.objects.create(
                subscription=subscription,
                event=definition.name,
                event_id=event_id,
                body=body,
                next_attempt_at=now,
            )
            made.append(delivery.pk)
    _enqueue(made)
    return len(made)


# --- Sending ------------------------------------------------------------------------------


def webhook_sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header's value: ``t=<unix time>,v1=<hex HMAC-SHA256>`` over
    ``"<t>." + body`` with ``secret``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_valid(
    secret: str, body: bytes, header: str, *, now: float | None = None
) -> bool:
    """What a receiver does (and the tests): the header's HMAC matches and its time is
    within :data:`SIGNATURE_TOLERANCE_SECONDS`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = webhook_sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return bool(address.is_global) and not address.is_multicast


def target_address(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, address)`` to send to: ``url``'s host resolved once, so the
    address checked is the address connected to (no second, different DNS answer).

    Raises :class:`WebhookTargetRefused` for a scheme other than https (http too when
    ``WEBHOOK_ALLOW_PRIVATE_TARGETS``), a name that does not resolve, or — unless that
    setting is on (tests, a developer's machine) — any address that is not public
    (loopback, private, link-local, reserved, multicast)."""
    parts = urlsplit(url)
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        raise WebhookTargetRefused(f"scheme {parts.scheme!r} is not allowed")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookTargetRefused(f"{host} does not resolve: {error}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise WebhookTargetRefused(f"{host} does not resolve")
    if not allow_private:
        private = [str(a) for a in addresses if not _public(a)]
        if private:
            raise WebhookTargetRefused(f"{host} resolves to a non-public address {private[0]}")
    return parts.scheme, host, port, str(addresses[0])


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` to ``url``, connecting to the address :func:`target_address` checked
    (TLS still verifies the certificate for the host name). Redirects are not followed.
    Returns the status code."""
    scheme, host, port, address = target_address(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def pinned(_address: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection((address, port), timeout, source_address)

    connection._create_connection = pinned  # type: ignore[attr-defined]
    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read(RESPONSE_READ_LIMIT)
        return int(response.status)
    finally:
        connection.close()


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt a delivery is tried again."""
    seconds = RETRY_FIRST_DELAY * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, RETRY_MAX_DELAY))


def delivery_attempt(delivery_pk: int, *, now: datetime | None = None) -> str | None:
    """Try to send one delivery now, if it is due; log the attempt and schedule the next
    one (or give up after ``WEBHOOK_MAX_ATTEMPTS``). Returns the delivery's new status,
    or ``None`` when it was not due (delivered, failed, or being sent by another worker).

    The delivery is claimed first (its next attempt moved past this one's timeout, in
    one UPDATE), so two workers never send it at once; the HTTP call runs outside any
    transaction.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + lease)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related(
        "subscription", "subscription__client", "subscription__client__application"
    ).get(pk=delivery_pk)
    subscription = delivery.subscription
    if not subscription.active or subscription.client.disabled_at is not None:
        WebhookDelivery.objects.filter(pk=delivery_pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None
        )
        return WebhookDelivery.Status.FAILED
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.uid),
        SIGNATURE_HEADER: webhook_sign(subscription.secret, body),
    }
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    try:
        status_code = _post(subscription.url, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)
        if not 200 <= status_code < 300:
            error = f"the endpoint answered {status_code}"
    except WebhookTargetRefused as refused:
        error = f"refused: {refused}"
    except (OSError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    return _attempt_record(
        delivery_pk, status_code=status_code, error=error[:300], duration_ms=duration_ms
    )


@transaction.atomic
def _attempt_record(
    delivery_pk: int, *, status_code: int | None, error: str, duration_ms: int
) -> str:
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_pk)
    now = timezone.now()
    attempts = delivery.attempts + 1
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=attempts,
        started_at=now - timedelta(milliseconds=duration_ms),
        status_code=status_code,
        duration_ms=duration_ms,
        error=error,
    )
    delivery.attempts = attempts
    if not error:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
        logger.warning("webhook delivery %s failed after %d attempts", delivery.uid, attempts)
    else:
        delivery.next_attempt_at = now + retry_delay(attempts)
    delivery.save(update_fields=["attempts", "status", "delivered_at", "next_attempt_at"])
    return str(delivery.status)


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """The deliveries whose next attempt is due, oldest first."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_retry(*, now: datetime | None = None) -> int:
    """Queue a ``webhook_deliver`` task for every due delivery (the periodic job).
    Idempotent: a delivery queued twice is sent once (see :func:`delivery_attempt`)."""
    due = deliveries_due(now=now)
    with transaction.atomic():
        _enqueue(due)
    return len(due)


@transaction.atomic
def delivery_replay(
    *, delivery: WebhookDelivery, user: Any, ip_address: str | None = None
) -> WebhookDelivery:
    """Send a delivery again, as a new delivery with the same body and event id (the
    client asked: its endpoint lost it). Raises :class:`WebhookError`
    (``webhook_subscription_inactive``) when its subscription was stopped. Audited."""
    subscription = delivery.subscription
    if not subscription.active or subscription.client.disabled_at is not None:
        raise WebhookError(
            _("This subscription was stopped; its deliveries cannot be replayed."),
            code="webhook_subscription_inactive",
        )
    replay = WebhookDelivery.objects.create(
        subscription=subscription,
        event=delivery.event,
        event_id=delivery.event_id,
        body=delivery.body,
        next_attempt_at=timezone.now(),
        replay_of=delivery,
    )
    audit_record(
        action="api.webhook_replayed",
        actor=user,
        obj=replay,
        changes={"replay_of": {"before": None, "after": str(delivery.uid)}},
        ip_address=ip_address,
    )
    _enqueue([replay.pk])
    return replay


def deliveries_prune(*, older_than_days: int = 90) -> int:
    """Delete deliveries (and their attempts) older than ``older_than_days``: the log is
    for debugging an integration, not an archive. Returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _rows = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookDelivery.Status.PENDING)
        .delete()
    )
    return int(deleted)
