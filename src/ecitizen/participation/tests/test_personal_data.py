"""A resident's data rights over their participation: the download and the erasure find
what they did under the keys that are provably theirs (their account, a national identity
number the national eID verified, an email address they confirmed, the census entries
they claimed with a code) and nothing of anyone else's (a number or an address they only
typed); erasure empties their census-keyed answers and unlinks their census entries while
the counted votes and used codes stay; the download reads a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.core.models import AuditEvent
from ecitizen.participation import erasure
from ecitizen.participation.models import (
    Ballot,
    CensusEntry,
    Channel,
    Comment,
    Consultation,
    Follow,
    Proposal,
    Response,
    Support,
    Target,
)
from ecitizen.participation.personal_data import export
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import census as census_services
from ecitizen.participation.services import consultations as consultation_services
from ecitizen.participation.services.common import (
    person_key_for_census,
    person_key_for_email,
    person_key_for_national_id,
    person_key_for_user,
)

from .test_ballots import budget_world, cast
from .test_hostile import open_consultation
from .test_paper import verify_national_id
from .test_proposals import make_process

HOLDER_ID = "RV12345678"
CENSUS_ID = "RV55555555"


def _kinds(user) -> list[str]:
    return [item["kind"] for item in export(user)["items"]]


def _counts(result) -> dict[str, int]:
    return {str(part.label): part.count for part in (*result.erased, *result.kept)}


def _nothing_left(user) -> bool:
    return all(part.count == 0 for part in erasure.plan(user).erased)


def _paper_participation(world, officer, national_id=HOLDER_ID):
    """The holder of ``national_id`` responded and voted on paper, through ``officer``."""
    key = person_key_for_national_id(national_id)
    consultation = open_consultation(world.process)
    response = consultation_services.response_record(
        consultation=consultation,
        answers={"visits": "weekly", "ideas": "A pond for the ducks"},
        person_key=key,
        channel=Channel.PAPER,
        entered_by=officer,
        actor=officer,
    )
    ballot = cast(
        world,
        world.city,
        [world.projects["city"][1]],
        key=key,
        channel=Channel.PAPER,
        entered_by=officer,
    )
    return response, ballot


@pytest.mark.django_db
def test_a_typed_unverified_number_neither_exports_nor_erases_its_holders_participation(
    department, resident, engagement_officer
):
    world = budget_world(department)
    response, ballot = _paper_participation(world, engagement_officer)
    accounts.profile_update(user=resident, data={"national_id": HOLDER_ID}, actor=resident)
    resident.refresh_from_db()

    assert "consultation_response" not in _kinds(resident)
    assert "budget_ballot" not in _kinds(resident)
    planned = _counts(erasure.plan(resident))
    assert planned["Your answers to consultations"] == 0
    assert planned["Your supports and budget votes"] == 0

    erasure.erase(resident, None)
    response.refresh_from_db()
    assert response.answers["ideas"] == "A pond for the ducks"
    assert Ballot.objects.filter(pk=ballot.pk).exists()


@pytest.mark.django_db
def test_a_verified_number_exports_and_erases_the_paper_participation(
    department, resident, engagement_officer
):
    world = budget_world(department)
    response, ballot = _paper_participation(world, engagement_officer)
    verify_national_id(resident, HOLDER_ID)

    exported = export(resident)["items"]
    [answered] = [item for item in exported if item["kind"] == "consultation_response"]
    assert answered["answers"]["ideas"] == "A pond for the ducks"
    assert "budget_ballot" in [item["kind"] for item in exported]

    planned = erasure.plan(resident)
    done = erasure.erase(resident, None)
    assert planned == done
    assert _counts(done)["Your answers to consultations"] == 1
    response.refresh_from_db()
    assert response.answers == {}
    # The ballot stays, counted, under a key that no longer names anyone.
    assert Ballot.objects.filter(pk=ballot.pk).exists()
    assert _nothing_left(resident)


@pytest.mark.django_db
def test_an_unconfirmed_address_finds_no_anonymous_response_of_it(department):
    """Someone who signs up with another person's address, and never confirms it, does
    not get (or erase) that person's anonymous responses."""
    process = make_process(department)
    consultation = open_consultation(process)
    email = "someone.else@example.test"
    typist = accounts.user_create(email=email, full_name="Not Them", password=None)
    response = consultation_services.response_record(
        consultation=consultation,
        answers={"visits": "rarely"},
        person_key=person_key_for_email(email),
        channel=Channel.ANONYMOUS,
        actor=None,
    )
    assert "consultation_response" not in _kinds(typist)
    assert _counts(erasure.plan(typist))["Your answers to consultations"] == 0
    erasure.erase(typist, None)
    response.refresh_from_db()
    assert response.answers["visits"] == "rarely"

    # Once they confirm the address, it is theirs.
    EmailAddress.objects.create(user=typist, email=email, verified=True, primary=True)
    assert "consultation_response" in _kinds(typist)


@pytest.fixture
def census_world(department, resident, second_resident, engagement_officer):
    """A budget process with a census list; the resident and the second resident each
    claimed their entry signed in, answered its consultation and voted with it."""
    world = budget_world(department)
    consultation = open_consultation(world.process)
    codes = dict(
        census_services.census_upload(
            process=world.process, rows=[(2, CENSUS_ID), (3, "V-1002")], actor=engagement_officer
        ).codes
    )
    entries = {}
    for user, identifier in ((resident, CENSUS_ID), (second_resident, "V-1002")):
        entry = census_services.census_claim(
            process=world.process, identifier=identifier, code=codes[identifier], user=user
        )
        key = person_key_for_census(entry)
        consultation_services.response_record(
            consultation=consultation,
            answers={"visits": "weekly", "ideas": f"Ideas of {user.full_name}"},
            person_key=key,
            channel=Channel.CENSUS,
            actor=user,
        )
        cast(world, world.city, [world.projects["city"][0]], key=key, channel=Channel.CENSUS)
        entries[user.pk] = entry
    return {"world": world, "codes": codes, "entries": entries}


@pytest.mark.django_db
def test_census_participation_is_exported(census_world, resident):
    items = export(resident)["items"]
    [entry] = [item for item in items if item["kind"] == "census_entry"]
    assert entry["identifier"] == CENSUS_ID
    [answered] = [item for item in items if item["kind"] == "consultation_response"]
    assert answered["channel"] == Channel.CENSUS
    assert answered["answers"]["ideas"] == "Ideas of Alex Morgan"
    assert [item["kind"] for item in items].count("budget_ballot") == 1


@pytest.mark.django_db
def test_erasure_unlinks_census_entries_and_empties_their_answers_but_keeps_the_count(
    census_world, resident, second_resident
):
    world = census_world["world"]
    mine = census_world["entries"][resident.pk]
    theirs = census_world["entries"][second_resident.pk]
    key = person_key_for_census(mine)

    planned = erasure.plan(resident)
    done = erasure.erase(resident, None)

    assert planned == done
    counts = _counts(done)
    assert counts["Your identifier on census lists and its link to your account"] == 1
    assert counts["Your answers to consultations"] == 1
    assert counts["Census codes you used, still marked as used"] == 1
    entry = CensusEntry.objects.get(pk=mine.pk)
    assert (entry.identifier, entry.claimed_by) == ("", None)
    # Still on the list and used: the code does not work again, for anyone.
    assert entry.claimed_at is not None
    assert entry.identifier_index == mine.identifier_index
    with pytest.raises(ParticipationError) as again:
        census_services.census_claim(
            process=world.process,
            identifier=CENSUS_ID,
            code=census_world["codes"][CENSUS_ID],
            user=second_resident,
        )
    assert again.value.code == "census_code_used"
    assert Response.objects.get(person_key=key).answers == {}
    # The vote stays counted.
    assert Ballot.objects.filter(heading=world.city).count() == 2
    # The other person's entry and answers are untouched.
    other = CensusEntry.objects.get(pk=theirs.pk)
    assert (other.identifier, other.claimed_by) == ("V-1002", second_resident)
    assert Response.objects.get(person_key=person_key_for_census(theirs)).answers["ideas"] == (
        "Ideas of Yasmin Farouk"
    )
    event = AuditEvent.objects.get(action="participation.erased")
    assert event.changes["census"] == 1
    assert CENSUS_ID not in str(event.changes)
    assert _nothing_left(resident)
    assert "census_entry" not in _kinds(resident)


def _more_participation(user, world, department, number: int) -> None:
    """One more of each kind of record of ``user``'s (``number`` makes them distinct)."""
    key = person_key_for_user(user)
    process = make_process(department, slug=f"more-{number}")
    consultation = Consultation.objects.create(
        process=process,
        slug="survey",
        title=f"Survey {number}",
        questions=[],
        status=Consultation.Status.OPEN,
        opens_at=timezone.now(),
        closes_at=timezone.now() + timedelta(days=5),
    )
    Response.objects.create(
        consultation=consultation, person_key=key, channel=Channel.ONLINE, answers={"n": number}
    )
    proposal = Proposal.objects.create(
        process=process,
        reference=f"PRO-{number:04d}",
        title=f"Proposal {number}",
        description="More benches.",
        author=user,
    )
    Support.objects.create(proposal=proposal, person_key=key, channel=Channel.ONLINE)
    Comment.objects.create(
        process=process,
        target_kind=Target.PROPOSAL,
        target_id=proposal.pk,
        author=user,
        body="Yes please.",
    )
    Follow.objects.create(user=user, target_kind=Target.PROCESS, target_id=process.pk)
    CensusEntry.objects.create(
        process=process,
        identifier=f"V-{number}",
        identifier_index=f"index-{number}",
        code_hash="x",
        claimed_at=timezone.now(),
        claimed_by=user,
    )
    heading = [world.north, world.south, world.city][number]
    Ballot.objects.create(heading=heading, person_key=key, channel=Channel.ONLINE, choices=[])


@pytest.mark.django_db
def test_the_download_reads_a_fixed_number_of_queries(department, resident):
    world = budget_world(department)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            export(resident)
        return len(captured)

    _more_participation(resident, world, department, 0)
    few = queries()
    _more_participation(resident, world, department, 1)
    _more_participation(resident, world, department, 2)
    assert _kinds(resident).count("census_entry") == 3
    assert queries() == few
