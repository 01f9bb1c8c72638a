"""What every stage of an election shares: capabilities, the domain error, and the
election's protocol objects (``ecitizen_verify``) read back from its record."""

from __future__ import annotations

from functools import lru_cache

from django.utils import timezone

from ecitizen.core.errors import DomainError
from ecitizen.voting.models import Election, RecordMember
from ecitizen_verify.election import Election as ProtocolElection
from ecitizen_verify.election import parse_election
from ecitizen_verify.group import BELENIOS_2048
from ecitizen_verify.trustees import Item, parse_trustees

#: Prepare elections: texts, questions, voters, trustees, dates; open, close, publish.
VOTING_ADMINISTER = "voting.administer"
#: Issue voters' credentials (never the same official as the election's administrator).
VOTING_CREDENTIALS = "voting.credentials"
#: Reach the staff voting pages (either of the two above).
VOTING_WORK = "voting.work"

GROUP = BELENIOS_2048
#: Ballots one voter may cast in an hour (re-voting is allowed; flooding is not).
BALLOTS_PER_HOUR = 10


class VotingError(DomainError):
    """A voting rule refused an action; ``code`` says which, the message says why."""

    code = "voting_error"


def _setup_members(election: Election) -> list[bytes]:
    rows = RecordMember.objects.filter(election=election, position__lte=5).order_by("position")
    return [bytes(row.data) for row in rows]


@lru_cache(maxsize=64)
def _parsed(
    election_id: int, election_bytes: bytes, trustees_bytes: bytes
) -> tuple[ProtocolElection, tuple[Item, ...]]:
    election = parse_election(election_bytes)
    return election, parse_trustees(election.group, trustees_bytes)


def protocol_election(election: Election) -> tuple[ProtocolElection, tuple[Item, ...]]:
    """The election and trustees messages of an opened election, parsed (and cached by
    their bytes, which never change once written). Raises VotingError before opening."""
    members = _setup_members(election)
    if len(members) < 5:
        raise VotingError("This election has not been opened yet.", code="not_open")
    return _parsed(election.pk, members[0], members[1])


def election_bytes_of(election: Election) -> bytes:
    """The election message's exact bytes (what the booth encrypts for)."""
    members = _setup_members(election)
    if not members:
        raise VotingError("This election has not been opened yet.", code="not_open")
    return members[0]


def voting_window_open(election: Election) -> bool:
    """Whether ballots are accepted now: opened, and between its opening and closing time."""
    now = timezone.now()
    return election.state == Election.State.OPEN and election.opens_at <= now < election.closes_at
