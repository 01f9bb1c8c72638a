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
   address only (:func:`target_address`); every attempt is logged, with a category of
   what went wrong (``WebhookAttempt.Error``) that the client reads, the details in the
   platform's log;
4. a delivery that failed is tried again after 30 s, 1 min, 2 min... (doubling, at most
   6 h) by the ``webhooks retry`` job, until ``WEBHOOK_MAX_ATTEMPTS``; a client may replay
   a delivery (:func:`delivery_replay`), a few times an hour.

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
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import remit_covers
from ecitizen.api.models import (
    Consent,
    IntegrationClient,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionEvent,
)
from ecitizen.api.oauth import BACK_OFFICE, RESIDENT_APP
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.errors import DomainError
from ecitizen.core.registry import WebhookEvent, registry
from ecitizen.core.services import audit_record
from ecitizen.core.tasks import enqueue_with_change

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
#: Replays allowed per :data:`REPLAY_WINDOW`: of one event to one subscription, and of
#: all the events of one subscription (each replay is one more request to its address).
#: The replay operation's description (``webhooks_api``) names them.
REPLAYS_PER_EVENT = 5
REPLAYS_PER_SUBSCRIPTION = 100
REPLAY_WINDOW = timedelta(hours=1)


class WebhookError(DomainError):
    code = "webhook_invalid"


class WebhookReplayLimited(WebhookError):
    """Too many replays within :data:`REPLAY_WINDOW`; ``retry_after``: the seconds until
    one more is allowed."""

    code = "webhook_replay_limited"

    def __init__(self, message: Any, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WebhookTargetRefused(Exception):
    """The endpoint's address may not be reached (a private or loopback address in
    production, a scheme other than https, a name that does not resolve)."""


# --- Events and entitlement ---------------------------------------------------------------


def webhook_events() -> list[WebhookEvent]:
    """The registered webhook events, by name."""
    return sorted(registry.webhook_events.values(), key=lambda event: event.name)


def webhook_events_for(event_type: type) -> list[WebhookEvent]:
    return [event for event in webhook_events() if event.event_type is event_type]


def granted_scopes(subscriptions: Iterable[WebhookSubscription]) -> dict[int, set[str]]:
    """What each subscription's client may see for its user, by subscription pk: the
    resident's live consent's scopes for an app acting for residents, the client's
    scopes for a back-office system. One query, whatever the number of subscriptions
    (their ``client`` must be loaded with them)."""
    subscriptions = list(subscriptions)
    wanted = {
        (subscription.user_id, subscription.client.application_id)
        for subscription in subscriptions
        if subscription.client.kind != BACK_OFFICE
    }
    consents: dict[tuple[int, int], set[str]] = {}
    if wanted:
        rows = Consent.objects.filter(
            user_id__in={user_id for user_id, _app in wanted},
            application_id__in={app_id for _user, app_id in wanted},
            revoked_at__isnull=True,
        ).values_list("user_id", "application_id", "scopes")
        consents = {(user_id, app_id): set(scopes.split()) for user_id, app_id, scopes in rows}
    return {
        subscription.pk: (
            set(subscription.client.scope_list)
            if subscription.client.kind == BACK_OFFICE
            else consents.get((subscription.user_id, subscription.client.application_id), set())
        )
        for subscription in subscriptions
    }


def entitled(
    subscription: WebhookSubscription,
    definition: WebhookEvent,
    audience: Mapping[str, Any],
    *,
    granted: set[str],
) -> bool:
    """Whether the subscription may receive an event with this ``audience``: an app acting
    for residents only for its own resident's objects (with a live consent granting one
    of the event's scopes); a back-office system only within the department (and ward)
    of its service account's role. ``granted``: the subscription's entry of
    :func:`granted_scopes`."""
    client = subscription.client
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


def _url_parts(url: str) -> tuple[SplitResult, int]:
    """``url`` split, with its port (the scheme's when it names none). Raises
    ``ValueError`` for an address no request can be sent to: one that does not parse
    (``http://[::1``), a port that is not a number from 1 to 65535, a host name that is
    not a valid (internationalised) domain name, or a space, control or non-ASCII
    character outside the host name (a request line cannot carry it)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)  # ValueError: out of range
    (parts.hostname or "").encode("idna")  # UnicodeError (a ValueError): an empty label...
    sent = parts.path + parts.query
    if not sent.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError("a space, control or non-ASCII character outside the host name")
    if parts.port == 0:
        raise ValueError("port 0")
    return parts, port


def _url_valid(url: str) -> str:
    url = url.strip()
    try:
        parts, _port = _url_parts(url)
    except ValueError:
        raise WebhookError(
            _(
                "The address is not a valid URL: check the host name, the port (1 to 65535) "
                "and that the path is percent-encoded."
            ),
            code="webhook_url_invalid",
        ) from None
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
    WebhookSubscriptionEvent.objects.bulk_create(
        WebhookSubscriptionEvent(subscription=subscription, name=name) for name in chosen
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
    """Queue a ``webhook_deliver`` task per delivery with the change that causes them
    (``enqueue_with_change``, like ``core.events``)."""
    from ecitizen.api.tasks import webhook_deliver

    for pk in delivery_pks:
        enqueue_with_change(webhook_deliver, pk)


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


def _subscriptions_to(name: str) -> QuerySet[WebhookSubscription]:
    """The live subscriptions to the webhook event ``name``: active, of an enabled
    client."""
    return WebhookSubscription.objects.filter(
        active=True, client__disabled_at__isnull=True, event_names__name=name
    )


#: The id of one live subscription to an event, or no row: asked on every domain event
#: that webhook events are made from, in the request that publishes it, and again by the
#: fan-out.
_ONE_SUBSCRIPTION_TO = CompiledQuery(
    WebhookSubscription,
    lambda name: _subscriptions_to(name).order_by().values_list("pk", flat=True)[:1],
    name=("compiled-sample-event-name", WebhookSubscriptionEvent._meta.get_field("name")),
)


def _subscribed(name: str) -> bool:
    """Whether a live subscription is to the webhook event ``name`` (one query)."""
    return _ONE_SUBSCRIPTION_TO.value(name=name) is not None


def webhook_event_wanted(event: Any) -> bool:
    """Whether a live subscription is to one of the webhook events made from ``event``:
    the condition :func:`webhook_event_fanout` subscribes with, asked when the event is
    published: one query per webhook event made from its type (most types make one), and
    a webhook event's own test (``applies``, which may read) only when someone is
    subscribed to it. A subscription made after that moment does not receive the event."""
    return any(
        _subscribed(definition.name) and (definition.applies is None or definition.applies(event))
        for definition in webhook_events_for(type(event))
    )


def _candidates(name: str, audience: Mapping[str, Any]) -> list[WebhookSubscription]:
    """The live subscriptions to ``name`` that :func:`entitled` may accept for an event
    with ``audience``, chosen in the database: a resident app's for the audience's
    resident, a back-office system's for its own service account. One query."""
    who = Q(client__kind=BACK_OFFICE, user_id=F("client__service_account_id")) & ~Q(client__role="")
    if audience.get("user_id") is not None:
        who |= Q(client__kind=RESIDENT_APP, user_id=audience["user_id"])
    candidates = list(_subscriptions_to(name).filter(who).select_related("client", "user"))
    # One user object per account: the role assignments remit_covers reads are cached
    # on it, so they are read once per back-office system, not once per subscription.
    users: dict[int, Any] = {}
    for subscription in candidates:
        subscription.user = users.setdefault(subscription.user_id, subscription.user)
    return candidates


def webhook_deliveries_make(event: Any) -> int:
    """Make and queue the deliveries of ``event`` to every subscription entitled to it;
    returns how many. Runs in its own transaction as a background task (``core.events``);
    the deliveries' tasks are queued with that transaction. The queries do not grow with
    the number of subscriptions (but one per back-office system for its role, and one
    per delivery for its task with the database task backend)."""
    made: list[int] = []
    for definition in webhook_events_for(type(event)):
        if definition.applies is not None and not definition.applies(event):
            continue
        if not _subscribed(definition.name):  # spares the audience's query
            continue
        audience = definition.audience(event)
        candidates = _candidates(definition.name, audience)
        granted = granted_scopes(candidates)
        receivers = [
            subscription
            for subscription in candidates
            if entitled(subscription, definition, audience, granted=granted[subscription.pk])
        ]
        if not receivers:
            continue
        event_id = uuid.uuid4()
        body = webhook_body(name=definition.name, event_id=event_id, data=definition.payload(event))
        now = timezone.now()
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription=subscription,
                    event=definition.name,
                    event_id=event_id,
                    body=body,
                    next_attempt_at=now,
                )
                for subscription in receivers
            ]
        )
        made.extend(delivery.pk for delivery in deliveries)
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


#: IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits, which is
#: where a packet to them ends up: IPv4-mapped, IPv4-translated (SIIT), the well-known
#: NAT64 prefix (RFC 6052) and IPv4-compatible (deprecated; ``::`` and ``::1`` carry
#: 0.0.0.0 and 0.0.0.1, refused as such).
_IPV4_IN_LAST_32_BITS = (
    ipaddress.IPv6Network("::ffff:0:0/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::/96"),
)
#: The local-use NAT64 prefix (RFC 8215): an operator's own translator, to whatever
#: IPv4 address its prefix length puts where; never public.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (see :data:`_IPV4_IN_LAST_32_BITS`;
    6to4's gateway; Teredo's server and client), none for an ordinary one."""
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    if any(address in network for network in _IPV4_IN_LAST_32_BITS):
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is on the public internet (not loopback, private, link-local,
    shared, reserved or multicast). An IPv6 address that carries IPv4 addresses is
    judged by them, with the same rules."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return False
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(_public(inner) for inner in embedded)
    return bool(address.is_global) and not address.is_multicast


def target_address(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, address)`` to send to: ``url``'s host resolved once, so the
    address checked is the address connected to (no second, different DNS answer).

    Raises :class:`WebhookTargetRefused` for a scheme other than https (http too when
    ``WEBHOOK_ALLOW_PRIVATE_TARGETS``), a name that does not resolve, or — unless that
    setting is on (tests, a developer's machine) — any address that is not public
    (see :func:`_public`); ``ValueError`` for an address no request can be sent to
    (see :func:`_url_parts`)."""
    parts, port = _url_parts(url)
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        raise WebhookTargetRefused(f"scheme {parts.scheme!r} is not allowed")
    host = parts.hostname or ""
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
    parts, _port = _url_parts(url)
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
    transaction. Whatever sending raises, the attempt is logged (with a category of
    what went wrong, :func:`_failure`), so a delivery never stays claimed for ever.
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
            error = WebhookAttempt.Error.HTTP_STATUS
    except Exception as failure:  # whatever it is, it is one attempt, logged
        error = _failure(failure)
        log = logger.exception if error == WebhookAttempt.Error.INTERNAL_ERROR else logger.info
        # The details (addresses, the system's words) are for the operators only.
        log("webhook delivery %s attempt failed (%s): %r", delivery.uid, error, failure)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _attempt_record(
        delivery_pk, status_code=status_code, error=error, duration_ms=duration_ms
    )


def _failure(failure: Exception) -> str:  # noqa: PLR0911 - one category per kind of failure
    """The category (``WebhookAttempt.Error``) of what :func:`_post` raised: the client
    sees it in the attempt log instead of the error's text."""
    if isinstance(failure, WebhookTargetRefused):
        return WebhookAttempt.Error.ADDRESS_REFUSED
    if isinstance(failure, TimeoutError):
        return WebhookAttempt.Error.TIMEOUT
    if isinstance(failure, ssl.SSLError):  # before OSError and ValueError: it is both
        return WebhookAttempt.Error.TLS_FAILED
    if isinstance(failure, OSError):
        return WebhookAttempt.Error.CONNECTION_FAILED
    if isinstance(failure, ValueError | http.client.InvalidURL):
        return WebhookAttempt.Error.INVALID_ADDRESS
    if isinstance(failure, http.client.HTTPException):
        return WebhookAttempt.Error.PROTOCOL_ERROR
    return WebhookAttempt.Error.INTERNAL_ERROR


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


def _replay_wait(replays: QuerySet[WebhookDelivery], limit: int, now: datetime) -> int | None:
    """``None`` when fewer than ``limit`` of ``replays`` were made within
    :data:`REPLAY_WINDOW` before ``now``; else the seconds until the oldest of them
    leaves it."""
    recent = replays.filter(created_at__gt=now - REPLAY_WINDOW)
    if recent.count() < limit:
        return None
    oldest = recent.order_by("created_at").values_list("created_at", flat=True)[0]
    return max(1, int((oldest + REPLAY_WINDOW - now).total_seconds() + 0.999))


def _replay_allowed(delivery: WebhookDelivery, now: datetime) -> None:
    """Raise :class:`WebhookReplayLimited` when ``delivery``'s event was replayed
    :data:`REPLAYS_PER_EVENT` times to its subscription within :data:`REPLAY_WINDOW`,
    or the subscription's events :data:`REPLAYS_PER_SUBSCRIPTION` times."""
    replays = WebhookDelivery.objects.filter(
        subscription_id=delivery.subscription_id, replay_of__isnull=False
    )
    wait = _replay_wait(replays.filter(event_id=delivery.event_id), REPLAYS_PER_EVENT, now)
    if wait is not None:
        raise WebhookReplayLimited(
            _(
                "This event was replayed %(count)d times in the last hour: wait before "
                "replaying it again."
            )
            % {"count": REPLAYS_PER_EVENT},
            retry_after=wait,
        )
    wait = _replay_wait(replays, REPLAYS_PER_SUBSCRIPTION, now)
    if wait is not None:
        raise WebhookReplayLimited(
            _(
                "This subscription's deliveries were replayed %(count)d times in the last "
                "hour: wait before replaying more."
            )
            % {"count": REPLAYS_PER_SUBSCRIPTION},
            retry_after=wait,
        )


@transaction.atomic
def delivery_replay(
    *, delivery: WebhookDelivery, user: Any, ip_address: str | None = None
) -> WebhookDelivery:
    """Send a delivery again, as a new delivery with the same body and event id (the
    client asked: its endpoint lost it). Raises :class:`WebhookError`
    (``webhook_subscription_inactive``) when its subscription was stopped, and
    :class:`WebhookReplayLimited` past :data:`REPLAYS_PER_EVENT` replays of the event or
    :data:`REPLAYS_PER_SUBSCRIPTION` of the subscription's deliveries within
    :data:`REPLAY_WINDOW` (the subscription's row is locked while they are counted, so
    concurrent replays cannot overrun them). Audited."""
    subscription = (
        WebhookSubscription.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=delivery.subscription_id)
    )
    if not subscription.active or subscription.client.disabled_at is not None:
        raise WebhookError(
            _("This subscription was stopped; its deliveries cannot be replayed."),
            code="webhook_subscription_inactive",
        )
    now = timezone.now()
    _replay_allowed(delivery, now)
    replay = WebhookDelivery.objects.create(
        subscription=subscription,
        event=delivery.event,
        event_id=delivery.event_id,
        body=delivery.body,
        created_at=now,
        next_attempt_at=now,
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
