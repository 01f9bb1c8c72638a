"""Erasing a resident's personal values from the audit trail without breaking its chain
(ADR 0023): the events stay, as the law and the trail's integrity require, and the key
their personal values were sealed under (:mod:`ecitizen.core.auditseal`) is destroyed.
``ecitizen audit verify`` still passes: no stored byte of any event changes."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecitizen.core.auditseal import audit_subject_erase
from ecitizen.core.models import AuditEvent, AuditSubjectKey
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record

NAME = "audit"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    events = AuditEvent.objects.filter(Q(actor_id=user.pk) | Q(subject_user_id=user.pk)).count()
    has_key = AuditSubjectKey.objects.filter(subject_user_id=user.pk).exists()
    if apply and has_key:
        audit_subject_erase(subject_user_id=user.pk)
        audit_record(
            action="audit.subject_key_destroyed",
            actor=actor,
            object_type="core.auditsubjectkey",
            object_id=str(user.pk),
            subject_user_id=user.pk,
        )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(
                _("Your email address as recorded in the audit trail (its key is destroyed)"),
                1 if has_key else 0,
            ),
        ),
        kept=(
            ErasedPart(
                _("Audit trail events about your account"),
                events,
                _(
                    "The audit trail records who did what and when, for accountability; it "
                    "cannot be changed. The events no longer name you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Destroy ``user``'s audit key (see the module's docstring)."""
    return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)
