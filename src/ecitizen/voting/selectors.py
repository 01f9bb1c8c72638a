"""Reads of the voting app: the public's elections and their records, the officials'
elections (confined by the remit: department and ward), a trustee's and a voter's place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from ecitizen.accounts.selectors import remit_filter
from ecitizen.voting.models import CastBallot, Election, Question, Trustee
from ecitizen.voting.services.common import VOTING_ADMINISTER
from ecitizen.voting.services.record import event_members

PUBLIC_STATES = (
    Election.State.SETUP,
    Election.State.OPEN,
    Election.State.CLOSED,
    Election.State.PUBLISHED,
)


def elections_public() -> QuerySet[Election]:
    """Every election past its preparation, most recent first."""
    return Election.objects.filter(state__in=PUBLIC_STATES).select_related("department")


def election_public_or_404(slug: str) -> Election:
    election = elections_public().filter(slug=slug).first()
    if election is None:
        raise Http404
    return election


def questions_of(election: Election) -> list[Question]:
    return list(election.questions.order_by("position"))


def trustees_of(election: Election) -> list[Trustee]:
    return list(election.trustees.order_by("position"))


@dataclass(frozen=True)
class BallotBox:
    """A page of the public ballot box: trackers and times, newest first."""

    rows: list[CastBallot]
    total: int
    counted: int
    found: CastBallot | None


def ballot_box(election: Election, *, tracker: str = "", limit: int = 200) -> BallotBox:
    """The ballot box's trackers (never voters), and the ballot with ``tracker`` if any."""
    ballots = CastBallot.objects.filter(election=election).only(
        "tracker", "cast_at", "replaced", "election_id"
    )
    found = ballots.filter(tracker=tracker.strip()).first() if tracker.strip() else None
    return BallotBox(
        rows=list(ballots.order_by("-cast_at", "-pk")[:limit]),
        total=ballots.count(),
        counted=ballots.filter(replaced=False).count(),
        found=found,
    )


@dataclass(frozen=True)
class Decryption:
    owner: int
    name: str


def decryptions_of(election: Election, published: Published | None) -> list[Decryption]:
    """Who has decrypted the tally so far (the server is owner 1), from the counting's
    published data (none before the ballot box closes)."""
    if published is None:
        return []
    names = {t.owner: t.name for t in election.trustees.all()}
    return [Decryption(owner, names.get(owner, "")) for owner, _data in published.decryptions]


@dataclass(frozen=True)
class Published:
    """The counting's public data as the archive holds it: the encrypted tally and each
    partial decryption (factors and proofs), for an observer to read or copy."""

    tally: str
    decryptions: list[tuple[int, str]]


def published_counting(election: Election) -> Published | None:
    """The tally and the decryptions once the ballot box is closed, else ``None``."""
    tallies = event_members(election, "EncryptedTally")
    if not tallies:
        return None
    decryptions = [
        (json.loads(owned)["owner"], data.decode())
        for data, owned in event_members(election, "PartialDecryption")
    ]
    return Published(tallies[0][0].decode(), decryptions)


def result_rows(election: Election) -> list[dict[str, Any]]:
    """Per question: its text and each answer with its count (blank first when allowed)."""
    if not election.result:
        return []
    rows = []
    for question, counts in zip(questions_of(election), election.result, strict=True):
        answers = question.answers_tr()
        labelled = list(zip(answers, counts[1:] if question.blank else counts, strict=True))
        total = sum(counts)
        rows.append(
            {
                "question": question,
                "answers": [
                    {"label": label, "count": count, "share": (100 * count / total) if total else 0}
                    for label, count in labelled
                ],
                "blank": counts[0] if question.blank else None,
                "total": total,
            }
        )
    return rows


def archive_name(election: Election) -> str:
    return f"{election.uuid}.bel"


# --- officials -----------------------------------------------------------------------------


def elections_for_staff(user: Any) -> QuerySet[Election]:
    """The elections ``user`` administers within their remit, or is the credential
    authority of."""
    return (
        Election.objects.filter(
            remit_filter(user, VOTING_ADMINISTER, department_field="department", ward_field="ward")
            | Q(credential_authority=user)
        )
        .select_related("department", "ward")
        .order_by("-opens_at", "slug")
    )


def election_for_staff_or_404(user: Any, slug: str) -> Election:
    election = elections_for_staff(user).filter(slug=slug).first()
    if election is None:
        raise Http404
    return election


def may_administer(user: Any, election: Election) -> bool:
    return (
        Election.objects.filter(pk=election.pk)
        .filter(
            remit_filter(user, VOTING_ADMINISTER, department_field="department", ward_field="ward")
        )
        .exists()
    )


def trustee_for(user: Any, election: Election) -> Trustee | None:
    """The trustee ``user`` is in ``election``, or ``None``."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Trustee.objects.filter(election=election, user=user).select_related("election").first()


def elections_as_trustee(user: Any) -> QuerySet[Election]:
    return Election.objects.filter(trustees__user=user).order_by("-opens_at")
