"""Domain events: what happened, published by the service that made it happen, delivered
to every app that subscribed, once the change is committed.

An event is a frozen dataclass of plain values (ids, references, codes: JSON, and no
personal data, since it waits in the task table). The service that causes it calls
:func:`event_publish` inside its transaction; each subscriber an app registered with
``registry.subscribe(EventType, handler)`` (from ``AppConfig.ready()``) then runs as its
own background task (:func:`event_deliver`), but when the condition it subscribed with
(``when=``) says the event is not for it:

- **on commit only**: with the database task backend the delivery tasks are inserted in
  the publishing transaction (a rollback removes them with the change, as queued mail);
  with another backend they are enqueued by ``transaction.on_commit``. A rolled-back
  change never reaches a subscriber.
- **one task per subscriber**: a subscriber that fails does not stop the others, and it
  never undoes the change that raised the event (that is already committed). It runs in
  its own transaction and is tried again after growing delays
  (:data:`EVENT_RETRY_DELAYS`); after the last attempt its task ends failed and the error
  is logged.
- **at least once**: a delivery is run again when its worker died (``core.leases``) or it
  failed, so **subscribers must be idempotent** (look at the state, do nothing when the
  work is already done).

Subscribers are found by the worker through their dotted path, so they must be
module-level functions (no lambdas, no bound methods); :func:`event_subscribers_check`
(a system check) refuses any other. Add a field to an existing event only with a default:
deliveries queued by the previous version are rebuilt from their stored fields, and a
worker rebuilds a later version's payload with the fields it knows
(:func:`event_rebuild`); a field that only the subscribers' conditions need is not stored
at all (:data:`NOT_STORED`), so that the workers of the previous version, during a
release, are given the payload they know.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core import checks
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from ecitizen.core.registry import registry
from ecitizen.core.tasks import enqueue_with_change

logger = logging.getLogger(__name__)

#: Delays before each new attempt of a subscriber that failed: 1 min, 5 min, 30 min, 2 h,
#: 12 h. Then its task ends failed (visible in the task results) and the error is logged.
EVENT_RETRY_DELAYS = (60, 300, 1800, 7200, 43200)


class EventError(Exception):
    """An event or a subscriber that cannot be delivered by a worker (a programming
    error, raised when publishing)."""


#: The metadata key of an event's field that the publisher and the subscribers'
#: conditions see, but the deliveries do not store: a worker of the previous version,
#: during a release, could not rebuild an event with a field it does not know.
NOT_STORED = "ecitizen.events.not_stored"


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event: a frozen dataclass of JSON values."""


# --- the platform's events ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CaseSubmitted(DomainEvent):
    """An application became a case (``draft_submit``)."""

    case_id: int
    reference: str
    service_slug: str
    department_id: int | None
    state: str
    channel: str = ""


@dataclasses.dataclass(frozen=True)
class CaseStateChanged(DomainEvent):
    """A workflow action moved a case from one state to another (``case_transition``).
    ``actor_id``: who took the action (the applicant or an official)."""

    case_id: int
    reference: str
    service_slug: str
    department_id: int | None
    action: str
    from_state: str
    to_state: str
    actor_id: int | None = None
    #: The names of the ``extensions`` blocks of the case's service definition
    #: (``report``, ``complaint``...): what lets a subscriber's condition pass over the
    #: cases of other services without a query. For the conditions only (see
    #: :data:`NOT_STORED`): a delivery's subscriber sees ``()``.
    service_extensions: tuple[str, ...] = dataclasses.field(default=(), metadata={NOT_STORED: True})


@dataclasses.dataclass(frozen=True)
class CaseDecided(DomainEvent):
    """A case reached an outcome for the first time (``approved``, ``refused``...),
    published with the :class:`CaseStateChanged` of the same action."""

    case_id: int
    reference: str
    service_slug: str
    department_id: int | None
    outcome: str
    state: str


@dataclasses.dataclass(frozen=True)
class BillPaid(DomainEvent):
    """A bill is paid in full (by a payment or by a credit). ``source_key`` and
    ``source_reference`` say what the bill is for (``case:RIV-SP-2026-000001:fee`` and the
    case reference, for instance): a subscriber acts on the bills it issued."""

    bill_id: int
    reference: str
    source_key: str
    source_reference: str
    kind: str
    department_id: int | None
    payer_id: int | None = None


@dataclasses.dataclass(frozen=True)
class PaymentSettled(DomainEvent):
    """A payment was posted to the ledger and its bill (once per payment)."""

    payment_id: str
    bill_id: int
    bill_reference: str
    amount_minor: int
    currency: str
    provider: str


@dataclasses.dataclass(frozen=True)
class DocumentIssued(DomainEvent):
    """A signed document was issued (``reference`` is what it was issued for)."""

    document_id: int
    reference: str
    template: str
    owner_id: int | None
    department_id: int | None


@dataclasses.dataclass(frozen=True)
class DocumentRevoked(DomainEvent):
    """An issued document was revoked (the reason stays on the document, encrypted)."""

    document_id: int
    reference: str
    template: str
    owner_id: int | None
    department_id: int | None


# --- publishing and delivery --------------------------------------------------------------


def dotted_path(obj: Any) -> str:
    """``module.name`` of a module-level function or class."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _importable(obj: Any) -> bool:
    try:
        return bool(import_string(dotted_path(obj)) is obj)
    except ImportError:
        return False


def event_payload(event: DomainEvent) -> dict[str, Any]:
    """The event's stored fields (all but those marked :data:`NOT_STORED`), checked to
    be JSON values (what the task table stores)."""
    if not isinstance(event, DomainEvent) or not dataclasses.is_dataclass(event):
        raise EventError(f"{event!r} is not a domain event (a DomainEvent dataclass)")
    payload = {
        field.name: getattr(event, field.name)
        for field in dataclasses.fields(event)
        if not field.metadata.get(NOT_STORED)
    }
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as error:
        raise EventError(
            f"{type(event).__name__} holds a value that is not JSON: {error}"
        ) from None
    return payload


def event_publish(event: DomainEvent) -> int:
    """Deliver ``event`` to each of its subscribers once the current transaction commits.

    Call it inside the transaction of the change the event reports. Returns how many
    deliveries were queued (one per subscriber, but those whose condition, the ``when``
    they subscribed with, says the event is not for them). Raises :class:`EventError` for
    an event that is not JSON or a subscriber a worker could not find by its dotted path.
    Side effects: the conditions are asked (one of them may read); one ``event_deliver``
    task per subscriber it is for, inserted now with the database task backend (so a
    rollback removes it), or enqueued on commit with another backend.
    """
    payload = event_payload(event)
    event_type = type(event)
    subscribers = registry.subscribers_of(event_type)
    if not subscribers:
        return 0
    if not _importable(event_type):
        raise EventError(f"event type {dotted_path(event_type)} cannot be imported by its path")
    queued = 0
    for subscriber in subscribers:
        if not _importable(subscriber):
            raise EventError(
                f"subscriber {subscriber!r} of {event_type.__name__} is not a module-level "
                "function that a worker can import"
            )
        if not _wanted(event, event_type, subscriber):
            continue
        # Committed with the change, or not at all.
        enqueue_with_change(
            event_deliver, dotted_path(subscriber), dotted_path(event_type), payload
        )
        queued += 1
    return queued


def _wanted(event: DomainEvent, event_type: type, subscriber: Callable[[Any], None]) -> bool:
    """What the subscriber's condition says of ``event`` (yes without one). A condition
    that fails says yes: the delivery is queued and the subscriber, which checks for
    itself, decides; the publisher's change goes on. A database error is not caught: it
    has broken the publisher's transaction already."""
    condition = registry.subscription_condition(event_type, subscriber)
    if condition is None:
        return True
    try:
        return bool(condition(event))
    except DatabaseError:
        raise
    except Exception:
        logger.exception(
            "the condition of %s failed on %s; delivering",
            dotted_path(subscriber),
            event_type.__name__,
        )
        return True


def event_rebuild(event_path: str, payload: dict[str, Any]) -> DomainEvent:
    """The event a delivery stored, with the fields its type knows: a payload stored by
    a later version (a field added since) is read by this one during a release."""
    event_type = import_string(event_path)
    known = {field.name for field in dataclasses.fields(event_type)}
    return event_type(**{name: value for name, value in payload.items() if name in known})  # type: ignore[no-any-return]


@task()
def event_deliver(
    subscriber_path: str, event_path: str, payload: dict[str, Any], attempt: int = 0
) -> None:
    """Run one subscriber on one event, in its own transaction.

    When the subscriber raises, its writes are rolled back and a new attempt is queued
    after the next of :data:`EVENT_RETRY_DELAYS` (with a backend that can defer tasks);
    after the last one the error is logged and the task ends failed.
    """
    subscriber: Callable[[Any], Any] = import_string(subscriber_path)
    event = event_rebuild(event_path, payload)
    try:
        with transaction.atomic():
            subscriber(event)
    except Exception:
        if attempt < len(EVENT_RETRY_DELAYS) and event_deliver.get_backend().supports_defer:
            delay = EVENT_RETRY_DELAYS[attempt]
            logger.warning(
                "subscriber %s failed on %s (attempt %d); retrying in %ds",
                subscriber_path,
                event_path.rpartition(".")[2],
                attempt + 1,
                delay,
                exc_info=True,
            )
            event_deliver.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
                subscriber_path, event_path, payload, attempt + 1
            )
            return
        logger.exception(
            "subscriber %s failed on %s after %d attempts; not retried",
            subscriber_path,
            event_path.rpartition(".")[2],
            attempt + 1,
        )
        raise


def event_subscribers_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: every subscriber and event type can be imported by its dotted path
    (what a worker does), so a lambda or a bound method fails at start-up, not at the
    first event."""
    errors: list[checks.CheckMessage] = []
    for event_type, subscribers in registry.subscribers.items():
        if not _importable(event_type):
            errors.append(
                checks.Error(
                    f"The event type {dotted_path(event_type)} cannot be imported by its path.",
                    hint="Define event types at module level.",
                    id="ecitizen.E030",
                )
            )
        errors.extend(
            checks.Error(
                f"The subscriber {subscriber!r} of {event_type.__name__} cannot be imported "
                "by its path, so a worker could not run it.",
                hint="Subscribe a module-level function.",
                id="ecitizen.E031",
            )
            for subscriber in subscribers
            if not _importable(subscriber)
        )
    return errors
