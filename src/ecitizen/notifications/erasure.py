"""Erasure and retention of notifications (ADR 0023).

On erasure: every notification to the resident is deleted (inbox messages and the
records of emails and text messages, queued ones included: their delivery then finds
nothing to send), and so are the development SMS outbox's messages to their phone.

Retention rules: notifications (other than queued ones) are deleted ``notifications``
days after they were written; the development SMS outbox keeps ``sms_outbox`` days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import ResidentProfile
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.notifications.models import Notification, SmsOutboxMessage, Status

NAME = "notifications"


def _outbox_ids(user: Any) -> list[int]:
    """The outbox messages sent to the resident's phone (the phone is encrypted, so the
    development outbox, which is small, is read through)."""
    profile = ResidentProfile.objects.filter(user=user).first()
    phone = ((profile.phone or "") if profile is not None else "").strip()
    if not phone:
        return []
    return [
        message.pk
        for message in SmsOutboxMessage.objects.all().iterator()
        if (message.phone or "").strip() == phone
    ]


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    notifications = Notification.objects.filter(recipient=user)
    outbox = _outbox_ids(user)
    count = notifications.count()
    if apply:
        notifications.delete()
        SmsOutboxMessage.objects.filter(pk__in=outbox).delete()
        if count or outbox:
            audit_record(
                action="notifications.erased",
                actor=actor,
                object_type="accounts.user",
                object_id=str(user.pk),
                subject_user_id=user.pk,
                changes={"notifications": count, "outbox": len(outbox)},
            )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(_("Messages we sent you (inbox, emails and text messages)"), count),
            ErasedPart(_("Text messages in the test outbox"), len(outbox)),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Delete every notification to ``user`` (see the module's docstring)."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)


# --- Retention -------------------------------------------------------------------------------


def _old(now: datetime) -> QuerySet[Notification]:
    cutoff = now - timedelta(days=settings.RETENTION_PERIODS["notifications"])
    return Notification.objects.filter(created_at__lt=cutoff).exclude(status=Status.QUEUED)


def old_plan(now: datetime) -> int:
    """How many notifications are older than ``notifications`` days (queued ones wait)."""
    return _old(now).count()


@transaction.atomic
def old_apply(now: datetime) -> int:
    """Delete them; returns how many."""
    deleted, _rows = _old(now).delete()
    return int(deleted)


def _old_outbox(now: datetime) -> QuerySet[SmsOutboxMessage]:
    cutoff = now - timedelta(days=settings.RETENTION_PERIODS["sms_outbox"])
    return SmsOutboxMessage.objects.filter(created_at__lt=cutoff)


def outbox_plan(now: datetime) -> int:
    return _old_outbox(now).count()


@transaction.atomic
def outbox_apply(now: datetime) -> int:
    deleted, _rows = _old_outbox(now).delete()
    return int(deleted)
