"""The services publish their domain events once their change commits: an application
submitted, moved on, decided, its fee paid and settled, its permit issued and revoked
(``core.events``)."""

from __future__ import annotations

import dataclasses

import pytest

from ecitizen.cases import services
from ecitizen.core import events
from ecitizen.core.registry import registry
from ecitizen.documents.models import IssuedDocument
from ecitizen.documents.services import document_revoke

from .support import pay_fee, submit_shed

EVENT_TYPES = (
    events.CaseSubmitted,
    events.CaseStateChanged,
    events.CaseDecided,
    events.BillPaid,
    events.PaymentSettled,
    events.DocumentIssued,
    events.DocumentRevoked,
)

SEEN: list[events.DomainEvent] = []


def record(event: events.DomainEvent) -> None:
    SEEN.append(event)


@pytest.fixture
def recorded():
    SEEN.clear()
    for event_type in EVENT_TYPES:
        registry.subscribe(event_type, record)
    yield SEEN
    for event_type in EVENT_TYPES:
        registry.unsubscribe(event_type, record)


def test_an_application_publishes_its_story(
    shed, resident, works_officer, works_supervisor, recorded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = submit_shed(shed, resident)
    assert recorded == [
        events.CaseSubmitted(
            case_id=case.pk,
            reference=case.reference,
            service_slug="shed-permit",
            department_id=case.department_id,
            state="submitted",
            channel="online",
        )
    ]
    recorded.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
        case = services.case_transition(case=case, action_id="pass_first", actor=works_officer)
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_transition(case=case, action_id="approve", actor=works_supervisor)
    common = {
        "case_id": case.pk,
        "reference": case.reference,
        "service_slug": "shed-permit",
        "department_id": case.department_id,
    }
    assert recorded == [
        events.CaseStateChanged(
            **common,
            action="start_review",
            from_state="submitted",
            to_state="first_review",
            actor_id=works_officer.pk,
        ),
        events.CaseStateChanged(
            **common,
            action="pass_first",
            from_state="first_review",
            to_state="second_review",
            actor_id=works_officer.pk,
        ),
        events.CaseStateChanged(
            **common,
            action="approve",
            from_state="second_review",
            to_state="approved",
            actor_id=works_supervisor.pk,
        ),
        events.CaseDecided(**common, outcome="approved", state="approved"),
    ]

    # The fee, due once approved, is paid: the payment settles, the bill is paid, the
    # BillPaid subscriber moves the case on, and the permit is issued.
    recorded.clear()
    with django_capture_on_commit_callbacks(execute=True):
        pay_fee(case)
    case.refresh_from_db()
    assert case.payment_status == "paid"
    settled, paid = recorded[:2]
    assert isinstance(settled, events.PaymentSettled)
    assert (settled.bill_reference, settled.provider) == (case.bill_reference, "counter")
    assert paid == events.BillPaid(
        bill_id=settled.bill_id,
        reference=case.bill_reference,
        source_key=f"case:{case.reference}:fee",
        source_reference=case.reference,
        kind="fee",
        department_id=case.department_id,
        payer_id=resident.pk,
    )
    document = IssuedDocument.objects.get(reference=case.reference)
    issued = events.DocumentIssued(
        document_id=document.pk,
        reference=case.reference,
        template="permit",
        owner_id=resident.pk,
        department_id=case.department_id,
    )
    assert issued in recorded[2:]

    recorded.clear()
    with django_capture_on_commit_callbacks(execute=True):
        document_revoke(document=document, reason="Issued in error", actor=None)
    assert recorded == [events.DocumentRevoked(**{**issued.__dict__})]


def test_a_transition_queues_only_the_deliveries_that_have_work(
    shed, resident, works_officer, settings
):
    """The platform's subscribers of ``CaseStateChanged`` (a street report's, a
    complaint's, the webhooks') have nothing to do for a shed permit with no webhook
    subscription: their conditions keep their deliveries out of the queue. The same
    event for a case of a street-report category is queued for the street reports'
    subscriber alone, without the conditions' field."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"
    case = submit_shed(shed, resident)
    deliveries = DBTaskResult.objects.filter(task_path="ecitizen.core.events.event_deliver")
    before = set(deliveries.values_list("pk", flat=True))
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    assert case.state == "first_review"
    assert set(deliveries.values_list("pk", flat=True)) == before
    subscribers = {s.__name__ for s in registry.subscribers_of(events.CaseStateChanged)}
    assert {"report_follow_case", "complaint_follow_case", "webhook_event_fanout"} <= subscribers

    changed = events.CaseStateChanged(
        case_id=case.pk,
        reference=case.reference,
        service_slug="shed-permit",
        department_id=case.department_id,
        action="start_review",
        from_state="submitted",
        to_state="first_review",
        service_extensions=("report",),
    )
    assert events.event_publish(changed) == 1
    (queued,) = deliveries.exclude(pk__in=before)
    subscriber, event_path, payload = queued.args_kwargs["args"][:3]
    assert subscriber == "ecitizen.reports.services.report_follow_case"
    assert "service_extensions" not in payload  # a worker of the last version reads it
    assert events.event_rebuild(event_path, payload) == dataclasses.replace(
        changed, service_extensions=()
    )
