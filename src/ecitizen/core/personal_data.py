"""What core's audit trail holds about a resident, for their data rights (the ``privacy``
app): the data tracker (who, as which office, looked at their personal data) and the
events recorded on their account. Registered as ``audit`` in ``CoreConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "audit"

#: Staff reads of a resident's personal data (what their data tracker shows).
STAFF_READ_ACTIONS = frozenset(
    {"personal_data.viewed", "personal_data.looked_up", "cases.assist_consent_granted"}
)


def export(user: Any) -> dict[str, Any]:
    """Every audit event recorded about ``user``, oldest first. Someone else's act is
    named by the office (role) they acted as, never by their name or address, as the
    data tracker shows it; the internet address is given only for the resident's own acts.
    The recorded changes are left out (personal values in them are masked anyway)."""
    from ecitizen.core.models import AuditEvent

    items = []
    events = AuditEvent.objects.filter(subject_user_id=user.pk).order_by("sequence")
    for event in events.iterator():
        own = event.actor_id == user.pk
        items.append(
            {
                "kind": "staff_read" if event.action in STAFF_READ_ACTIONS else "event",
                "at": event.created_at,
                "action": event.action,
                "by": "you" if own else ("system" if event.actor_id is None else "staff"),
                "role": "" if own else event.actor_role,
                "object_type": event.object_type,
                "ip_address": event.ip_address if own else None,
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Who has looked at your information, and your account's history"),
    purpose=_(
        "To protect your information: we record every change, every sign-in and every time "
        "staff look at your personal details, and you can see it."
    ),
    lawful_basis="legal_obligation",
    categories=(
        _("What was done, when, and by which office"),
        _("The internet address of your own sign-ins and changes"),
    ),
    recipients=_("Auditors of the authority; you, in your data tracker."),
    retention=_(
        "Security records are kept for 6 years; they cannot be changed or deleted, but "
        "personal values in them are masked."
    ),
    export=export,
    order=110,
)
