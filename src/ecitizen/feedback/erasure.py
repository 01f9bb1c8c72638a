"""Erasure and retention of feedback (ADR 0023).

On erasure: feedback never confirmed is deleted; what was sent loses the answers kept
for a confirmation, and keeps its text (personal details are already redacted from it
when it is received) and, for a complaint, the statutory dates; the complaint's case
loses its answers and messages through the cases eraser.

Retention rule: feedback whose email address was never confirmed is deleted
``unconfirmed_feedback`` days after its link expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.feedback.models import Submission

NAME = "feedback"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    mine = Submission.objects.filter(author=user)
    pending = mine.filter(status=Submission.Status.PENDING)
    received = mine.exclude(status=Submission.Status.PENDING)
    counts = {"pending": pending.count(), "received": received.count()}
    if apply:
        pending.delete()
        received.filter(pending_answers__isnull=False).update(pending_answers=None)
        if any(counts.values()):
            audit_record(
                action="feedback.erased",
                actor=actor,
                object_type="accounts.user",
                object_id=str(user.pk),
                subject_user_id=user.pk,
                changes=counts,
            )
    return Erasure(
        name=NAME,
        erased=(ErasedPart(_("Feedback you had not confirmed"), counts["pending"]),),
        kept=(
            ErasedPart(
                _("Your compliments, suggestions and complaints, without your details"),
                counts["received"],
                _(
                    "Complaints are handled and reported on under a statutory procedure; "
                    "personal details were removed from the text when it was received."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)


def _unconfirmed(now: datetime) -> QuerySet[Submission]:
    cutoff = now - timedelta(days=settings.RETENTION_PERIODS["unconfirmed_feedback"])
    return Submission.objects.filter(
        status=Submission.Status.PENDING, confirm_expires_at__lt=cutoff
    )


def unconfirmed_plan(now: datetime) -> int:
    """How many unconfirmed submissions expired more than ``unconfirmed_feedback`` days ago."""
    return _unconfirmed(now).count()


@transaction.atomic
def unconfirmed_apply(now: datetime) -> int:
    """Delete them; returns how many."""
    count = _unconfirmed(now).count()
    _unconfirmed(now).delete()
    return count
