"""Domain events: delivered to each subscriber once the change commits (never after a
rollback), each subscriber in its own task, a failing one retried by the worker without
undoing the change or stopping the others."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from ecitizen.core.events import (
    EVENT_RETRY_DELAYS,
    BillPaid,
    DomainEvent,
    EventError,
    event_publish,
    event_rebuild,
    event_subscribers_check,
)
from ecitizen.core.models import WorkerHeartbeat
from ecitizen.core.registry import RegistryError, registry


@dataclasses.dataclass(frozen=True)
class ThingHappened(DomainEvent):
    thing_id: int
    label: str


#: What the subscribers below saw, in order: (subscriber, event).
SEEN: list[tuple[str, DomainEvent]] = []
#: How many more times ``flaky`` fails before it works.
FAILURES_LEFT = {"flaky": 0}


def first(event: DomainEvent) -> None:
    SEEN.append(("first", event))


def second(event: DomainEvent) -> None:
    SEEN.append(("second", event))


class SubscriberBroke(Exception):
    pass


def flaky(event: DomainEvent) -> None:
    # A write of its own, undone when it fails: a retry starts from a clean state.
    WorkerHeartbeat.objects.create(
        worker_id=f"flaky-{len(SEEN)}",
        hostname="h",
        pid=1,
        started_at=timezone.now(),
        last_seen=timezone.now(),
    )
    if FAILURES_LEFT["flaky"] > 0:
        FAILURES_LEFT["flaky"] -= 1
        raise SubscriberBroke("the subscriber broke")
    SEEN.append(("flaky", event))


@pytest.fixture
def subscribe():
    """Subscribe for one test; the registry is as it was afterwards."""
    SEEN.clear()
    FAILURES_LEFT["flaky"] = 0
    added = []

    def _subscribe(event_type, subscriber, when=None):
        registry.subscribe(event_type, subscriber, when=when)
        added.append((event_type, subscriber))

    yield _subscribe
    for event_type, subscriber in added:
        registry.unsubscribe(event_type, subscriber)


def _the_change(worker_id: str = "the-change") -> WorkerHeartbeat:
    """A row standing for the change that raises the event."""
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id, hostname="h", pid=1, started_at=now, last_seen=now
    )


@transaction.atomic
def _change_that_fails(event, before_failing=lambda: None):
    """A change that publishes ``event``, then fails: all of it is rolled back."""
    _the_change("rolled-back")
    event_publish(event)
    before_failing()
    raise RuntimeError("the change fails")


def _run_worker():
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)


def _tasks():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path="ecitizen.core.events.event_deliver")


# --- with the immediate backend (the tests' default): on commit -----------------------------


@pytest.mark.django_db
def test_subscribers_run_when_the_change_commits_not_before(
    subscribe, django_capture_on_commit_callbacks
):
    subscribe(ThingHappened, first)
    subscribe(ThingHappened, second)
    event = ThingHappened(thing_id=7, label="seven")
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            _the_change()
            assert event_publish(event) == 2
        assert SEEN == []  # not committed yet
    # Each got the event, rebuilt from its stored fields (as a worker does).
    assert [("first", event), ("second", event)] == SEEN


@pytest.mark.django_db
def test_a_rolled_back_change_reaches_no_subscriber(subscribe, django_capture_on_commit_callbacks):
    subscribe(ThingHappened, first)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        _change_that_fails(ThingHappened(thing_id=1, label="one"))
    assert SEEN == []
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
def test_an_event_without_subscribers_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert event_publish(ThingHappened(thing_id=1, label="one")) == 0
    assert callbacks == []


def even_things(event: ThingHappened) -> bool:
    return event.thing_id % 2 == 0


@pytest.mark.django_db
def test_a_subscriber_is_given_only_the_events_its_condition_accepts(
    subscribe, django_capture_on_commit_callbacks
):
    subscribe(ThingHappened, first, when=even_things)
    subscribe(ThingHappened, second)
    odd, even = ThingHappened(thing_id=7, label="odd"), ThingHappened(thing_id=8, label="even")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert event_publish(odd) == 1
    assert len(callbacks) == 1  # no delivery queued for the other
    with django_capture_on_commit_callbacks(execute=True):
        assert event_publish(even) == 2
    assert [("second", odd), ("first", even), ("second", even)] == SEEN


def broken_condition(event: ThingHappened) -> bool:
    raise KeyError("a mistake in the condition")


@pytest.mark.django_db
def test_a_condition_that_fails_delivers_and_keeps_the_change(
    subscribe, django_capture_on_commit_callbacks, caplog
):
    subscribe(ThingHappened, first, when=broken_condition)
    event = ThingHappened(thing_id=3, label="three")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _the_change()
        assert event_publish(event) == 1
    assert [("first", event)] == SEEN
    assert WorkerHeartbeat.objects.filter(worker_id="the-change").exists()
    assert "the condition of" in caplog.text
    assert "KeyError" in caplog.text


def test_a_later_versions_payload_is_rebuilt_with_the_fields_known():
    """During a release a worker may be given a delivery stored by the next version,
    with a field added since: it is rebuilt without it."""
    path = f"{ThingHappened.__module__}.ThingHappened"
    rebuilt = event_rebuild(path, {"thing_id": 1, "label": "one", "added_later": "x"})
    assert rebuilt == ThingHappened(thing_id=1, label="one")


def test_a_subscriber_registered_again_keeps_its_condition(subscribe):
    subscribe(ThingHappened, first, when=even_things)
    registry.subscribe(ThingHappened, first, when=even_things)  # as a second ready() does
    assert registry.subscribers_of(ThingHappened) == [first]
    with pytest.raises(RegistryError, match="another condition"):
        registry.subscribe(ThingHappened, first)
    assert registry.subscription_condition(ThingHappened, first) is even_things


# --- with the database backend: in the same transaction, run by the worker ------------------


@pytest.mark.django_db(transaction=True)
def test_deliveries_are_queued_with_the_change_and_dropped_with_it(subscribe, database_queue):
    subscribe(ThingHappened, first)
    subscribe(ThingHappened, second)
    queued_inside = []
    with pytest.raises(RuntimeError):
        _change_that_fails(
            ThingHappened(thing_id=1, label="rolled back"),
            before_failing=lambda: queued_inside.append(_tasks().count()),
        )
    assert queued_inside == [2]  # inserted in the transaction...
    assert _tasks().count() == 0  # ...and gone with it
    with transaction.atomic():
        _the_change("committed")
        event_publish(ThingHappened(thing_id=2, label="committed"))
    assert _tasks().count() == 2
    assert SEEN == []  # nothing runs in the publishing process
    _run_worker()
    assert sorted(SEEN, key=lambda seen: seen[0]) == [
        ("first", ThingHappened(thing_id=2, label="committed")),
        ("second", ThingHappened(thing_id=2, label="committed")),
    ]
    assert set(_tasks().values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_is_retried_and_the_change_is_kept(subscribe, database_queue, caplog):
    subscribe(ThingHappened, flaky)
    subscribe(ThingHappened, first)
    FAILURES_LEFT["flaky"] = 2
    event = ThingHappened(thing_id=3, label="three")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with transaction.atomic():
            _the_change()
            event_publish(event)
        _run_worker()
    # The other subscriber was not held up; the change stays; the failed attempt's own
    # write was rolled back; a new attempt waits for its delay.
    assert [("first", event)] == SEEN
    assert WorkerHeartbeat.objects.filter(worker_id="the-change").exists()
    assert not WorkerHeartbeat.objects.filter(worker_id__startswith="flaky").exists()
    waiting = _tasks().filter(status="READY").get()
    assert waiting.run_after == start + timedelta(seconds=EVENT_RETRY_DELAYS[0])
    assert "failed on ThingHappened (attempt 1)" in caplog.text

    with time_machine.travel(start + timedelta(seconds=EVENT_RETRY_DELAYS[0] - 1), tick=False):
        _run_worker()  # not yet
    assert _tasks().filter(status="READY").count() == 1
    later = start + timedelta(seconds=EVENT_RETRY_DELAYS[0])
    with time_machine.travel(later, tick=False):
        _run_worker()  # fails a second time
    later += timedelta(seconds=EVENT_RETRY_DELAYS[1])
    with time_machine.travel(later, tick=False):
        _run_worker()
    assert [("first", event), ("flaky", event)] == SEEN
    assert _tasks().filter(status="READY").count() == 0
    assert WorkerHeartbeat.objects.filter(worker_id__startswith="flaky").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_that_always_fails_ends_failed_after_its_last_attempt(
    subscribe, database_queue, caplog
):
    subscribe(ThingHappened, flaky)
    FAILURES_LEFT["flaky"] = len(EVENT_RETRY_DELAYS) + 1
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        with transaction.atomic():
            _the_change()
            event_publish(ThingHappened(thing_id=4, label="four"))
        _run_worker()
    for delay in EVENT_RETRY_DELAYS:
        moment += timedelta(seconds=delay)
        with time_machine.travel(moment, tick=False):
            _run_worker()
    statuses = list(_tasks().order_by("enqueued_at").values_list("status", flat=True))
    assert statuses == ["SUCCESSFUL"] * len(EVENT_RETRY_DELAYS) + ["FAILED"]
    assert _tasks().get(status="FAILED").exception_class_path.endswith("SubscriberBroke")
    assert any(
        record.levelno == logging.ERROR and "not retried" in record.getMessage()
        for record in caplog.records
    )
    assert SEEN == []
    assert WorkerHeartbeat.objects.filter(worker_id="the-change").exists()


# --- mistakes refused early -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_subscriber_a_worker_cannot_import_is_refused(subscribe):
    subscribe(ThingHappened, lambda event: None)
    with pytest.raises(EventError, match="module-level"):
        event_publish(ThingHappened(thing_id=1, label="one"))
    errors = event_subscribers_check()
    assert [error.id for error in errors] == ["ecitizen.E031"]


def test_the_registered_subscribers_pass_the_check():
    assert event_subscribers_check() == []
    # The cases app moves a case on when its fee is paid.
    paths = [f"{s.__module__}.{s.__name__}" for s in registry.subscribers_of(BillPaid)]
    assert "ecitizen.cases.services.case_fee_paid_on_bill_paid" in paths


@pytest.mark.django_db
def test_an_event_must_hold_json_values(subscribe):
    subscribe(ThingHappened, first)
    with pytest.raises(EventError, match="not JSON"):
        event_publish(ThingHappened(thing_id=1, label=timezone.now()))  # type: ignore[arg-type]
    with pytest.raises(EventError, match="not a domain event"):
        event_publish({"thing_id": 1})  # type: ignore[arg-type]
