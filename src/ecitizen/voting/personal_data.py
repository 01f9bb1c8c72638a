"""What the voting app holds about a resident, for their data rights (the ``privacy``
app): the elections they were a voter of, with the trackers of the ballots they cast, and
the elections they were a trustee of. How they voted is in no record in the clear (ballots
are encrypted, and only the tally is ever decrypted), so it cannot be exported. Registered
as ``voting`` in ``VotingConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "voting"


def export(user: Any) -> dict[str, Any]:
    """Every voter list entry of ``user`` (email decrypted), the trackers of their cast
    ballots (the last one counts), and their trustee roles."""
    from ecitizen.voting.models import Trustee, Voter

    items: list[dict[str, Any]] = []
    voters = Voter.objects.filter(user=user).select_related("election").prefetch_related("ballots")
    for voter in voters.order_by("election__opens_at", "pk"):
        items.append(
            {
                "kind": "voter",
                "election": str(voter.election),
                "election_slug": voter.election.slug,
                "email_on_the_list": voter.email,
                "voter_number": voter.login,
                "credential_sent_at": voter.credential_sent_at,
                "ballots": [
                    {
                        "tracker": ballot.tracker,
                        "cast_at": ballot.cast_at,
                        "counts": not ballot.replaced,
                    }
                    for ballot in voter.ballots.all()
                ],
            }
        )
    for trustee in Trustee.objects.filter(user=user).select_related("election"):
        items.append(
            {
                "kind": "trustee",
                "election": str(trustee.election),
                "election_slug": trustee.election.slug,
                "name": trustee.name,
                "position": trustee.position,
                "decrypted_at": trustee.decrypted_at,
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your elections"),
    purpose=_(
        "To run verifiable elections: know who may vote, send credentials, and let each "
        "voter check their ballot was counted."
    ),
    lawful_basis="public_task",
    categories=(
        _("Your entry on an election's voter list and your email address"),
        _("The trackers of the ballots you cast (how you voted is never stored in the clear)"),
        _("Trustees' names"),
    ),
    recipients=_(
        "The election's administrator and credential authority; the public ballot box shows "
        "trackers without names."
    ),
    retention=_("As long as the election's record must be kept for verification."),
    export=export,
    order=100,
)
