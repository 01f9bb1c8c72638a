"""What the participation app holds about a resident, for their data rights (the
``privacy`` app): their consultation responses, proposals, supports, comments, follows,
budget ballots and the census entries they claimed. Most records name a person key (a
blind index) rather than the account: ``services.common.person_keys_of`` finds the keys
that are provably the resident's (never a typed, unverified identity number's), the same
ones their erasure covers. Registered as ``participation`` in
``ParticipationConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "participation"


def export(user: Any) -> dict[str, Any]:
    """Everything ``user`` did in participation processes, under any of their person keys
    (:func:`~ecitizen.participation.services.common.person_keys_of`), with answers
    decrypted. Never another person's: comments are theirs alone, proposals those they
    wrote, and a national identity number counts only once the national eID verified it.
    One query per kind of record, however many there are."""
    from ecitizen.participation.models import (
        Ballot,
        Comment,
        Follow,
        NewsSubscription,
        Proposal,
        Response,
        Support,
    )
    from ecitizen.participation.services.common import person_keys_of

    mine = person_keys_of(user)
    keys = mine.keys
    items: list[dict[str, Any]] = []
    for entry in mine.census_entries:
        items.append(
            {
                "kind": "census_entry",
                "process": str(entry.process),
                "identifier": entry.identifier,
                "claimed_at": entry.claimed_at,
            }
        )
    responses = Response.objects.filter(person_key__in=keys).select_related("consultation")
    for response in responses.order_by("submitted_at", "pk"):
        items.append(
            {
                "kind": "consultation_response",
                "consultation": str(response.consultation),
                "channel": response.channel,
                "answers": response.answers,
                "submitted_at": response.submitted_at,
            }
        )
    for proposal in Proposal.objects.filter(author=user).select_related("process", "ward"):
        items.append(
            {
                "kind": "proposal",
                "process": str(proposal.process),
                "reference": proposal.reference,
                "title": proposal.title,
                "description": proposal.description,
                "ward": proposal.ward.name if proposal.ward else None,
                "latitude": proposal.latitude,
                "longitude": proposal.longitude,
                "status": proposal.status,
                "supports": proposal.support_count,
                "created_at": proposal.created_at,
                "answer": proposal.answer,
                "answer_text": proposal.answer_text,
                "answered_at": proposal.answered_at,
            }
        )
    supports = Support.objects.filter(person_key__in=keys).select_related("proposal")
    for support in supports.order_by("created_at", "pk"):
        items.append(
            {
                "kind": "support",
                "proposal": support.proposal.reference,
                "title": support.proposal.title,
                "channel": support.channel,
                "at": support.created_at,
            }
        )
    for comment in Comment.objects.filter(author=user).select_related("process").order_by("pk"):
        items.append(
            {
                "kind": "comment",
                "process": str(comment.process),
                "on": comment.target_kind,
                "on_id": comment.target_id,
                "text": comment.body,
                "status": comment.status,
                "created_at": comment.created_at,
            }
        )
    for follow in Follow.objects.filter(user=user).order_by("pk"):
        items.append(
            {
                "kind": "follow",
                "on": follow.target_kind,
                "on_id": follow.target_id,
                "at": follow.created_at,
            }
        )
    subscription = NewsSubscription.objects.filter(user=user).first()
    if subscription is not None:
        items.append({"kind": "news_subscription", "at": subscription.created_at})
    ballots = Ballot.objects.filter(person_key__in=keys).select_related("heading")
    for ballot in ballots.order_by("cast_at", "pk"):
        items.append(
            {
                "kind": "budget_ballot",
                "heading": str(ballot.heading),
                "channel": ballot.channel,
                "chosen_projects": ballot.choices,
                "cast_at": ballot.cast_at,
                "changes": ballot.changes,
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your participation"),
    purpose=_(
        "To run consultations, proposals and participatory budgets: count each person once "
        "and publish what residents said."
    ),
    lawful_basis="public_task",
    categories=(
        _("Your answers to consultations"),
        _("Proposals and comments you wrote, and what you supported"),
        _("Your participatory budget ballots"),
        _("Your entry on a process's census list"),
    ),
    recipients=_(
        "Engagement officers of the organising department; the public sees proposals and "
        "comments (with the name you chose) and anonymous results."
    ),
    retention=_("As set by each process's rules, then anonymised."),
    export=export,
    order=90,
)
