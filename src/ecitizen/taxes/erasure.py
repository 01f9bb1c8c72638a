"""Erasure and the tax roll (ADR 0023).

The resident's ownerships stay on the roll (parcel, share, dates: a tax record the
authority must keep, and bills refer to them) but their name on it is erased, as are
the reminders' records (kept: what was sent and when). Property addresses are the
parcel's, not the person's, and stay. The roll is re-imported from the land registry,
the register of record, should the authority need the owner again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.taxes.models import Ownership, TaxNotice

NAME = "taxes"
ERASED = "[erased]"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    ownerships = list(Ownership.objects.filter(owner=user))
    named = [item for item in ownerships if item.owner_name != ERASED]
    notices = TaxNotice.objects.filter(recipient=user).count()
    if apply:
        for ownership in named:
            ownership.owner_name = ERASED
            ownership.save(update_fields=["owner_name"])
        if named:
            audit_record(
                action="taxes.owner_erased",
                actor=actor,
                object_type="accounts.user",
                object_id=str(user.pk),
                subject_user_id=user.pk,
                changes={"ownerships": len(named)},
            )
    return Erasure(
        name=NAME,
        erased=(ErasedPart(_("Your name on the property tax roll"), len(named)),),
        kept=(
            ErasedPart(
                _("Your property ownerships and tax reminders, without your name"),
                len(ownerships) + notices,
                _(
                    "Tax records we must keep by law (legal obligation): which parcel, "
                    "what share, which dates, what was sent when."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)
