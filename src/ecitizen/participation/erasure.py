"""Erasure of a resident's participation (ADR 0023).

Erased: their follows and news subscription, their flags on comments, the text of their
comments (shown as removed), and their answers to consultations. Kept: their proposals
(public, supported by others; no longer linked to the account), and their supports and
budget votes, counted in published results: these hold only a pseudonymous key that,
once the account's identity number is erased, nobody can link back to them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core import crypto
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.participation.models import (
    Ballot,
    Comment,
    CommentFlag,
    Follow,
    NewsSubscription,
    Proposal,
    Response,
    Support,
)
from ecitizen.participation.services.common import _KEY_CONTEXT, person_key_for_user

NAME = "participation"
#: What an erased comment reads in its place.
ERASED_COMMENT = "[removed at the author's request]"


def _person_keys(user: Any) -> set[str]:
    """Every key the resident may have taken part under: their identity number's, their
    account's (before they gave the number) and their email address's (answering
    without signing in)."""
    return {
        person_key_for_user(user),
        crypto.blind_index(f"user:{user.pk}", context=_KEY_CONTEXT),
        crypto.blind_index("email:" + user.email.strip().lower(), context=_KEY_CONTEXT),
    }


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    keys = _person_keys(user)
    follows = Follow.objects.filter(user=user)
    news = NewsSubscription.objects.filter(user=user)
    flags = CommentFlag.objects.filter(flagged_by=user)
    comments = Comment.objects.filter(author=user).exclude(body=ERASED_COMMENT)
    # Answers are encrypted: which still hold something is seen once decrypted.
    responses = [r for r in Response.objects.filter(person_key__in=keys) if r.answers]
    proposals = Proposal.objects.filter(author=user)
    counts = {
        "follows": follows.count() + news.count(),
        "flags": flags.count(),
        "comments": comments.count(),
        "responses": len(responses),
        "proposals": proposals.count(),
        "votes": Support.objects.filter(person_key__in=keys).count()
        + Ballot.objects.filter(person_key__in=keys).count(),
    }
    if apply:
        follows.delete()
        news.delete()
        flags.delete()
        comments.update(
            body=ERASED_COMMENT,
            status=Comment.Status.HIDDEN,
            hidden_reason=ERASED_COMMENT,
            hidden_at=timezone.now(),
        )
        for response in responses:
            response.answers = {}
            response.save(update_fields=["answers"])
        proposals.update(author=None)
        if any(counts.values()):
            audit_record(
                action="participation.erased",
                actor=actor,
                object_type="accounts.user",
                object_id=str(user.pk),
                subject_user_id=user.pk,
                changes={name: count for name, count in counts.items() if count},
            )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(_("What you followed and your participation news"), counts["follows"]),
            ErasedPart(_("Comments you reported"), counts["flags"]),
            ErasedPart(_("The text of your comments"), counts["comments"]),
            ErasedPart(_("Your answers to consultations"), counts["responses"]),
        ),
        kept=(
            ErasedPart(
                _("Your proposals, no longer linked to you"),
                counts["proposals"],
                _("They are public and others supported them."),
            ),
            ErasedPart(
                _("Your supports and budget votes"),
                counts["votes"],
                _(
                    "They are counted in published results. They hold no personal data "
                    "and can no longer be linked to you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)
