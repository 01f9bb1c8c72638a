"""Erasure of what the api app holds about a resident (ADR 0023): the consents they gave
to integrators' apps. Their OAuth2 tokens are deleted by the accounts eraser with the
rest of the account's ways in; webhook subscriptions and deliveries belong to the
clients and carry references, never personal fields, so there is nothing of the
resident's to erase there."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecitizen.api.models import Consent
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record

NAME = "api"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    consents = Consent.objects.filter(user=user)
    count = consents.count()
    if apply and count:
        consents.delete()
        audit_record(
            action="api.consents_erased",
            actor=actor,
            object_type="accounts.user",
            object_id=str(user.pk),
            subject_user_id=user.pk,
            changes={"consents": count},
        )
    return Erasure(
        name=NAME,
        erased=(ErasedPart(_("Apps you let use your account"), count),),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Delete every consent ``user`` gave to an app (see the module's docstring)."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    """What :func:`erase` would delete now, changing nothing."""
    return _run(user, None, apply=False)
