"""The cases app's webhook events for integrators (``case.submitted``,
``case.state_changed``): registered from ``CasesConfig.ready`` with
:func:`register_webhook_events`; delivered by the api app.

Payloads carry the case's reference, service and states, never an answer or a name; the
audience is the applicant and the case's department and ward, read from the case.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.cases.models import Case
from ecitizen.core.events import CaseStateChanged, CaseSubmitted
from ecitizen.core.registry import WebhookEvent, registry

#: What a client must have been granted to hear of a case (one of them).
CASE_SCOPES = ("applications:read", "cases:read")


def case_audience(event: Any) -> dict[str, Any]:
    """The applicant, department and ward of the event's case."""
    row = (
        Case.objects.filter(pk=event.case_id)
        .values("applicant_id", "department_id", "ward_id")
        .first()
    )
    if row is None:
        return {"user_id": None, "department_id": event.department_id, "ward_id": None}
    return {
        "user_id": row["applicant_id"],
        "department_id": row["department_id"],
        "ward_id": row["ward_id"],
    }


def case_submitted_payload(event: Any) -> dict[str, Any]:
    return {
        "reference": event.reference,
        "service": event.service_slug,
        "state": event.state,
        "channel": event.channel,
    }


def case_state_changed_payload(event: Any) -> dict[str, Any]:
    return {
        "reference": event.reference,
        "service": event.service_slug,
        "action": event.action,
        "from_state": event.from_state,
        "state": event.to_state,
    }


def register_webhook_events() -> None:
    """Offer the case events to integrators (idempotent)."""
    registry.register_webhook_event(
        WebhookEvent(
            name="case.submitted",
            label=_("An application was sent and became a case"),
            event_type=CaseSubmitted,
            payload=case_submitted_payload,
            audience=case_audience,
            scopes=CASE_SCOPES,
        )
    )
    registry.register_webhook_event(
        WebhookEvent(
            name="case.state_changed",
            label=_("A case moved to another state"),
            event_type=CaseStateChanged,
            payload=case_state_changed_payload,
            audience=case_audience,
            scopes=CASE_SCOPES,
        )
    )
