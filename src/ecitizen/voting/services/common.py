"""What every stage of an election shares: capabilities, the domain error, and the
election's protocol objects (``ecitizen_verify``) read back from its record."""

from __future__ import annotations

from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _

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
    """The election and trustees messages (the archive's first two members) of an opened
    election. Not the public credentials (the third): megabytes for a large electorate,
    and not needed to check or count a ballot."""
    if election.record_length < 5:
        raise VotingError(_("This election has not been opened yet."), code="not_open")
    rows = RecordMember.objects.filter(election=election, position__in=(1, 2)).order_by("position")
    return [bytes(row) for row in rows.values_list("data", flat=True)]


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
    return _parsed(election.pk, members[0], members[1])


def election_bytes_of(election: Election) -> bytes:
    """The election message's exact bytes (what the booth encrypts for)."""
    return _setup_members(election)[0]


def voting_window_open(election: Election) -> bool:
    """Whether ballots are accepted now: opened, and between its opening and closing time."""
    now = timezone.now()
    return election.state == Election.State.OPEN and election.opens_at <= now < election.closes_at
