"""What the feedback app holds about a resident, for their data rights (the ``privacy``
app): their compliments, suggestions and complaints, with where each stands. (Satisfaction
ratings are kept without who gave them, so they are nobody's personal data and cannot be
exported.) Registered as ``feedback`` in ``FeedbackConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "feedback"


def export(user: Any) -> dict[str, Any]:
    """Every compliment, suggestion and complaint ``user`` wrote (also those still waiting
    for their email confirmation, with their answers decrypted)."""
    from ecitizen.feedback.models import Submission

    submissions = Submission.objects.filter(author=user).select_related(
        "about_service", "about_department", "case"
    )
    items = [
        {
            "kind": submission.kind,
            "status": submission.status,
            "about_service": submission.about_service.slug if submission.about_service else None,
            "about_department": (
                submission.about_department.name if submission.about_department else None
            ),
            "text": submission.text,
            "answers_waiting_for_confirmation": submission.pending_answers,
            "created_at": submission.created_at,
            "received_at": submission.received_at,
            "case_reference": submission.case.reference if submission.case else None,
            "state": submission.state,
            "acknowledged_at": submission.acknowledged_at,
            "responded_at": submission.responded_at,
            "stage2_requested_at": submission.stage2_requested_at,
            "stage2_responded_at": submission.stage2_responded_at,
            "closed_at": submission.closed_at,
        }
        for submission in submissions.order_by("created_at", "pk")
    ]
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your feedback and complaints"),
    purpose=_("To answer your compliments, suggestions and complaints, and improve our services."),
    lawful_basis="public_task",
    categories=(
        _("What you wrote and what it is about"),
        _("How your complaint was handled and answered"),
    ),
    recipients=_("Officials of the department concerned and the complaints team."),
    retention=_("As set by the retention rules for closed cases."),
    export=export,
    order=80,
)
