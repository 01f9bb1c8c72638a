"""The reports app's webhook event for integrators (``report.updated``): a street report's
case moved to another state. Registered from ``ReportsConfig.ready`` with
:func:`register_webhook_events`; delivered by the api app. The payload carries the
report's reference, category and state, not its description, place or reporter."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.events import CaseStateChanged
from ecitizen.core.registry import WebhookEvent, registry
from ecitizen.reports.models import Report


def _report(event: Any) -> dict[str, Any] | None:
    row = (
        Report.objects.filter(case_id=event.case_id)
        .values("reference", "category", "state", "is_open", "reporter_id", "ward_id")
        .first()
    )
    return dict(row) if row is not None else None


def report_applies(event: Any) -> bool:
    """Whether the case of this state change is a street report's."""
    return Report.objects.filter(case_id=event.case_id).exists()


def report_audience(event: Any) -> dict[str, Any]:
    """The reporter, the case's department and the report's ward."""
    report = _report(event)
    if report is None:
        return {"user_id": None, "department_id": None, "ward_id": None}
    return {
        "user_id": report["reporter_id"],
        "department_id": event.department_id,
        "ward_id": report["ward_id"],
    }


def report_updated_payload(event: Any) -> dict[str, Any]:
    report = _report(event) or {}
    return {
        "reference": event.reference,
        "category": report.get("category", event.service_slug),
        "action": event.action,
        "from_state": event.from_state,
        "state": event.to_state,
        "is_open": report.get("is_open"),
    }


def register_webhook_events() -> None:
    """Offer the report event to integrators (idempotent)."""
    registry.register_webhook_event(
        WebhookEvent(
            name="report.updated",
            label=_("A street report moved to another state"),
            event_type=CaseStateChanged,
            payload=report_updated_payload,
            audience=report_audience,
            scopes=("applications:read", "cases:read"),
            applies=report_applies,
        )
    )
