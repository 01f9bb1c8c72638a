"""Casting a ballot: the voter's browser encrypted and signed it; the server checks every
proof and the signature, that the credential is this voter's, and the time, then appends
it to the archive. The last ballot of a voter is the one counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import (
    IdentityVerificationRequired,
    identity_verification_require,
    user_email_verified,
)
from ecitizen.core.services import audit_record
from ecitizen.notifications.services import notification_send
from ecitizen.voting.models import CastBallot, Election, Voter
from ecitizen.voting.services.common import (
    BALLOTS_PER_HOUR,
    VotingError,
    protocol_election,
    voting_window_open,
)
from ecitizen.voting.services.elections import email_index
from ecitizen.voting.services.record import record_append
from ecitizen_verify.ballot import check_ballot
from ecitizen_verify.errors import Invalid

#: The largest ballot accepted, in bytes (a ballot of 10 questions of 20 answers is ~400 kB).
MAX_BALLOT_BYTES = 1_000_000


@dataclass(frozen=True)
class Cast:
    """A cast ballot's receipt: its tracker, and whether it replaced an earlier ballot
    (``again``) or was the same ballot sent twice (``repeated``: nothing new was cast)."""

    tracker: str
    cast_at: Any
    again: bool
    repeated: bool


def voter_for(election: Election, user: Any) -> Voter | None:
    """The voter ``user`` is on ``election``'s list: by account, or by their verified
    email address (linking the account then). ``None`` when not on the list."""
    if not getattr(user, "is_authenticated", False):
        return None
    voter = Voter.objects.filter(election=election, user=user).first()
    if voter is not None:
        return voter
    if not user_email_verified(user):
        return None
    voter = Voter.objects.filter(
        election=election, email_index=email_index(election, user.email), user__isnull=True
    ).first()
    if voter is not None:
        voter.user = user
        voter.save(update_fields=["user"])
    return voter


def voter_identity_problem(election: Election, user: Any) -> str:
    """Why ``user`` may not vote in ``election`` for want of a verified identity (the
    election's ``requires_verified_identity``, ``minimum_acr``), or "" when they may."""
    if not election.requires_verified_identity:
        return ""
    try:
        identity_verification_require(user, minimum_acr=election.minimum_acr or None)
    except IdentityVerificationRequired as error:
        return str(error.message)
    return ""


def ballot_cast(*, election: Election, voter: Voter, raw: bytes) -> Cast:
    """Check and cast the ballot ``raw`` (canonical JSON, as the booth made it) for
    ``voter`` (whom the caller authenticated: :func:`voter_for` a signed-in user). Raises
    VotingError when voting is not open, the ballot is malformed or does not verify, it
    was made with another credential than the voter's, the election requires a
    verified identity the voter has not (``identity_not_verified``), or
    the voter has cast too many ballots in the last hour. Sending the same ballot twice
    casts it once (``repeated``). Side effects: the ballot and its event appended to the
    archive, earlier ballots of the voter marked replaced, a receipt to the voter, an
    audit event — all in one transaction."""
    election = Election.objects.get(pk=election.pk)  # its state now, not the caller's copy
    if not voting_window_open(election):
        raise VotingError(_("Voting is not open."), code="closed")
    if voter.election_id != election.pk:
        raise VotingError(_("You are not on the voter list of this election."), code="not_voter")
    identity_problem = voter_identity_problem(election, voter.user)
    if identity_problem:
        raise VotingError(identity_problem, code="identity_not_verified")
    if len(raw) > MAX_BALLOT_BYTES:
        raise VotingError(_("This is not a ballot of this election."), code="too_big")
    protocol, _items = protocol_election(election)
    try:
        ballot = check_ballot(protocol, raw)
    except Invalid as error:
        raise VotingError(
            _("Your ballot could not be accepted: %(reason)s. Nothing was cast.")
            % {"reason": error},
            code="invalid",
        ) from error
    if str(ballot.credential) != voter.public_credential:
        raise VotingError(
            _(
                "This ballot was made with a credential that is not yours. Check the "
                "credential you typed against the one you were sent. Nothing was cast."
            ),
            code="credential",
        )
    return _cast(election, voter, raw, ballot.tracker)


@transaction.atomic
def _cast(election: Election, voter: Voter, raw: bytes, tracker: str) -> Cast:
    election = Election.objects.select_for_update().get(pk=election.pk)
    if not voting_window_open(election):
        raise VotingError(
            _("Voting closed before your ballot arrived. Nothing was cast."), code="closed"
        )
    earlier = CastBallot.objects.filter(election=election, voter=voter)
    same = earlier.filter(tracker=tracker).first()
    if same is not None:
        return Cast(tracker, same.cast_at, again=False, repeated=True)
    now = timezone.now()
    if earlier.filter(cast_at__gte=now - timedelta(hours=1)).count() >= BALLOTS_PER_HOUR:
        raise VotingError(
            _("You have cast %(count)s ballots in the last hour. Wait a while before voting again.")
            % {"count": BALLOTS_PER_HOUR},
            code="rate",
        )
    again = earlier.filter(replaced=False).update(replaced=True) > 0
    record_append(election, "Ballot", raw)
    cast = CastBallot.objects.create(election=election, voter=voter, tracker=tracker, cast_at=now)
    audit_record(
        action="voting.ballot_cast", actor=voter.user, obj=election, changes={"again": again}
    )
    if voter.user is not None:
        notification_send(
            recipient=voter.user,
            event="voting_ballot_cast",
            context={
                "election": election.title,
                "tracker": tracker,
                "url": f"/voting/{election.slug}/ballots/?{urlencode({'tracker': tracker})}",
            },
        )
    return Cast(tracker, cast.cast_at, again=again, repeated=False)
