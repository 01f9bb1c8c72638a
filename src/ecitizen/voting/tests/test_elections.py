"""A whole election through the services — prepared, set up, its key made by the trustees,
credentials issued, votes cast (and re-cast), closed, decrypted by k of n trustees and
published — whose archive passes belenios-tool and ecitizen-verify; and every refusal on
the way, each with its code and nothing written."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from ecitizen.notifications.models import Notification
from ecitizen.voting.models import CastBallot, Election, RecordMember
from ecitizen.voting.services import VotingError, counting, credentials, elections
from ecitizen.voting.services.ballots import ballot_cast
from ecitizen.voting.services.common import BALLOTS_PER_HOUR
from ecitizen.voting.services.record import archive_write
from ecitizen_verify.tests.builders import run_tool
from ecitizen_verify.verify import verify_archive

from .world import QUESTIONS, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(election_administrator, credential_authority, department):
    return make_world(election_administrator, credential_authority, department)


def _close(world):
    with time_machine.travel(world.election.closes_at + timedelta(minutes=1)):
        counting.election_close(election=world.election, actor=world.election.administrator)
    return world.refresh()


def test_a_whole_election_passes_belenios_tool_and_our_verifier(world, tmp_path):
    alice, bob, carol, _dan = world.voters
    first = world.cast(alice, [[0, 1, 0], [1, 0, 0]])
    world.cast(bob, [[0, 0, 1], [1, 1, 0]])
    world.cast(carol, [[1, 0, 0], [0, 0, 0]])  # blank on question 1
    again = world.cast(alice, [[0, 0, 1], [0, 0, 1]])  # Alice changes her mind
    assert again.again
    assert not first.again
    assert CastBallot.objects.filter(election=world.election, replaced=False).count() == 3

    election = _close(world)
    assert election.state == Election.State.CLOSED
    counting.trustee_decryption_submit(
        trustee=world.trustees[0], partial=world.decrypt(1), actor=world.trustees[0].user
    )
    # Trustee 2 is missing: 2 of 3 suffice.
    counting.trustee_decryption_submit(
        trustee=world.trustees[2], partial=world.decrypt(3), actor=world.trustees[2].user
    )
    counting.result_publish(election=election, actor=election.administrator)
    election = world.refresh()
    assert election.state == Election.State.PUBLISHED
    assert election.result == [[1, 0, 2], [1, 1, 1]]

    path, _size = archive_write(slug=election.slug, folder=tmp_path)
    assert path.name == f"{election.uuid}.bel"
    checked = run_tool("election", "verify", "--dir", str(tmp_path), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr.decode()
    report = verify_archive(path.read_bytes(), workers=1)
    assert report.result == election.result
    assert (report.ballots_cast, report.ballots_counted) == (4, 3)


def test_the_server_holds_only_public_credentials_and_emails_the_private_ones(world):
    sent = {
        message.to[0]: message.body for message in mail.outbox if "credential" in message.subject
    }
    assert len(sent) == 4
    for email, credential in world.keys.items():
        assert credential in sent[email]
    stored = " ".join(
        str(value)
        for row in Election.objects.filter(pk=world.election.pk).values()
        for value in row.values()
    )
    voters_text = json.dumps(list(world.election.voters.values()), default=str)
    records = b"".join(bytes(r.data) for r in RecordMember.objects.filter(election=world.election))
    inbox = " ".join(n.body for n in Notification.objects.all())
    for credential in world.keys.values():
        for place in (stored, voters_text, records.decode(), inbox):
            assert credential not in place


def test_the_administrator_cannot_be_the_credential_authority(election_administrator, department):
    with pytest.raises(VotingError) as refused:
        make_world(election_administrator, election_administrator, department)
    assert refused.value.code == "same_person"


def test_only_the_named_credential_authority_issues(
    election_administrator, credential_authority, department
):
    world = make_world(election_administrator, credential_authority, department, open_now=False)
    elections.election_freeze(election=world.election, actor=election_administrator)
    with pytest.raises(VotingError) as refused:
        credentials.credentials_issue(election=world.election, actor=election_administrator)
    assert refused.value.code == "not_authority"
    assert not world.election.voters.exclude(public_credential="").exists()


def test_a_ballot_made_with_another_voters_credential_is_refused(world):
    alice, bob = world.voters[:2]
    raw = world.ballot(bob, [[0, 1, 0], [0, 0, 0]])
    with pytest.raises(VotingError) as refused:
        ballot_cast(election=world.election, voter=world.voter(alice), raw=raw)
    assert refused.value.code == "credential"
    assert not CastBallot.objects.exists()


def test_an_altered_ballot_is_refused_with_a_clear_message(world):
    alice = world.voters[0]
    ballot = json.loads(world.ballot(alice, [[0, 1, 0], [0, 0, 0]]))
    ballot["answers"][0]["overall_proof"][0]["response"] = "1"
    with pytest.raises(VotingError) as refused:
        ballot_cast(
            election=world.election,
            voter=world.voter(alice),
            raw=json.dumps(ballot, separators=(",", ":")).encode(),
        )
    assert refused.value.code == "invalid"
    assert "question 1" in str(refused.value.message)
    with pytest.raises(VotingError) as garbage:
        ballot_cast(election=world.election, voter=world.voter(alice), raw=b"not a ballot")
    assert garbage.value.code == "invalid"
    assert world.refresh().record_height == 1  # only the Setup event


def test_the_same_ballot_sent_twice_is_cast_once(world):
    alice = world.voters[0]
    raw = world.ballot(alice, [[0, 1, 0], [0, 0, 0]])
    first = ballot_cast(election=world.election, voter=world.voter(alice), raw=raw)
    second = ballot_cast(election=world.election, voter=world.voter(alice), raw=raw)
    assert not first.repeated
    assert second.repeated
    assert CastBallot.objects.count() == 1


def test_a_voter_cannot_flood_the_ballot_box(world):
    alice = world.voters[0]
    for _ in range(BALLOTS_PER_HOUR):
        world.cast(alice, [[0, 1, 0], [0, 0, 0]])
    with pytest.raises(VotingError) as refused:
        world.cast(alice, [[0, 1, 0], [0, 0, 0]])
    assert refused.value.code == "rate"
    assert CastBallot.objects.filter(replaced=False).count() == 1


def test_no_ballot_after_the_close(world):
    alice = world.voters[0]
    raw = world.ballot(alice, [[0, 1, 0], [0, 0, 0]])
    with (
        time_machine.travel(world.election.closes_at + timedelta(seconds=1)),
        pytest.raises(VotingError) as refused,
    ):
        ballot_cast(election=world.election, voter=world.voter(alice), raw=raw)
    assert refused.value.code == "closed"
    _close(world)
    with pytest.raises(VotingError):
        ballot_cast(election=world.election, voter=world.voter(alice), raw=raw)


def test_the_box_cannot_close_early(world):
    with pytest.raises(VotingError) as refused:
        counting.election_close(election=world.election, actor=world.election.administrator)
    assert refused.value.code == "too_early"


def test_a_partial_decryption_made_with_another_key_is_refused(world):
    world.cast(world.voters[0], [[0, 1, 0], [1, 0, 0]])
    _close(world)
    wrong = world.decrypt(1, seed_of=2)
    with pytest.raises(VotingError) as refused:
        counting.trustee_decryption_submit(
            trustee=world.trustees[0], partial=wrong, actor=world.trustees[0].user
        )
    assert refused.value.code == "invalid"
    assert "does not match" in str(refused.value.message)
    assert world.refresh().trustees.filter(decrypted_at__isnull=False).count() == 0


def test_the_result_waits_for_enough_trustees(world):
    world.cast(world.voters[0], [[0, 1, 0], [1, 0, 0]])
    election = _close(world)
    counting.trustee_decryption_submit(
        trustee=world.trustees[1], partial=world.decrypt(2), actor=world.trustees[1].user
    )
    with pytest.raises(VotingError) as refused:
        counting.result_publish(election=election, actor=election.administrator)
    assert refused.value.code == "too_few"
    with pytest.raises(VotingError) as twice:
        counting.trustee_decryption_submit(
            trustee=world.trustees[1], partial=world.decrypt(2), actor=world.trustees[1].user
        )
    assert twice.value.code == "done"


def test_questions_the_protocol_cannot_hold_are_refused(
    election_administrator, credential_authority, department
):
    world = make_world(election_administrator, credential_authority, department, open_now=False)
    bad = [
        elections.QuestionInput("One answer?", ["Only"], 1, 1, False, {}),
        elections.QuestionInput("Too many?", ["A", "B"], 1, 3, False, {}),
        elections.QuestionInput("Same?", ["A", "A"], 1, 1, False, {}),
    ]
    for question in bad:
        with pytest.raises(VotingError):
            elections.questions_set(
                election=world.election, questions=[question], actor=election_administrator
            )
    assert [q.text for q in world.election.questions.all()] == [q.text for q in QUESTIONS]


def test_a_frozen_election_cannot_change(election_administrator, credential_authority, department):
    world = make_world(election_administrator, credential_authority, department)
    with pytest.raises(VotingError) as refused:
        elections.questions_set(
            election=world.election, questions=QUESTIONS[:1], actor=election_administrator
        )
    assert refused.value.code == "not_draft"


def test_another_departments_administrator_cannot_create_here(
    other_election_administrator, credential_authority, department
):
    with pytest.raises(VotingError) as refused:
        make_world(other_election_administrator, credential_authority, department)
    assert refused.value.code == "remit"
    assert not Election.objects.exists()


def test_a_ballot_with_a_bad_signature_is_refused(world):
    alice = world.voters[0]
    ballot = json.loads(world.ballot(alice, [[0, 1, 0], [0, 0, 0]]))
    proof = ballot["signature"]["proof"]
    proof["challenge"] = str(int(proof["challenge"]) // 2)
    raw = json.dumps(ballot, separators=(",", ":")).encode()
    with pytest.raises(VotingError) as refused:
        ballot_cast(election=world.election, voter=world.voter(alice), raw=raw)
    assert refused.value.code == "invalid"
    assert "signature does not verify" in str(refused.value.message)
    assert not CastBallot.objects.exists()


def test_offline_credentials_listing_a_credential_twice_are_refused(
    election_administrator, credential_authority, department
):
    from ecitizen_verify.credentials import new_credential, public_credential
    from ecitizen_verify.group import BELENIOS_2048

    world = make_world(election_administrator, credential_authority, department, open_now=False)
    Election.objects.filter(pk=world.election.pk).update(credentials=Election.Credentials.OFFLINE)
    elections.election_freeze(election=world.election, actor=election_administrator)
    logins = list(world.election.voters.order_by("pk").values_list("login", flat=True))
    same = str(public_credential(BELENIOS_2048, world.election.uuid, new_credential()))
    entries = [f"{same},,{login}" for login in logins[:2]] + [
        f"{public_credential(BELENIOS_2048, world.election.uuid, new_credential())},,{login}"
        for login in logins[2:]
    ]
    with pytest.raises(VotingError) as refused:
        credentials.credentials_upload(
            election=world.election,
            actor=credential_authority,
            pubcreds=json.dumps(entries).encode(),
        )
    assert refused.value.code == "twice"
    assert not world.election.voters.exclude(public_credential="").exists()
