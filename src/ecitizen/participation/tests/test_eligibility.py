"""Eligibility: each condition of a rule against what the platform knows (signed in, email
confirmed, ward from the profile's address, age from the date of birth, the census list),
what a process offers now, and what the visitor is told on the process page and on
"Processes you can take part in"."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from ecitizen.participation.models import Action, Consultation, Phase
from ecitizen.participation.selectors.processes import open_actions
from ecitizen.participation.services import census as census_services
from ecitizen.participation.services import processes as services
from ecitizen.participation.services.common import eligibility_check
from ecitizen.participation.services.processes import RuleSpec
from ecitizen.participation.tests.test_processes import NOW, TODAY, live_in, make_process
from tests.factories import JurisdictionFactory


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ward(db):
    return JurisdictionFactory(code="riverside", name="Riverside")


@pytest.fixture
def other_ward(db):
    return JurisdictionFactory(code="hillside", name="Hillside")


def _vote_process(actor, department, spec: RuleSpec | None, wards=()):
    return make_process(
        actor,
        department,
        wards=wards,
        phases=((Phase.Kind.VOTE, -1, 5),),
        rules={Action.VOTE: spec} if spec else None,
    )


def _check(process, user, census_entry=None):
    return eligibility_check(
        process=process, action=Action.VOTE, user=user, census_entry=census_entry
    )


# --- the conditions ------------------------------------------------------------------------


def test_without_a_rule_any_signed_in_resident(engagement_officer, department, resident):
    process = _vote_process(engagement_officer, department, None)
    assert _check(process, resident).allowed
    visitor = _check(process, AnonymousUser())
    assert not visitor.allowed
    assert visitor.reasons == ["You need to sign in to take part."]


def test_a_confirmed_email_address(engagement_officer, department, resident):
    process = _vote_process(engagement_officer, department, RuleSpec(email_verified=True))
    assert _check(process, resident).allowed
    EmailAddress.objects.filter(user=resident).update(verified=False)
    refused = _check(process, resident)
    assert not refused.allowed
    assert refused.reasons == ["You need to confirm your email address first."]


def test_living_in_the_wards(engagement_officer, department, resident, ward, other_ward):
    process = _vote_process(
        engagement_officer, department, RuleSpec(ward_resident=True), wards=[ward]
    )
    assert "Add your home address" in _check(process, resident).reasons[0]
    live_in(resident, other_ward)
    assert _check(process, resident).reasons == [
        "This is only open to people who live in the wards it is about."
    ]
    live_in(resident, ward)
    assert _check(process, resident).allowed


def test_living_anywhere_for_a_whole_area_process(engagement_officer, department, resident, ward):
    process = _vote_process(engagement_officer, department, RuleSpec(ward_resident=True))
    assert not _check(process, resident).allowed
    live_in(resident, ward)
    assert _check(process, resident).allowed


def test_a_minimum_age(engagement_officer, department, resident):
    process = _vote_process(engagement_officer, department, RuleSpec(min_age=16))
    assert "date of birth" in _check(process, resident).reasons[0]
    sixteen_tomorrow = date(TODAY.year - 16, TODAY.month, TODAY.day) + timedelta(days=1)
    live_in(resident, None, date_of_birth=sixteen_tomorrow)
    assert _check(process, resident).reasons == [
        "You need to be at least 16 years old to take part."
    ]
    live_in(resident, None, date_of_birth=sixteen_tomorrow - timedelta(days=1))
    assert _check(process, resident).allowed


def test_every_reason_is_given(engagement_officer, department, resident, ward):
    process = _vote_process(
        engagement_officer,
        department,
        RuleSpec(email_verified=True, ward_resident=True, min_age=18),
        wards=[ward],
    )
    EmailAddress.objects.filter(user=resident).update(verified=False)
    assert len(_check(process, resident).reasons) == 3


def test_the_census_list_alone(engagement_officer, department, resident):
    process = _vote_process(engagement_officer, department, RuleSpec(census_only=True))
    refused = _check(process, resident)
    assert not refused.allowed
    assert refused.needs_census_code
    code = dict(
        census_services.census_upload(
            process=process, rows=[(1, "V-1")], actor=engagement_officer
        ).codes
    )["V-1"]
    entry = census_services.census_claim(process=process, identifier="V-1", code=code, user=None)
    assert _check(process, AnonymousUser(), entry).allowed
    other = _vote_process(engagement_officer, department, RuleSpec(census_only=True))
    assert not _check(other, AnonymousUser(), entry).allowed


def test_anonymous_responses(engagement_officer, department):
    process = make_process(
        engagement_officer, department, rules={Action.RESPOND: RuleSpec(anonymous_allowed=True)}
    )
    eligibility = eligibility_check(process=process, action=Action.RESPOND, user=AnonymousUser())
    assert eligibility.allowed
    assert eligibility.anonymous_allowed


# --- what a process offers now ------------------------------------------------------------------


def test_open_actions_follow_the_phases(engagement_officer, department):
    def actions(phases):
        process = make_process(engagement_officer, department, title=f"P{len(made)}", phases=phases)
        made.append(process)
        return open_actions(process)

    made: list = []
    assert actions(((Phase.Kind.PROPOSALS, -1, 1),)) == ["propose", "support", "comment"]
    assert actions(((Phase.Kind.DEBATE, -1, 1),)) == ["support", "comment"]
    assert actions(((Phase.Kind.VOTE, 0, 0),)) == ["comment", "vote"]
    assert actions(((Phase.Kind.VOTE, 1, 3),)) == []
    assert actions(((Phase.Kind.RESULTS, -1, 1),)) == []
    services.process_archive(process=made[0], actor=engagement_officer)
    made[0].refresh_from_db()
    assert open_actions(made[0]) == []


def test_respond_is_open_while_a_consultation_is(engagement_officer, department):
    process = make_process(engagement_officer, department, phases=((Phase.Kind.RESULTS, 0, 9),))
    consultation = Consultation.objects.create(
        process=process,
        slug="park",
        title="Park",
        questions=[],
        status=Consultation.Status.OPEN,
        opens_at=NOW - timedelta(days=1),
        closes_at=NOW + timedelta(days=1),
    )
    process.refresh_from_db()
    assert open_actions(process) == ["respond", "comment"]
    Consultation.objects.filter(pk=consultation.pk).update(closes_at=NOW)
    process.refresh_from_db()
    assert open_actions(process) == []
    assert open_actions(process, now=timezone.now() - timedelta(hours=1)) == ["respond", "comment"]


# --- what the visitor is told -------------------------------------------------------------------


def test_the_process_page_says_who_can_do_what(
    client, engagement_officer, department, resident, ward
):
    process = make_process(
        engagement_officer,
        department,
        wards=[ward],
        phases=((Phase.Kind.PROPOSALS, -1, 5), (Phase.Kind.VOTE, -1, 5)),
        rules={
            Action.PROPOSE: RuleSpec(ward_resident=True),
            Action.VOTE: RuleSpec(census_only=True),
        },
    )
    url = reverse("participation:process", args=[process.slug])
    client.force_login(resident)
    page = client.get(url)
    rows = {row["action"]: row for row in page.context["eligibility"]}
    assert list(rows) == ["propose", "support", "comment", "vote"]
    assert rows["support"]["allowed"]
    assert not rows["propose"]["allowed"]
    assert rows["vote"]["needs_census_code"]
    text = page.content.decode()
    assert "Add your home address to your account" in text
    census_url = reverse("participation:census_claim", args=[process.slug])
    assert f'href="{census_url}?next=' in text
    assert "You can take part" in text


def test_yours_puts_the_processes_one_can_take_part_in_first(
    client, engagement_officer, department, resident
):
    make_process(
        engagement_officer,
        department,
        title="Census only",
        phases=((Phase.Kind.VOTE, -1, 5),),
        rules={Action.VOTE: RuleSpec(census_only=True), Action.COMMENT: RuleSpec(census_only=True)},
    )
    make_process(engagement_officer, department, title="Open to all")
    client.force_login(resident)
    page = client.get(reverse("participation:mine"))
    titles = [row["process"].title for row in page.context["open_rows"]]
    assert titles == ["Open to all", "Census only"]
