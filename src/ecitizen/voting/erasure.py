"""Erasure of a resident's place on voter lists (ADR 0023).

Their email address on each list is erased (and its lookup index replaced by a random
value). The place itself stays, with its public credential: the election's public record
must keep verifying, and ballots are anonymous: nothing links a ballot to a voter.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.voting.models import Voter

NAME = "voting"
ERASED = "[erased]"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    voters = list(Voter.objects.filter(user=user))
    to_erase = [voter for voter in voters if voter.email != ERASED]
    if apply:
        for voter in to_erase:
            voter.email = ERASED
            voter.email_index = "erased:" + secrets.token_hex(16)
            voter.save(update_fields=["email", "email_index"])
        if to_erase:
            audit_record(
                action="voting.voters_erased",
                actor=actor,
                object_type="accounts.user",
                object_id=str(user.pk),
                subject_user_id=user.pk,
                changes={"voters": len(to_erase)},
            )
    return Erasure(
        name=NAME,
        erased=(ErasedPart(_("Your email address on voter lists"), len(to_erase)),),
        kept=(
            ErasedPart(
                _("Your place on the voter lists of elections"),
                len(voters),
                _(
                    "The public record of an election must keep verifying. Ballots are "
                    "anonymous: nothing links yours to you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)
