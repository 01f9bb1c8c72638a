"""The documents app's webhook events for integrators (``document.issued``,
``document.revoked``): registered from ``DocumentsConfig.ready`` with
:func:`register_webhook_events`; delivered by the api app. Payloads carry the reference
and template only: not the holder, not the verification code, not a revocation's reason.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.events import DocumentIssued, DocumentRevoked
from ecitizen.core.registry import WebhookEvent, registry

DOCUMENT_SCOPES = ("documents:read", "cases:read")


def document_audience(event: Any) -> dict[str, Any]:
    """The document's holder and department (documents belong to no ward)."""
    return {"user_id": event.owner_id, "department_id": event.department_id, "ward_id": None}


def document_payload(event: Any) -> dict[str, Any]:
    return {
        "document_id": event.document_id,
        "reference": event.reference,
        "template": event.template,
    }


def register_webhook_events() -> None:
    """Offer the document events to integrators (idempotent)."""
    registry.register_webhook_event(
        WebhookEvent(
            name="document.issued",
            label=_("A licence, permit or certificate was issued"),
            event_type=DocumentIssued,
            payload=document_payload,
            audience=document_audience,
            scopes=DOCUMENT_SCOPES,
        )
    )
    registry.register_webhook_event(
        WebhookEvent(
            name="document.revoked",
            label=_("An issued document was revoked"),
            event_type=DocumentRevoked,
            payload=document_payload,
            audience=document_audience,
            scopes=DOCUMENT_SCOPES,
        )
    )
