"""Erasure of what the api app holds about a resident (ADR 0023): the consents they gave
to integrators' apps, and the webhook subscriptions those apps made for them (with their
deliveries, whose bodies name the resident's cases, bills and documents by reference).
Their OAuth2 tokens and grants are deleted by the accounts eraser with the rest of the
account's ways in (it runs last, in the same transaction)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecitizen.api.models import Consent, WebhookSubscription
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record

NAME = "api"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    consents = Consent.objects.filter(user=user)
    subscriptions = WebhookSubscription.objects.filter(user=user)
    counts = {"consents": consents.count(), "webhook_subscriptions": subscriptions.count()}
    if apply and any(counts.values()):
        consents.delete()
        subscriptions.delete()  # their deliveries and attempts go with them (CASCADE)
        audit_record(
            action="api.consents_erased",
            actor=actor,
            object_type="accounts.user",
            object_id=str(user.pk),
            subject_user_id=user.pk,
            changes={name: count for name, count in counts.items() if count},
        )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(_("Apps you let use your account"), counts["consents"]),
            ErasedPart(_("The events those apps are told about"), counts["webhook_subscriptions"]),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Delete every consent ``user`` gave to an app and every webhook subscription made
    for them, with its delivery log (see the module's docstring). Audited
    (``api.consents_erased``) when there was anything to delete."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    """What :func:`erase` would delete now, changing nothing."""
    return _run(user, None, apply=False)
