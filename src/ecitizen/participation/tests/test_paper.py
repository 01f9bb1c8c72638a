"""Paper entries: who may enter them (the capability, within the remit, a published
process), the forms (national identity number, declaration, double submission), each kind
of entry through the other areas' services, one person counted once with an online entry
(the later wins), and the official's list of their own entries only.

The responses, supports and ballots are written by the consultations, proposals and
budgets services; a test here is skipped while the function it needs is missing."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role
from ecitizen.participation.models import Ballot, Channel, Phase, Response, Support
from ecitizen.participation.services.common import person_key_for_user
from ecitizen.participation.tests.test_processes import NOW, make_process
from tests.factories import UserFactory
from tests.personas import TOTP_SECRET, sign_in_official

NATIONAL_ID = "RV12345678"
QUESTIONS = [
    {
        "id": "play",
        "type": "yes_no",
        "label": {"en": "Should the play area be extended?"},
        "errors": {"required": {"en": "Select yes if the play area should be extended"}},
    }
]


def _needs(module: str, name: str):
    """The function ``name`` of ``module`` (another area's), or a skip while it is missing."""
    found = getattr(pytest.importorskip(module), name, None)
    if found is None:
        pytest.skip(f"{module}.{name} is not there yet")
    return found


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def process(engagement_officer, department):
    return make_process(
        engagement_officer,
        department,
        phases=((Phase.Kind.PROPOSALS, -5, 10), (Phase.Kind.VOTE, -1, 3)),
    )


@pytest.fixture
def clerk(client, engagement_officer):
    sign_in_official(client, engagement_officer)
    return engagement_officer


def verify_national_id(user, national_id: str = NATIONAL_ID):
    """Link ``user``'s account with the national eID, which vouches for ``national_id``."""
    accounts.identity_verification_record(
        user=user, provider_id="eid", claims={"national_id": national_id}, claim_names={}
    )
    user.refresh_from_db()
    return user


@pytest.fixture
def voter(resident):
    """A resident whose national eID vouched for the national identity number used on
    paper."""
    return verify_national_id(resident)


@pytest.fixture
def typist(resident):
    """A resident who typed the number used on paper into their profile, unverified:
    nothing says it is theirs."""
    accounts.profile_update(user=resident, data={"national_id": NATIONAL_ID}, actor=resident)
    resident.refresh_from_db()
    return resident


def _consultation(process, actor):
    consultations = importlib.import_module("ecitizen.participation.services.consultations")
    _needs("ecitizen.participation.services.consultations", "response_record")
    consultation = consultations.consultation_create(
        process=process,
        data=consultations.ConsultationInput(
            title="Riverside Park",
            kind="survey",
            body="",
            opens_at=NOW - timedelta(days=1),
            closes_at=NOW + timedelta(days=10),
            questions=QUESTIONS,
        ),
        actor=actor,
    )
    return consultations.consultation_open(consultation=consultation, actor=actor)


def _proposal(process, author):
    submit = _needs("ecitizen.participation.services.proposals", "proposal_submit")
    return submit(
        process=process,
        title="More benches",
        description="Benches along the river path.",
        ward=None,
        author=author,
        actor=author,
    )


def _heading(process, actor, department):
    budgets = pytest.importorskip("ecitizen.participation.services.budgets")
    _needs("ecitizen.participation.services.budgets", "ballot_cast")
    budget = budgets.budget_create(
        process=process,
        settings=budgets.BudgetSettings(
            total_amount=Decimal("100000"), ballot_kind="approval", max_projects=2
        ),
        actor=actor,
    )
    heading = budgets.heading_add(
        budget=budget,
        fields=budgets.HeadingFields(slug="all", name="Whole area", amount=Decimal("100000")),
        actor=actor,
    )
    projects = []
    for title, cost in (("Benches", "20000"), ("Trees", "30000"), ("Lights", "60000")):
        project = budgets.project_add(
            heading=heading,
            title=title,
            description=title,
            department=department,
            cost=Decimal(cost),
            actor=actor,
        )
        projects.append(
            budgets.project_review(project=project, feasibility="feasible", actor=actor)
        )
    return heading, projects


def _person(**extra):
    return {"national_id": NATIONAL_ID, "declaration": "on", **extra}


# --- access ----------------------------------------------------------------------------------


def _paper_url(process) -> str:
    return reverse("staff:participation_paper", args=[process.slug])


def test_paper_pages_need_the_capability_within_the_remit(
    client, process, resident, other_engagement_officer, case_officer, intermediary, department
):
    client.force_login(resident)
    assert client.get(_paper_url(process)).status_code == 403
    client.logout()
    sign_in_official(client, other_engagement_officer)
    for name in (
        "participation_paper",
        "participation_paper_support",
        "participation_paper_response",
        "participation_paper_ballot",
    ):
        assert client.get(reverse(f"staff:{name}", args=[process.slug])).status_code == 404
    # A case officer of the department and an assisted-digital helper (any department).
    for official in (case_officer, intermediary):
        client.logout()
        sign_in_official(client, official)
        assert client.get(_paper_url(process)).status_code == 200


def test_the_paper_home_lists_the_published_processes_of_the_remit(
    client, process, intermediary, other_engagement_officer, engagement_officer, department
):
    make_process(engagement_officer, department, title="Still a draft", publish=False)
    home = reverse("staff:participation_paper_entries")
    sign_in_official(client, intermediary)
    text = client.get(home).content.decode()
    assert reverse("staff:participation_paper", args=[process.slug]) in text
    assert "Still a draft" not in text
    client.logout()
    sign_in_official(client, other_engagement_officer)
    assert process.title not in client.get(home).content.decode()


def test_no_paper_entries_in_a_draft(client, clerk, department):
    draft = make_process(clerk, department, title="Draft", publish=False)
    assert client.get(_paper_url(draft)).status_code == 404


def test_a_supervisor_without_the_capability_is_refused(client, process, department):
    supervisor = UserFactory(email="sup@example.test")
    accounts.role_assign(
        user=supervisor, role=Role.SUPERVISOR, department=department, actor=None, system=True
    )
    accounts.mfa_totp_activate(user=supervisor, secret=TOTP_SECRET, actor=None)
    sign_in_official(client, supervisor)
    assert client.get(_paper_url(process)).status_code == 403


def test_the_paper_page_offers_what_is_open(client, clerk, process, department):
    _consultation(process, clerk)
    _heading(process, clerk, department)
    text = client.get(_paper_url(process)).content.decode()
    assert "A response to “Riverside Park”" in text
    assert "A support of a proposal" in text
    assert "A ballot for “Whole area”" in text


# --- supports --------------------------------------------------------------------------------


def test_paper_support_once_per_person(client, clerk, process, second_resident):
    proposal = _proposal(process, second_resident)
    url = reverse("staff:participation_paper_support", args=[process.slug])
    page = client.get(url)
    data = {"reference": proposal.reference.lower(), **_person()}
    data["submission"] = page.context["form"].initial["submission"]
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302  # the same submission sent twice
    support = Support.objects.get()
    assert (support.channel, support.entered_by) == (Channel.PAPER, clerk)
    data.pop("submission")
    again = client.post(url, data)
    assert again.status_code == 400
    assert Support.objects.count() == 1
    proposal.refresh_from_db()
    assert proposal.support_count == 1


def test_paper_support_of_an_unknown_reference(client, clerk, process):
    url = reverse("staff:participation_paper_support", args=[process.slug])
    response = client.post(url, {"reference": "P-0000", **_person()})
    assert response.status_code == 400
    assert "No published proposal of this process has this reference" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"national_id": "12345", "declaration": "on"}, "in the correct format"),
        ({"national_id": NATIONAL_ID}, "Confirm that you checked their identity document"),
        ({"declaration": "on"}, "Enter their national identity number"),
    ],
)
def test_paper_forms_need_a_valid_number_and_the_declaration(
    client, clerk, process, second_resident, data, message
):
    proposal = _proposal(process, second_resident)
    url = reverse("staff:participation_paper_support", args=[process.slug])
    response = client.post(url, {"reference": proposal.reference, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Support.objects.exists()


# --- responses -------------------------------------------------------------------------------


def test_online_then_paper_response_counts_once_and_the_paper_one_wins(
    client, clerk, process, voter
):
    record = _needs("ecitizen.participation.services.consultations", "response_record")
    consultation = _consultation(process, clerk)
    record(
        consultation=consultation,
        answers={"play": True},
        person_key=person_key_for_user(voter),
        channel=Channel.ONLINE,
        actor=voter,
    )
    url = reverse("staff:participation_paper_response", args=[process.slug])
    page = client.get(url, {"consultation": consultation.slug})
    assert page.status_code == 200
    posted = client.post(
        f"{url}?consultation={consultation.slug}",
        {"play": "no", **{f"person-{k}": v for k, v in _person().items()}},
    )
    assert posted.status_code == 302
    response = Response.objects.get()
    assert (response.channel, response.replaced_channel) == (Channel.PAPER, Channel.ONLINE)
    assert response.answers["play"] is False
    assert response.entered_by == clerk
    overview = client.get(reverse("staff:participation_process", args=[process.slug]))
    assert overview.context["counts"].doubles == 1


def test_paper_response_errors_keep_the_answers(client, clerk, process):
    consultation = _consultation(process, clerk)
    url = reverse("staff:participation_paper_response", args=[process.slug])
    response = client.post(
        f"{url}?consultation={consultation.slug}", {"play": "yes", "person-national_id": "x"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "in the correct format" in text
    assert response.context["answers"]["play"].value() == "yes"
    assert not Response.objects.exists()
    assert client.get(url, {"consultation": "nope"}).status_code == 404


# --- ballots ---------------------------------------------------------------------------------


def test_paper_then_online_ballot_counts_once_and_the_online_one_wins(
    client, clerk, process, voter, department
):
    cast = _needs("ecitizen.participation.services.budgets", "ballot_cast")
    heading, projects = _heading(process, clerk, department)
    url = reverse("staff:participation_paper_ballot", args=[process.slug]) + "?heading=all"
    too_many = client.post(url, {"projects": [str(p.pk) for p in projects], **_person()})
    assert too_many.status_code == 400
    assert not Ballot.objects.exists()
    assert client.post(url, {"projects": [str(projects[0].pk)], **_person()}).status_code == 302
    ballot = Ballot.objects.get()
    assert (ballot.channel, ballot.entered_by, ballot.choices) == (
        Channel.PAPER,
        clerk,
        [projects[0].pk],
    )
    entries = client.get(reverse("staff:participation_paper_entries"))
    assert "Benches" in entries.content.decode()

    cast(
        heading=heading,
        project_ids=[projects[1].pk],
        person_key=person_key_for_user(voter),
        channel=Channel.ONLINE,
        actor=voter,
    )
    ballot = Ballot.objects.get()
    assert (ballot.channel, ballot.replaced_channel, ballot.choices) == (
        Channel.ONLINE,
        Channel.PAPER,
        [projects[1].pk],
    )
    # No longer a paper entry of the clerk's.
    entries = client.get(reverse("staff:participation_paper_entries"))
    assert entries.context["entries"] == []


def test_a_typed_unverified_number_does_not_make_its_typist_the_paper_voter(
    client, clerk, process, typist, department
):
    """Typing someone's national identity number into a profile claims nothing of theirs:
    the typist neither sees nor replaces the ballot entered on paper with the number, and
    the number's holder is not refused on paper for the typist's online vote."""
    cast = _needs("ecitizen.participation.services.budgets", "ballot_cast")
    selectors = importlib.import_module("ecitizen.participation.selectors.budgets")
    heading, projects = _heading(process, clerk, department)
    url = reverse("staff:participation_paper_ballot", args=[process.slug]) + "?heading=all"
    assert client.post(url, {"projects": [str(projects[0].pk)], **_person()}).status_code == 302
    key = person_key_for_user(typist)
    assert selectors.ballot_of(heading, key) is None
    cast(
        heading=heading,
        project_ids=[projects[1].pk],
        person_key=key,
        channel=Channel.ONLINE,
        actor=typist,
    )
    paper = Ballot.objects.get(channel=Channel.PAPER)
    assert (paper.choices, paper.replaced_channel) == ([projects[0].pk], "")
    assert Ballot.objects.get(person_key=key).choices == [projects[1].pk]


def test_an_unknown_heading_is_not_found(client, clerk, process, department):
    _heading(process, clerk, department)
    url = reverse("staff:participation_paper_ballot", args=[process.slug])
    assert client.get(url, {"heading": "nope"}).status_code == 404


# --- the official's own entries --------------------------------------------------------------


def test_each_official_sees_only_their_own_paper_entries(
    client, clerk, process, case_officer, second_resident
):
    proposal = _proposal(process, second_resident)
    url = reverse("staff:participation_paper_support", args=[process.slug])
    client.post(url, {"reference": proposal.reference, **_person()})
    client.logout()
    sign_in_official(client, case_officer)
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        client.post(url, {"reference": proposal.reference, **_person(national_id="RV87654321")})
    assert Support.objects.count() == 2
    mine = client.get(reverse("staff:participation_paper_entries")).context["entries"]
    assert [(entry.kind, entry.at) for entry in mine] == [("support", later)]
    client.logout()
    sign_in_official(client, clerk)
    theirs = client.get(reverse("staff:participation_paper_entries")).context["entries"]
    assert [(entry.kind, entry.at) for entry in theirs] == [("support", NOW)]
