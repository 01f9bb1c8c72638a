"""Ballots of a participatory budget: every rule a ballot can break (each refused with its
code, nothing written), a new ballot replacing the last until the vote closes, a vote
after closing, the ballot pages with and without JavaScript (the "Update total" button
keeps the choices), the check page cast once, and who may vote in which heading.

The world (``budget_world``) is built through the services: a published process with a
vote phase open today, a budget of three headings (two wards' and the whole city's), and
feasible projects numbered across the budget. ``test_budgets`` builds on it too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.participation.models import (
    Ballot,
    Budget,
    Channel,
    Heading,
    Phase,
    Process,
    Project,
)
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import budgets as services
from ecitizen.participation.services.common import person_key_for_user
from tests.factories import JurisdictionFactory

# --- the world ---------------------------------------------------------------------------


@dataclass
class World:
    process: Process
    budget: Budget
    north: Heading
    south: Heading
    city: Heading
    projects: dict[str, list[Project]]
    ward_north: Any
    ward_south: Any


def budget_world(
    department: Any,
    *,
    kind: str = Budget.BallotKind.KNAPSACK,
    min_projects: int = 1,
    max_projects: int | None = None,
    min_share: int = 0,
    method: str = Budget.Method.EQUAL_SHARES,
    completion: bool = True,
    costs: dict[str, list[int]] | None = None,
    vote_days: tuple[int, int] = (-2, 10),
) -> World:
    """A published process "budget-2027" of ``department`` whose vote phase runs from
    ``vote_days[0]`` to ``vote_days[1]`` days from today, with a budget of £1,200,000:
    headings "north" (ward North, £400,000), "south" (ward South, £400,000) and "city"
    (everyone, £400,000), each with feasible projects of ``costs`` (pounds)."""
    today = timezone.localdate()
    process = Process.objects.create(
        slug="budget-2027",
        title="Riverton budget 2027",
        summary="Decide how to spend £1.2M",
        department=department,
        status=Process.Status.PUBLISHED,
    )
    Phase.objects.create(
        process=process,
        kind=Phase.Kind.VOTE,
        starts_on=today + timedelta(days=vote_days[0]),
        ends_on=today + timedelta(days=vote_days[1]),
    )
    budget = services.budget_create(
        process=process,
        settings=services.BudgetSettings(
            total_amount=Decimal("1200000"),
            ballot_kind=kind,
            min_projects=min_projects,
            max_projects=max_projects,
            min_share_percent=min_share,
            method=method,
            completion=completion,
        ),
        actor=None,
    )
    ward_north = JurisdictionFactory(code="north", name="North")
    ward_south = JurisdictionFactory(code="south", name="South")
    headings = {}
    for slug, ward in (("north", ward_north), ("south", ward_south), ("city", None)):
        headings[slug] = services.heading_add(
            budget=budget,
            fields=services.HeadingFields(
                slug=slug, name=slug.title(), amount=Decimal("400000"), ward=ward
            ),
            actor=None,
        )
    costs = costs or {
        "north": [250000, 150000, 100000, 50000],
        "south": [300000, 200000],
        "city": [400000, 120000],
    }
    projects: dict[str, list[Project]] = {}
    for slug, amounts in costs.items():
        projects[slug] = []
        for index, cost in enumerate(amounts, start=1):
            project = services.project_add(
                heading=headings[slug],
                title=f"{slug.title()} project {index}",
                description=f"What {slug} project {index} does.",
                department=department,
                cost=Decimal(cost),
                actor=None,
            )
            project = services.project_review(
                project=project, feasibility=Project.Feasibility.FEASIBLE, actor=None
            )
            projects[slug].append(project)
    budget.refresh_from_db()
    return World(
        process=process,
        budget=budget,
        north=headings["north"],
        south=headings["south"],
        city=headings["city"],
        projects=projects,
        ward_north=ward_north,
        ward_south=ward_south,
    )


def live_in(user: Any, ward: Any) -> Any:
    """Put ``user``'s home in ``ward``."""
    profile = user.profile
    profile.ward = ward
    profile.save(update_fields=["ward"])
    user.refresh_from_db()
    return user


def cast(world: World, heading: Heading, projects: list[Project], key: str = "person-1", **kw: Any):
    return services.ballot_cast(
        heading=heading,
        project_ids=[p.pk for p in projects],
        person_key=key,
        channel=kw.pop("channel", Channel.ONLINE),
        actor=None,
        **kw,
    )


def ballots_cast_audited() -> int:
    return AuditEvent.objects.filter(action="participation.ballot.cast").count()


# --- the rules of a ballot ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rules", "choose", "code"),
    [
        # north: 250k, 150k, 100k, 50k in £400k
        ({}, [0, 1, 2], "over_budget"),
        ({"min_projects": 2}, [0], "too_few_projects"),
        ({"max_projects": 2}, [1, 2, 3], "too_many_projects"),
        ({"min_share": 50}, [3], "under_min_share"),
        ({}, [0, 0], "duplicate_project"),
        ({"kind": Budget.BallotKind.APPROVAL, "max_projects": 2}, [0, 1, 2], "too_many_projects"),
        ({}, [], "too_few_projects"),
    ],
)
def test_a_ballot_breaking_a_rule_is_refused_with_its_code_and_nothing_is_written(
    department, rules, choose, code
):
    world = budget_world(department, **rules)
    projects = world.projects["north"]
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.north, [projects[i] for i in choose])
    assert refused.value.code == code
    assert str(refused.value.message)
    assert Ballot.objects.count() == 0
    assert ballots_cast_audited() == 0


@pytest.mark.django_db
def test_an_approval_ballot_may_cost_more_than_the_heading(department):
    world = budget_world(department, kind=Budget.BallotKind.APPROVAL, max_projects=3)
    ballot = cast(world, world.north, world.projects["north"][:3])  # £500k of £400k
    assert len(ballot.choices) == 3


@pytest.mark.django_db
def test_projects_not_on_this_ballot_are_refused(department):
    world = budget_world(department)
    with pytest.raises(ParticipationError) as elsewhere:
        cast(world, world.north, [world.projects["south"][1]])
    assert elsewhere.value.code == "unknown_project"
    rejected = services.project_add(
        heading=world.north,
        title="A bridge too far",
        description="Across the river.",
        department=department,
        cost=Decimal("10000"),
        actor=None,
    )
    services.project_review(
        project=rejected,
        feasibility=Project.Feasibility.NOT_FEASIBLE,
        reason="The river is protected.",
        actor=None,
    )
    with pytest.raises(ParticipationError) as infeasible:
        cast(world, world.north, [rejected])
    assert infeasible.value.code == "project_not_feasible"
    with pytest.raises(ParticipationError) as missing:
        services.ballot_cast(
            heading=world.north,
            project_ids=[999_999],
            person_key="p",
            channel=Channel.ONLINE,
            actor=None,
        )
    assert missing.value.code == "unknown_project"
    assert Ballot.objects.count() == 0


@pytest.mark.django_db
def test_a_ballot_at_the_minimum_share_and_at_the_amount_is_accepted(department):
    world = budget_world(department, min_share=50)
    north = world.projects["north"]
    assert cast(world, world.north, [north[0], north[1]], key="a")  # exactly £400,000
    assert cast(world, world.north, [north[1], north[3]], key="b")  # exactly £200,000


# --- one ballot a person, the last one counts --------------------------------------------


@pytest.mark.django_db
def test_a_new_ballot_replaces_the_last_until_the_vote_closes(department):
    world = budget_world(department)
    north = world.projects["north"]
    first = cast(world, world.north, [north[0]])
    second = cast(world, world.north, [north[1], north[2]])
    third = cast(world, world.north, [north[3]], channel=Channel.PAPER)
    assert first.pk == second.pk == third.pk
    ballot = Ballot.objects.get()
    assert ballot.choices == [north[3].pk]
    assert ballot.changes == 2
    assert ballot.channel == Channel.PAPER
    assert ballot.replaced_channel == Channel.ONLINE
    assert ballots_cast_audited() == 3
    event = AuditEvent.objects.filter(action="participation.ballot.cast").last()
    # The audit trail says a person voted, never how or who by key.
    assert set(event.changes) == {"channel", "replaced"}
    assert "person-1" not in str(event.changes)


@pytest.mark.django_db
def test_a_vote_after_closing_is_refused_and_changes_nothing(department):
    world = budget_world(department, vote_days=(-5, 0))
    north = world.projects["north"]
    cast(world, world.north, [north[0]])
    closing = timezone.localdate()
    with (
        time_machine.travel(timezone.now() + timedelta(days=1)),
        pytest.raises(ParticipationError) as closed,
    ):
        cast(world, world.north, [north[1]])
    assert closed.value.code == "vote_closed"
    assert "closed on" in str(closed.value.message)
    assert closing.strftime("%B") in str(closed.value.message)
    ballot = Ballot.objects.get()
    assert ballot.choices == [north[0].pk]
    assert ballot.changes == 0


@pytest.mark.django_db
def test_no_vote_before_the_phase_nor_after_the_results(department):
    world = budget_world(department, vote_days=(3, 10))
    with pytest.raises(ParticipationError) as early:
        cast(world, world.north, [world.projects["north"][0]])
    assert early.value.code == "vote_closed"
    assert "opens on" in str(early.value.message)
    Budget.objects.filter(pk=world.budget.pk).update(results_published_at=timezone.now())
    Phase.objects.filter(process=world.process).update(
        starts_on=timezone.localdate() - timedelta(days=1)
    )
    with pytest.raises(ParticipationError) as published:
        cast(world, world.north, [world.projects["north"][0]])
    assert published.value.code == "vote_closed"
    assert Ballot.objects.count() == 0


@pytest.mark.django_db
def test_a_person_votes_in_one_ward_heading_and_in_the_city_s(department):
    world = budget_world(department)
    cast(world, world.north, [world.projects["north"][0]], channel=Channel.CENSUS)
    cast(world, world.city, [world.projects["city"][1]], channel=Channel.CENSUS)
    with pytest.raises(ParticipationError) as second_ward:
        cast(world, world.south, [world.projects["south"][0]], channel=Channel.CENSUS)
    assert second_ward.value.code == "other_heading"
    assert Ballot.objects.count() == 2
    # Someone else may vote in the south.
    cast(world, world.south, [world.projects["south"][0]], key="person-2")


# --- the pages ---------------------------------------------------------------------------


def _checked(html: str) -> set[str]:
    """The values of the ticked checkboxes of a page."""
    found = set()
    for tag in re.findall(r"<input[^>]*type=\"checkbox\"[^>]*>", html):
        if re.search(r"\schecked(\s|>|=)", tag):
            found.add(re.search(r'value="(\d+)"', tag).group(1))
    return found


def _submission(html: str) -> str:
    return re.search(r'name="submission" value="([0-9a-f]{32})"', html).group(1)


@pytest.mark.django_db
def test_without_javascript_update_total_keeps_the_choices_and_writes_nothing(
    client, department, resident
):
    world = budget_world(department)
    live_in(resident, world.ward_north)
    client.force_login(resident)
    north = world.projects["north"]
    url = reverse("participation:ballot", args=[world.process.slug, "north"])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "£0.00 of £400,000.00 chosen, £400,000.00 left" in html
    assert 'aria-live="polite"' in html
    assert "participation/ballot.js" in html
    assert "<fieldset" in html
    assert "<legend" in html
    updated = client.post(url, {"projects": [north[0].pk, north[2].pk], "action": "total"})
    assert updated.status_code == 200
    html = updated.content.decode()
    assert "£350,000.00 of £400,000.00 chosen, £50,000.00 left" in html
    assert _checked(html) == {str(north[0].pk), str(north[2].pk)}
    over = client.post(
        url, {"projects": [north[0].pk, north[1].pk, north[2].pk], "action": "total"}
    )
    assert "£500,000.00 of £400,000.00 chosen, £100,000.00 over the budget" in over.content.decode()
    assert Ballot.objects.count() == 0


@pytest.mark.django_db
def test_continue_over_budget_shows_the_error_and_keeps_the_choices(client, department, resident):
    world = budget_world(department)
    live_in(resident, world.ward_north)
    client.force_login(resident)
    north = world.projects["north"]
    url = reverse("participation:ballot", args=[world.process.slug, "north"])
    chosen = [north[0].pk, north[1].pk, north[2].pk]
    refused = client.post(url, {"projects": chosen, "action": "continue"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "govuk-error-summary" in html
    assert 'href="#id_projects_0"' in html
    assert "more than the £400,000.00 to spend" in html
    assert _checked(html) == {str(pk) for pk in chosen}
    assert Ballot.objects.count() == 0


@pytest.mark.django_db
def test_a_resident_casts_checks_and_changes_a_ballot(client, department, resident):
    world = budget_world(department)
    live_in(resident, world.ward_north)
    client.force_login(resident)
    north = world.projects["north"]
    slug = world.process.slug
    url = reverse("participation:ballot", args=[slug, "north"])
    check_url = reverse("participation:ballot_check", args=[slug, "north"])
    done_url = reverse("participation:ballot_done", args=[slug, "north"])

    went = client.post(url, {"projects": [north[0].pk, north[3].pk], "action": "continue"})
    assert went.status_code == 302
    assert went["Location"] == check_url
    check = client.get(check_url)
    html = check.content.decode()
    assert "North project 1" in html
    assert "North project 4" in html
    assert "£300,000.00" in html  # the total
    key = _submission(html)
    cast_once = client.post(check_url, {"submission": key})
    assert cast_once.status_code == 302
    assert cast_once["Location"] == done_url
    again = client.post(check_url, {"submission": key})  # the same form sent twice
    assert again.status_code == 302
    assert again["Location"] == done_url
    ballot = Ballot.objects.get()
    assert ballot.choices == [north[0].pk, north[3].pk]
    assert ballot.changes == 0
    assert ballot.person_key == person_key_for_user(resident)
    done = client.get(done_url).content.decode()
    assert "North project 1" in done
    assert "You can change your vote until the end of" in done

    # Changing it: the current ballot comes ticked.
    assert _checked(client.get(url).content.decode()) == {str(north[0].pk), str(north[3].pk)}
    client.post(url, {"projects": [north[1].pk], "action": "continue"})
    client.post(check_url, {"submission": _submission(client.get(check_url).content.decode())})
    ballot.refresh_from_db()
    assert ballot.choices == [north[1].pk]
    assert ballot.changes == 1


@pytest.mark.django_db
def test_an_approval_ballot_says_choose_up_to(client, department, resident):
    world = budget_world(department, kind=Budget.BallotKind.APPROVAL, max_projects=2)
    client.force_login(resident)
    city = world.projects["city"]
    url = reverse("participation:ballot", args=[world.process.slug, "city"])
    html = client.get(url).content.decode()
    assert "Choose up to 2 projects." in html
    assert "Projects chosen: 0 of 2" in html
    updated = client.post(url, {"projects": [city[0].pk], "action": "total"}).content.decode()
    assert "Projects chosen: 1 of 2" in updated


@pytest.mark.django_db
def test_a_ward_heading_is_for_its_residents_only(client, department, resident):
    world = budget_world(department)
    live_in(resident, world.ward_north)
    client.force_login(resident)
    slug = world.process.slug
    page = client.get(reverse("participation:ballot", args=[slug, "south"]))
    assert page.status_code == 200
    assert "for the people who live in South" in page.content.decode()
    assert "<fieldset" not in page.content.decode()
    client.post(
        reverse("participation:ballot", args=[slug, "south"]),
        {"projects": [world.projects["south"][0].pk], "action": "continue"},
    )
    assert Ballot.objects.count() == 0
    budget_page = client.get(reverse("participation:budget", args=[slug])).content.decode()
    assert reverse("participation:ballot", args=[slug, "north"]) in budget_page
    assert reverse("participation:ballot", args=[slug, "south"]) not in budget_page


@pytest.mark.django_db
def test_a_visitor_is_asked_to_sign_in(client, department):
    world = budget_world(department)
    page = client.get(reverse("participation:ballot", args=[world.process.slug, "city"]))
    html = page.content.decode()
    assert "You need to sign in to take part." in html
    assert reverse("account_login") in html


@pytest.mark.django_db
def test_after_closing_the_ballot_page_says_when_it_closed(client, department, resident):
    world = budget_world(department, vote_days=(-5, -1))
    client.force_login(resident)
    url = reverse("participation:ballot", args=[world.process.slug, "city"])
    page = client.get(url).content.decode()
    closed_on = (timezone.localdate() - timedelta(days=1)).strftime("%B")
    assert "The vote closed on" in page
    assert closed_on in page
    client.post(url, {"projects": [world.projects["city"][1].pk], "action": "continue"})
    check = client.post(reverse("participation:ballot_check", args=[world.process.slug, "city"]))
    assert "The vote closed on" in check.content.decode()
    assert Ballot.objects.count() == 0


@pytest.mark.django_db
def test_the_vote_closing_between_check_and_cast_is_said_on_the_check_page(
    client, department, resident
):
    world = budget_world(department, vote_days=(-5, 0))
    client.force_login(resident)
    slug = world.process.slug
    client.post(
        reverse("participation:ballot", args=[slug, "city"]),
        {"projects": [world.projects["city"][1].pk], "action": "continue"},
    )
    check_url = reverse("participation:ballot_check", args=[slug, "city"])
    key = _submission(client.get(check_url).content.decode())
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        answer = client.post(check_url, {"submission": key})
    assert answer.status_code == 200
    assert "The vote closed on" in answer.content.decode()
    assert Ballot.objects.count() == 0


# --- at the same instant (PostgreSQL) ----------------------------------------------------


def _postgresql() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
@pytest.mark.db_specific
@pytest.mark.skipif(not _postgresql(), reason="needs concurrent writers (PostgreSQL)")
def test_ballots_of_one_person_cast_at_once_stay_one_ballot(department):
    from tests.concurrency import run_together

    world = budget_world(department)
    north = world.projects["north"]

    def vote(number: int) -> None:
        cast(world, world.north, [north[number % len(north)]], key="same-person")

    errors = run_together(vote, 8)
    assert not errors
    ballot = Ballot.objects.get()
    assert ballot.changes == 7
    assert ballots_cast_audited() == 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.db_specific
@pytest.mark.skipif(not _postgresql(), reason="needs concurrent writers (PostgreSQL)")
def test_one_person_in_two_wards_at_once_gets_one_ward(department):
    from tests.concurrency import run_together

    world = budget_world(department)
    places = [(world.north, world.projects["north"][0]), (world.south, world.projects["south"][0])]

    def vote(number: int) -> None:
        heading, project = places[number % 2]
        cast(world, heading, [project], key="same-person", channel=Channel.CENSUS)

    errors = run_together(vote, 6)
    assert errors
    assert {getattr(e, "code", None) for e in errors} == {"other_heading"}
    assert Ballot.objects.values("heading").distinct().count() == 1
