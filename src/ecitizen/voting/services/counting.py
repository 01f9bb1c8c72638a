"""Counting: closing the ballot box, the trustees' partial decryptions, the result.

Closing writes EndBallots and the encrypted tally (the product of the counted ballots),
and the server's own partial decryption. Each trustee then decrypts in their browser with
their key file; the server checks each proof before appending it. Once ``threshold``
trustees have, the administrator publishes: the factors are combined, the result
computed and appended, and the election is ``published``.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from gmpy2 import mpz

from ecitizen.core.services import audit_record
from ecitizen.notifications.services import notification_send
from ecitizen.voting.models import CastBallot, Election, RecordMember, Trustee
from ecitizen.voting.services.common import VotingError, protocol_election
from ecitizen.voting.services.record import event_members, record_append
from ecitizen_verify.ballot import Ballot
from ecitizen_verify.errors import Invalid
from ecitizen_verify.record import partial_members, tally_members
from ecitizen_verify.serial import sha256_hex
from ecitizen_verify.tally import (
    check_partial_decryption,
    combine,
    encrypted_tally,
    parse_tally,
    partial_decryption,
    result,
    result_json,
    tally_json,
)
from ecitizen_verify.trustees import Pedersen


def _counted_ballots(election: Election) -> list[Ballot]:
    """The ballots that count (each voter's last), read back from the archive. Their
    proofs were checked when cast; here only their ciphertexts are needed."""
    trackers = set(
        CastBallot.objects.filter(election=election, replaced=False).values_list(
            "tracker", flat=True
        )
    )
    ballots = []
    rows = RecordMember.objects.filter(election=election, event="").order_by("position")
    for data in rows.values_list("data", flat=True).iterator(chunk_size=500):
        raw = bytes(data)
        if not raw.startswith(b'{"election_uuid"'):
            continue
        value = json.loads(raw)
        # Every number was checked (a group element, every proof) when the ballot was
        # cast: reading them back needs no second check, which would cost two
        # exponentiations a ciphertext.
        ballot = Ballot(
            raw,
            mpz(value["credential"]),
            tuple(
                tuple((mpz(c["alpha"]), mpz(c["beta"])) for c in answer["choices"])
                for answer in value["answers"]
            ),
        )
        if ballot.tracker in trackers:
            ballots.append(ballot)
    return ballots


def _server_key(election: Election) -> int:
    return int(election.server_private_key or "0")


@transaction.atomic
def election_close(*, election: Election, actor: Any) -> Election:
    """Close the ballot box after its closing time: EndBallots, the encrypted tally and the
    server's partial decryption are appended; the trustees are asked to decrypt. Raises
    VotingError before the closing time or when not open. Audited."""
    election = Election.objects.select_for_update().get(pk=election.pk)
    if election.state != Election.State.OPEN:
        raise VotingError(_("Only an open election can be closed."), code="state")
    if timezone.now() < election.closes_at:
        raise VotingError(_("Voting is still open until its closing time."), code="too_early")
    protocol, _items = protocol_election(election)
    counted = _counted_ballots(election)
    tally = encrypted_tally(protocol, counted)
    record_append(election, "EndBallots")
    record_append(election, "EncryptedTally", *tally_members(tally_json(tally), len(counted)))
    record_append(
        election,
        "PartialDecryption",
        *partial_members(1, partial_decryption(protocol, tally, _server_key(election))),
    )
    election.state = Election.State.CLOSED
    election.save(update_fields=["state"])
    audit_record(
        action="voting.election_closed",
        actor=actor,
        obj=election,
        changes={"counted": len(counted)},
    )
    for trustee in election.trustees.select_related("user"):
        notification_send(
            recipient=trustee.user,
            event="voting_decrypt_now",
            context={"election": election.title, "url": f"/voting/{election.slug}/trustee/"},
            actor=actor,
        )
    return election


def _sized_tally(election: Election) -> tuple[int, dict]:
    """The EncryptedTally event's position and its payload (the sized tally), which
    precedes it; VotingError before closing."""
    event = RecordMember.objects.filter(election=election, event="EncryptedTally").first()
    if event is None:
        raise VotingError(_("The ballot box is not closed yet."), code="not_closed")
    payload = RecordMember.objects.get(election=election, position=event.position - 1)
    return event.position, json.loads(bytes(payload.data))


def tally_of(election: Election) -> bytes:
    """The encrypted tally's bytes (what trustees decrypt): the member before the sized
    tally, which names it. VotingError before closing."""
    position, sized = _sized_tally(election)
    tally = bytes(RecordMember.objects.get(election=election, position=position - 2).data)
    if sha256_hex(tally) != sized["encrypted_tally"]:
        raise VotingError(_("The encrypted tally is missing from the record."), code="no_tally")
    return tally


@transaction.atomic
def trustee_decryption_submit(*, trustee: Trustee, partial: str, actor: Any) -> None:
    """Append the trustee's partial decryption once every proof checks against their
    verification key. Raises VotingError for one that does not (made with another key
    file, or altered), a second one, or outside counting. Audited."""
    election = Election.objects.select_for_update().get(pk=trustee.election_id)
    trustee = Trustee.objects.get(pk=trustee.pk)
    if election.state != Election.State.CLOSED:
        raise VotingError(_("The election is not being counted."), code="state")
    if trustee.decrypted_at is not None:
        raise VotingError(_("You have already decrypted the tally."), code="done")
    protocol, items = protocol_election(election)
    tally = parse_tally(protocol, json.loads(tally_of(election)))
    pedersen = next(item for item in items if isinstance(item, Pedersen))
    public = pedersen.keys[trustee.position - 1].public_key
    try:
        value = json.loads(partial)
        check_partial_decryption(protocol, tally, public, value, f"trustee {trustee.owner}")
    except (Invalid, ValueError) as error:
        raise VotingError(
            _(
                "Your decryption does not check out (%(reason)s). Make sure you chose your own "
                "key file for this election. Nothing was kept."
            )
            % {"reason": error},
            code="invalid",
        ) from error
    record_append(election, "PartialDecryption", *partial_members(trustee.owner, partial.encode()))
    trustee.decrypted_at = timezone.now()
    trustee.save(update_fields=["decrypted_at"])
    audit_record(
        action="voting.trustee_decrypted",
        actor=actor,
        obj=election,
        changes={"trustee": trustee.position},
    )


@transaction.atomic
def result_publish(*, election: Election, actor: Any) -> Election:
    """Combine the partial decryptions (the server's and at least ``threshold`` trustees')
    into the result, append it and publish. Raises VotingError when too few trustees have
    decrypted. Audited."""
    election = Election.objects.select_for_update().get(pk=election.pk)
    if election.state != Election.State.CLOSED:
        raise VotingError(_("The election is not being counted."), code="state")
    decrypted = election.trustees.filter(decrypted_at__isnull=False).count()
    if decrypted < election.threshold:
        raise VotingError(
            _("%(done)s of the %(needed)s trustees needed have decrypted the tally so far.")
            % {"done": decrypted, "needed": election.threshold},
            code="too_few",
        )
    protocol, items = protocol_election(election)
    tally = parse_tally(protocol, json.loads(tally_of(election)))
    keys = {1: items[0].keys[0].public_key}
    pedersen = next(item for item in items if isinstance(item, Pedersen))
    partials = {}
    for data, owned in event_members(election, "PartialDecryption"):
        owner = json.loads(owned)["owner"]
        public = keys.get(owner) or pedersen.keys[owner - 2].public_key
        partials[owner] = check_partial_decryption(
            protocol, tally, public, json.loads(data), f"trustee {owner}"
        )
    _position, sized = _sized_tally(election)
    counts = result(
        protocol, tally, combine(protocol, items, tally, partials), sized["num_tallied"]
    )
    record_append(election, "Result", result_json(counts))
    election.result = counts
    election.state = Election.State.PUBLISHED
    election.published_at = timezone.now()
    election.save(update_fields=["result", "state", "published_at"])
    audit_record(action="voting.result_published", actor=actor, obj=election)
    return election


def elections_due_close() -> list[Election]:
    """The open elections whose closing time has passed."""
    return list(Election.objects.filter(state=Election.State.OPEN, closes_at__lte=timezone.now()))
