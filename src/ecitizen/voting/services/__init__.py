"""Writes of the voting app, one module per stage of an election (callers import the
module they need, ``from ecitizen.voting.services import ballots``):

- ``common``: capabilities, the domain error, the election's protocol objects;
- ``record``: appending to the election's public archive;
- ``elections``: preparing an election (texts, questions, voters, trustees), freezing it,
  opening it;
- ``ceremony``: the trustees' key generation, round by round;
- ``credentials``: issuing voters' credentials, or taking offline-made public ones;
- ``ballots``: casting a ballot;
- ``counting``: closing the ballot box, trustees' partial decryptions, the result.
"""

from ecitizen.voting.services.common import (
    VOTING_ADMINISTER,
    VOTING_CREDENTIALS,
    VOTING_WORK,
    VotingError,
)

__all__ = ["VOTING_ADMINISTER", "VOTING_CREDENTIALS", "VOTING_WORK", "VotingError"]
