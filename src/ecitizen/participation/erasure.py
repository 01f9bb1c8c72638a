"""Erasure of a resident's participation (ADR 0023).

Erased: their follows and news subscription, their flags on comments, the text of their
comments (shown as removed), their answers to consultations, and on the census lists
they took part from, their identifier and the link to their account. Kept: their
proposals (public, supported by others; no longer linked to the account), their supports
and budget votes, counted in published results: these hold only a pseudonymous key that,
once the account's identity number and the census identifier are erased, nobody can link
back to them; and their census entries, marked as used, so that their codes cannot be
used again (the organiser's list counts each person once).

The records are found under the keys that are provably the resident's
(:func:`~ecitizen.participation.services.common.person_keys_of`): a national identity
number they typed but the national eID never verified finds nothing of its holder's.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.participation.models import (
    Ballot,
    CensusEntry,
    Comment,
    CommentFlag,
    Follow,
    NewsSubscription,
    Proposal,
    Response,
    Support,
)
from ecitizen.participation.services.common import person_keys_of

NAME = "participation"
#: What an erased comment reads in its place.
ERASED_COMMENT = "[removed at the author's request]"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    # The census entries' keys are read before their identifiers are erased below.
    mine = person_keys_of(user)
    follows = Follow.objects.filter(user=user)
    news = NewsSubscription.objects.filter(user=user)
    flags = CommentFlag.objects.filter(flagged_by=user)
    comments = Comment.objects.filter(author=user).exclude(body=ERASED_COMMENT)
    # Answers are encrypted: which still hold something is seen once decrypted.
    responses = [r for r in Response.objects.filter(person_key__in=mine.keys) if r.answers]
    proposals = Proposal.objects.filter(author=user)
    census = CensusEntry.objects.filter(pk__in=[entry.pk for entry in mine.census_entries])
    counts = {
        "follows": follows.count() + news.count(),
        "flags": flags.count(),
        "comments": comments.count(),
        "responses": len(responses),
        "census": len(mine.census_entries),
        "proposals": proposals.count(),
        "votes": Support.objects.filter(person_key__in=mine.keys).count()
        + Ballot.objects.filter(person_key__in=mine.keys).count(),
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
        # The entry stays claimed, with its identifier's blind index and its code's hash:
        # the code stays used and a new upload of the list does not issue another.
        census.update(identifier="", claimed_by=None)
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
            ErasedPart(
                _("Your identifier on census lists and its link to your account"),
                counts["census"],
            ),
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
            ErasedPart(
                _("Census codes you used, still marked as used"),
                counts["census"],
                _(
                    "So that a code cannot be used twice and results count each person "
                    "once. They no longer hold your identifier or name you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Erase ``user``'s participation (see the module's docstring); audited as
    ``participation.erased`` with the counts."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    """What :func:`erase` would erase and keep now; changes nothing."""
    return _run(user, None, apply=False)
