"""Participatory budgets: the organiser's settings and headings, projects numbered across
the budget, the feasibility review, what freezes once people vote, the count against the
counting module on a small known instance, publication, the Pabulib export (checked by
``pabulib-checker`` and read back by ``pabutools``), the public pages and the staff pages
with their remit."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.participation import counting
from ecitizen.participation.models import (
    Ballot,
    Budget,
    Follow,
    Milestone,
    Phase,
    Project,
    Result,
    Target,
)
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import budgets as services
from ecitizen.participation.tests.test_ballots import World, budget_world, cast
from tests.personas import sign_in_official

# --- setting up --------------------------------------------------------------------------


@pytest.mark.django_db
def test_project_numbers_run_across_the_budget(department):
    world = budget_world(department)
    numbers = [p.number for slug in ("north", "south", "city") for p in world.projects[slug]]
    assert numbers == list(range(1, 9))
    added = services.project_add(
        heading=world.north,
        title="Late idea",
        description="Added later.",
        department=department,
        cost=Decimal("1000"),
        actor=None,
    )
    assert added.number == 9
    assert added.feasibility == Project.Feasibility.PENDING


@pytest.mark.django_db
def test_headings_never_add_up_to_more_than_the_total(department):
    world = budget_world(department)  # three headings of £400,000: all of £1.2M
    with pytest.raises(ParticipationError) as refused:
        services.heading_add(
            budget=world.budget,
            fields=services.HeadingFields(slug="extra", name="Extra", amount=Decimal("1")),
            actor=None,
        )
    assert refused.value.code == "headings_over_total"
    with pytest.raises(ParticipationError) as taken:
        services.heading_update(
            heading=world.north,
            fields=services.HeadingFields(slug="north", name="North", amount=Decimal("400001")),
            actor=None,
        )
    assert taken.value.code == "headings_over_total"
    with pytest.raises(ParticipationError) as total:
        services.budget_update(
            budget=world.budget,
            settings=services.BudgetSettings(
                total_amount=Decimal("1000000"), ballot_kind=Budget.BallotKind.KNAPSACK
            ),
            actor=None,
        )
    assert total.value.code == "headings_over_total"


@pytest.mark.django_db
def test_an_approval_ballot_needs_its_most_projects(department):
    world = budget_world(department)
    with pytest.raises(ParticipationError) as refused:
        services.budget_update(
            budget=world.budget,
            settings=services.BudgetSettings(
                total_amount=Decimal("1200000"), ballot_kind=Budget.BallotKind.APPROVAL
            ),
            actor=None,
        )
    assert refused.value.code == "invalid_settings"


@pytest.mark.django_db
def test_the_review_keeps_the_first_cost_and_a_refusal_says_why(department):
    world = budget_world(department)
    project = services.project_add(
        heading=world.north,
        title="Benches",
        description="Benches on the green.",
        department=department,
        cost=Decimal("20000"),
        actor=None,
    )
    with pytest.raises(ParticipationError) as no_reason:
        services.project_review(
            project=project, feasibility=Project.Feasibility.NOT_FEASIBLE, reason=" ", actor=None
        )
    assert no_reason.value.code == "reason_required"
    reviewed = services.project_review(
        project=project,
        feasibility=Project.Feasibility.FEASIBLE,
        cost=Decimal("26000"),
        actor=None,
    )
    assert reviewed.cost == Decimal("26000")
    assert reviewed.original_cost == Decimal("20000")
    again = services.project_review(
        project=reviewed,
        feasibility=Project.Feasibility.FEASIBLE,
        cost=Decimal("24000"),
        actor=None,
    )
    assert again.original_cost == Decimal("20000")  # the first estimate, not the last
    with pytest.raises(ParticipationError) as too_dear:
        services.project_review(
            project=again,
            feasibility=Project.Feasibility.FEASIBLE,
            cost=Decimal("400000.01"),
            actor=None,
        )
    assert too_dear.value.code == "cost_over_heading"
    assert (
        AuditEvent.objects.filter(
            action="participation.project.review", object_id=str(project.pk)
        ).count()
        == 2
    )


@pytest.mark.django_db
def test_a_heading_with_ballots_is_frozen(department):
    world = budget_world(department)
    cast(world, world.north, [world.projects["north"][0]])
    with pytest.raises(ParticipationError) as amount:
        services.heading_update(
            heading=world.north,
            fields=services.HeadingFields(slug="north", name="North", amount=Decimal("300000")),
            actor=None,
        )
    assert amount.value.code == "ballots_exist"
    with pytest.raises(ParticipationError) as review:
        services.project_review(
            project=world.projects["north"][1],
            feasibility=Project.Feasibility.FEASIBLE,
            cost=Decimal("1"),
            actor=None,
        )
    assert review.value.code == "ballots_exist"
    with pytest.raises(ParticipationError) as new:
        services.project_add(
            heading=world.north,
            title="Late",
            description="Too late.",
            department=department,
            cost=Decimal("10"),
            actor=None,
        )
    assert new.value.code == "ballots_exist"
    with pytest.raises(ParticipationError) as rules:
        services.budget_update(
            budget=world.budget,
            settings=services.BudgetSettings(
                total_amount=Decimal("1200000"),
                ballot_kind=Budget.BallotKind.KNAPSACK,
                min_projects=2,
            ),
            actor=None,
        )
    assert rules.value.code == "ballots_exist"
    # Nor the counting method: chosen after the count, it would choose the winners.
    with pytest.raises(ParticipationError) as method:
        services.budget_update(
            budget=world.budget,
            settings=services.BudgetSettings(
                total_amount=Decimal("1200000"),
                ballot_kind=Budget.BallotKind.KNAPSACK,
                method=Budget.Method.GREEDY,
            ),
            actor=None,
        )
    assert method.value.code == "ballots_exist"
    world.budget.refresh_from_db()
    assert world.budget.method != Budget.Method.GREEDY


# --- counting ----------------------------------------------------------------------------

#: A small known heading of £100: projects 1, 2 and 3 of £50 each; six voters want 1 and
#: 2, four want 3. Greedy takes the most votes that still fit: 1 and 2 (six votes each).
#: Equal shares gives each voter £10: the six buy 1 (£8.33 each), then have £10 left
#: between them, too little for 2; the four have £40, too little for 3: only 1. Completed,
#: the shares are raised by £1 at a time: at £13 the four can pay £12.50 each for 3, and
#: 1 and 3 spend the £100 exactly: the four get their project, in proportion.
SMALL_COSTS = {"north": [50, 50, 50], "south": [300, 200], "city": [400, 120]}


def _small_world(department, **kwargs) -> World:
    return budget_world(department, costs=SMALL_COSTS, **kwargs)


def _small_ballots(world: World) -> None:
    north = world.projects["north"]
    for voter in range(6):
        cast(world, world.north, [north[0], north[1]], key=f"a{voter}")
    for voter in range(4):
        cast(world, world.north, [north[2]], key=f"b{voter}")


def _close_vote(world: World) -> None:
    Phase.objects.filter(process=world.process, kind=Phase.Kind.VOTE).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )


@pytest.mark.django_db
def test_results_are_the_counting_module_s_on_a_small_known_instance(department):
    world = _small_world(department)
    services.heading_update(
        heading=world.north,
        fields=services.HeadingFields(slug="north", name="North", amount=Decimal("100")),
        actor=None,
    )
    _small_ballots(world)
    with pytest.raises(ParticipationError) as still_open:
        services.results_compute(budget=world.budget, actor=None)
    assert still_open.value.code == "vote_open"
    _close_vote(world)
    first = services.results_compute(budget=world.budget, actor=None)
    again = services.results_compute(budget=world.budget, actor=None)  # idempotent
    assert len(first) == len(again) == 9  # 3 headings x 3 methods
    assert Result.objects.count() == 9

    stored = {r.method: r for r in Result.objects.filter(heading=world.north)}
    numbers = [p.number for p in world.projects["north"]]
    instance = counting.Instance(
        projects={str(n): Decimal(c) for n, c in zip(numbers, SMALL_COSTS["north"], strict=True)},
        budget=Decimal("100"),
        ballots=[{str(numbers[0]), str(numbers[1])}] * 6 + [{str(numbers[2])}] * 4,
    )
    expected = {
        "greedy": counting.count(instance, counting.GREEDY, completion=False),
        "equal_shares": counting.count(instance, counting.EQUAL_SHARES, completion=False),
        "equal_shares_add1": counting.count(instance, counting.EQUAL_SHARES, completion=True),
    }
    for key, outcome in expected.items():
        assert stored[key].winners == [int(n) for n in outcome.winners], key
        assert stored[key].ballots == 10
        assert Decimal(stored[key].details["money_used"]) == Decimal(int(outcome.money_used))
    # By hand (see SMALL_COSTS).
    assert stored["greedy"].winners == [numbers[0], numbers[1]]
    assert stored["equal_shares"].winners == [numbers[0]]
    assert stored["equal_shares_add1"].winners == [numbers[0], numbers[2]]


@pytest.mark.django_db
def test_publishing_selects_the_budget_s_method_s_winners_and_tells_followers(
    department, resident, second_resident
):
    world = _small_world(department)
    services.heading_update(
        heading=world.north,
        fields=services.HeadingFields(slug="north", name="North", amount=Decimal("100")),
        actor=None,
    )
    _small_ballots(world)
    Follow.objects.create(user=resident, target_kind=Target.PROCESS, target_id=world.process.pk)
    with pytest.raises(ParticipationError) as still_open:
        services.results_publish(budget=world.budget, actor=None)
    assert still_open.value.code == "vote_open"
    _close_vote(world)
    with pytest.raises(ParticipationError) as not_counted:
        services.results_publish(budget=world.budget, actor=None)
    assert not_counted.value.code == "results_missing"
    services.results_compute(budget=world.budget, actor=None)
    # A ballot cast after the count (the vote reopened) makes the count stale.
    Ballot.objects.filter(heading=world.north).update(cast_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(ParticipationError) as stale:
        services.results_publish(budget=world.budget, actor=None)
    assert stale.value.code == "results_missing"
    Ballot.objects.filter(heading=world.north).update(cast_at=timezone.now())
    services.results_compute(budget=world.budget, actor=None)
    services.results_publish(budget=world.budget, actor=None)
    world.budget.refresh_from_db()
    assert world.budget.results_published_at is not None
    own = Result.objects.get(heading=world.north, method="equal_shares_add1")
    selected = set(
        Project.objects.filter(heading=world.north, selected=True).values_list("number", flat=True)
    )
    assert selected == set(own.winners)
    from ecitizen.notifications.models import Notification

    assert Notification.objects.filter(
        recipient=resident, event="participation_results_published"
    ).exists()
    assert not Notification.objects.filter(recipient=second_resident).exists()
    with pytest.raises(ParticipationError) as twice:
        services.results_publish(budget=world.budget, actor=None)
    assert twice.value.code == "results_published"
    with pytest.raises(ParticipationError) as recount:
        services.results_compute(budget=world.budget, actor=None)
    assert recount.value.code == "results_published"


# --- Pabulib -----------------------------------------------------------------------------


def _published_world(department) -> World:
    world = budget_world(department)
    north, south, city = (world.projects[s] for s in ("north", "south", "city"))
    for n in range(5):
        cast(world, world.north, [north[0], north[2]], key=f"n{n}")
        cast(world, world.city, [city[1]], key=f"n{n}")
    for n in range(3):
        cast(world, world.north, [north[1], north[3]], key=f"m{n}")
    for n in range(4):
        cast(world, world.south, [south[0]], key=f"s{n}")
        cast(world, world.city, [city[0]], key=f"s{n}")
    cast(world, world.south, [south[1]], key="s9")
    _close_vote(world)
    services.results_compute(budget=world.budget, actor=None)
    services.results_publish(budget=world.budget, actor=None)
    return world


def _checker_errors(path: Path) -> dict:
    from pabulib.checker import Checker

    results = Checker().process_files([str(path)])
    assert results["metadata"]["processed"] == 1
    (entry,) = [v for k, v in results.items() if k not in {"metadata", "summary"}]
    return entry["results"].get("errors") or {}


@pytest.mark.django_db
def test_the_pabulib_export_passes_the_checker_and_parses_in_pabutools(department, tmp_path):
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    world = _published_world(department)
    heading_file = tmp_path / "north.pb"
    summary = services.budget_pabulib_write(
        slug=world.process.slug, path=heading_file, heading="north"
    )
    assert "8 voters" in summary
    assert _checker_errors(heading_file) == {}
    instance, profile = parse_pabulib(str(heading_file))
    assert int(instance.budget_limit) == 400000
    assert len(instance) == 4
    assert profile.num_ballots() == 8
    winners = completion_by_rule_combination(
        instance,
        profile,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [{"sat_class": Cost_Sat, "voter_budget_increment": 1}, {"sat_class": Cost_Sat}],
    )
    selected = set(
        Project.objects.filter(heading=world.north, selected=True).values_list("number", flat=True)
    )
    assert {int(p.name) for p in winners} == selected

    whole = tmp_path / "budget.pb"
    summary = services.budget_pabulib_write(slug=world.process.slug, path=whole)
    assert "13 voters" in summary  # people, merged across headings
    assert _checker_errors(whole) == {}
    text = whole.read_text()
    assert "person" not in text
    for key in ("n0", "m0", "s0"):
        assert key not in text.split("VOTES")[1]
    instance, profile = parse_pabulib(str(whole))
    assert int(instance.budget_limit) == 1200000
    assert len(instance) == 8
    assert profile.num_ballots() == 13
    assert AuditEvent.objects.filter(action="participation.budget.export").count() == 2

    # The command writes the same.
    command_file = tmp_path / "command.pb"
    call_command("participation", "export-pabulib", world.process.slug, str(command_file))
    assert command_file.read_text() == text


@pytest.mark.django_db
def test_the_export_of_an_unknown_budget_or_heading_is_refused(department, tmp_path):
    world = budget_world(department)
    with pytest.raises(ParticipationError) as no_budget:
        services.budget_pabulib_write(slug="nothing", path=tmp_path / "x.pb")
    assert no_budget.value.code == "no_budget"
    with pytest.raises(ParticipationError) as no_heading:
        services.budget_pabulib_write(
            slug=world.process.slug, path=tmp_path / "x.pb", heading="west"
        )
    assert no_heading.value.code == "unknown_heading"


# --- public pages ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_public_pages_before_and_after_the_results(client, department):
    world = budget_world(department)
    slug = world.process.slug
    project = services.project_add(
        heading=world.north,
        title="Bridge",
        description="A footbridge.",
        department=department,
        cost=Decimal("90000"),
        actor=None,
    )
    services.project_review(
        project=project,
        feasibility=Project.Feasibility.NOT_FEASIBLE,
        reason="The river bank is protected.",
        actor=None,
    )
    page = client.get(reverse("participation:budget", args=[slug])).content.decode()
    assert "£1,200,000.00" in page
    assert "North project 1" in page
    assert "Not feasible" in page
    detail = client.get(reverse("participation:project", args=[slug, project.number]))
    assert detail.status_code == 200
    assert "The river bank is protected." in detail.content.decode()
    assert client.get(reverse("participation:project", args=[slug, 99])).status_code == 404
    assert client.get(reverse("participation:budget_results", args=[slug])).status_code == 404
    pabulib = reverse("participation:budget_pabulib", args=[slug, "north"])
    assert client.get(pabulib).status_code == 404


@pytest.mark.django_db
def test_the_results_page_explains_each_project_and_shows_every_method(client, department):
    world = _published_world(department)
    slug = world.process.slug
    page = client.get(reverse("participation:budget_results", args=[slug]))
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Most votes that still fit (greedy)", "Equal shares", "Equal shares, completed"):
        assert label in html
    assert "Money used" in html
    assert re.search(r"Won: its \d+ supporters? paid|Won in the completion|Won: \d+ votes?", html)
    assert "Not chosen" in html
    selected = Project.objects.filter(heading=world.north, selected=True).first()
    detail = client.get(
        reverse("participation:project", args=[slug, selected.number])
    ).content.decode()
    assert "Selected" in detail
    assert "Delivery so far" in detail
    download = client.get(reverse("participation:budget_pabulib", args=[slug, "north"]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/plain")
    assert download.content.decode().startswith("META")


@pytest.mark.django_db
def test_the_public_pabulib_file_reads_the_stored_count_and_names_the_same_rule(
    client, department, monkeypatch
):
    from ecitizen.participation.pabulib import pabulib_rule
    from ecitizen.participation.selectors.budgets import heading_count, method_key

    world = _published_world(department)
    rule, comment = pabulib_rule(heading_count(world.north, method_key(world.process.budget)))

    def no_count(*args, **kwargs):
        raise AssertionError("a download counted the ballots again")

    monkeypatch.setattr(counting, "count", no_count)
    download = client.get(
        reverse("participation:budget_pabulib", args=[world.process.slug, "north"])
    )
    assert download.status_code == 200
    lines = download.content.decode().splitlines()
    assert f"rule;{rule}" in lines
    assert any(line.startswith("comment;") and comment in line for line in lines)


# --- staff pages and their remit ---------------------------------------------------------


@pytest.mark.django_db
def test_the_organiser_sets_up_a_budget_and_its_headings(client, department, engagement_officer):
    from ecitizen.participation.models import Process

    process = Process.objects.create(
        slug="green-2028",
        title="Green budget",
        summary="Trees",
        department=department,
        status=Process.Status.DRAFT,
    )
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_budget", args=[process.slug])
    page = client.get(url)
    assert page.status_code == 200
    key = re.search(r'name="submission" value="(\w+)"', page.content.decode()).group(1)
    refused = client.post(
        url,
        {
            "submission": key,
            "total_amount": "£500,000",
            "ballot_kind": "approval",
            "min_projects": "1",
            "min_share_percent": "0",
            "method": "greedy",
        },
    )
    assert refused.status_code == 200
    assert "An approval ballot needs the most projects" in refused.content.decode()
    assert not Budget.objects.exists()
    made = client.post(
        url,
        {
            "submission": key,
            "total_amount": "£500,000",
            "ballot_kind": "approval",
            "min_projects": "1",
            "max_projects": "3",
            "min_share_percent": "0",
            "method": "greedy",
        },
    )
    assert made.status_code == 302
    budget = Budget.objects.get(process=process)
    assert budget.total_amount == Decimal("500000")
    heading_url = reverse("staff:participation_budget_heading", args=[process.slug])
    key = re.search(
        r'name="submission" value="(\w+)"', client.get(heading_url).content.decode()
    ).group(1)
    added = client.post(
        heading_url, {"submission": key, "name": "Whole town", "slug": "town", "amount": "500000"}
    )
    assert added.status_code == 302
    assert budget.headings.get().amount == Decimal("500000")


@pytest.mark.django_db
def test_staff_pages_answer_404_outside_the_remit(
    client, department, engagement_officer, other_engagement_officer, case_officer
):
    world = budget_world(department)
    slug = world.process.slug
    number = world.projects["north"][0].number
    organiser_pages = [
        reverse("staff:participation_budget", args=[slug]),
        reverse("staff:participation_budget_heading", args=[slug]),
        reverse("staff:participation_project_new", args=[slug]),
        reverse("staff:participation_budget_results", args=[slug]),
    ]
    project_pages = [
        reverse("staff:participation_project_review", args=[slug, number]),
        reverse("staff:participation_project_delivery", args=[slug, number]),
    ]
    sign_in_official(client, other_engagement_officer)
    for url in organiser_pages + project_pages:
        assert client.get(url).status_code == 404, url
    client.logout()
    sign_in_official(client, engagement_officer)
    for url in organiser_pages + project_pages:
        assert client.get(url).status_code == 200, url
    client.logout()
    sign_in_official(client, case_officer)  # answers for the department, does not organise
    for url in organiser_pages:
        assert client.get(url).status_code == 403, url
    for url in project_pages:
        assert client.get(url).status_code == 200, url
    listed = client.get(reverse("staff:participation_projects")).content.decode()
    assert "North project 1" in listed


@pytest.mark.django_db
def test_the_department_reviews_and_reports_delivery(client, department, case_officer):
    world = _published_world(department)
    project = Project.objects.filter(heading=world.north, selected=True).first()
    slug = world.process.slug
    sign_in_official(client, case_officer)
    review_url = reverse("staff:participation_project_review", args=[slug, project.number])
    assert "can no longer change" in client.get(review_url).content.decode()
    url = reverse("staff:participation_project_delivery", args=[slug, project.number])
    page = client.get(url).content.decode()
    key = re.search(r'name="status-submission" value="(\w+)"', page).group(1)
    moved = client.post(
        url, {"form": "status", "status-submission": key, "status-delivery": "works"}
    )
    assert moved.status_code == 302
    project.refresh_from_db()
    assert project.delivery == Project.Delivery.WORKS
    page = client.get(url).content.decode()
    key = re.search(r'name="milestone-submission" value="(\w+)"', page).group(1)
    day = timezone.localdate()
    added = client.post(
        url,
        {
            "form": "milestone",
            "milestone-submission": key,
            "milestone-title": "Works began",
            "milestone-happened_on_day": str(day.day),
            "milestone-happened_on_month": str(day.month),
            "milestone-happened_on_year": str(day.year),
        },
    )
    assert added.status_code == 302
    assert Milestone.objects.get(project=project).title == "Works began"
    public = client.get(
        reverse("participation:project", args=[slug, project.number])
    ).content.decode()
    assert "Works began" in public
    assert "Works under way" in public
    not_selected = Project.objects.filter(heading__budget=world.budget, selected=False).first()
    with pytest.raises(ParticipationError) as refused:
        services.delivery_set(project=not_selected, delivery="works", actor=None)
    assert refused.value.code == "not_selected"


@pytest.mark.django_db
def test_the_organiser_counts_and_publishes_on_the_results_page(
    client, department, engagement_officer, django_capture_on_commit_callbacks
):
    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][0]])
    _close_vote(world)
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_budget_results", args=[world.process.slug])
    page = client.get(url).content.decode()
    key = re.search(r'name="submission" value="(\w+)"', page).group(1)
    # The count is a worker's: asked for, the page says so and offers nothing to publish.
    with django_capture_on_commit_callbacks(execute=False) as asked:
        assert client.post(url, {"submission": key, "action": "compute"}).status_code == 302
    assert len(asked) == 1
    page = client.get(url).content.decode()
    assert "The ballots are being counted" in page
    assert "Publish the results" not in page
    with pytest.raises(ParticipationError) as early:
        services.results_publish(budget=world.budget, actor=engagement_officer)
    assert early.value.code == "count_running"
    # Asking again while it runs (another organiser's page) enqueues nothing more.
    with django_capture_on_commit_callbacks(execute=False) as again:
        services.results_count_request(budget=world.budget, actor=engagement_officer)
    assert again == []
    asked[0]()  # the worker runs the task (the immediate backend in tests)
    world.budget.refresh_from_db()
    assert world.budget.counting_since is None
    assert Result.objects.filter(heading=world.city).exists()
    assert AuditEvent.objects.filter(
        action="participation.results.compute", actor_id=engagement_officer.pk
    ).exists()
    page = client.get(url).content.decode()
    assert "Preview" in page
    key = re.search(r'name="submission" value="(\w+)"', page).group(1)
    assert client.post(url, {"submission": key, "action": "publish"}).status_code == 302
    world.budget.refresh_from_db()
    assert world.budget.results_published_at is not None


@pytest.mark.django_db
def test_a_count_the_budget_no_longer_allows_is_dropped_and_a_lost_one_asked_again(
    department, engagement_officer, django_capture_on_commit_callbacks
):
    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][0]])
    _close_vote(world)
    with django_capture_on_commit_callbacks(execute=False) as asked:
        services.results_count_request(budget=world.budget, actor=engagement_officer)
    # The vote reopened before the worker ran: nothing is counted, the request is dropped.
    Phase.objects.filter(process=world.process, kind=Phase.Kind.VOTE).update(
        ends_on=timezone.localdate() + timedelta(days=3)
    )
    asked[0]()
    world.budget.refresh_from_db()
    assert world.budget.counting_since is None
    assert not Result.objects.exists()
    dropped = AuditEvent.objects.get(action="participation.results.count_dropped")
    assert dropped.changes == {"reason": "vote_open"}
    # A count whose worker died an hour ago can be asked for again.
    _close_vote(world)
    Budget.objects.filter(pk=world.budget.pk).update(
        counting_since=timezone.now() - services.COUNT_STALE_AFTER - timedelta(minutes=1)
    )
    world.budget.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True) as again:
        services.results_count_request(budget=world.budget, actor=engagement_officer)
    assert len(again) == 1
    assert Result.objects.filter(heading=world.city).exists()


@pytest.mark.django_db
def test_a_ward_limited_official_reaches_only_the_projects_of_their_ward(client, department):
    from ecitizen.accounts import services as accounts
    from ecitizen.accounts.models import Role
    from tests.factories import UserFactory
    from tests.personas import TOTP_SECRET

    world = budget_world(department)
    officer = UserFactory(email="north.officer@example.test")
    accounts.role_assign(
        user=officer,
        role=Role.CASE_OFFICER,
        department=department,
        jurisdiction=world.ward_north,
        actor=None,
        system=True,
    )
    accounts.mfa_totp_activate(user=officer, secret=TOTP_SECRET, actor=None)
    sign_in_official(client, officer)
    slug = world.process.slug
    for slug_heading, status in (("north", 200), ("south", 404), ("city", 404)):
        number = world.projects[slug_heading][0].number
        url = reverse("staff:participation_project_review", args=[slug, number])
        assert client.get(url).status_code == status, slug_heading
    listed = client.get(reverse("staff:participation_projects")).content.decode()
    assert "North project 1" in listed
    assert "South project 1" not in listed


@pytest.mark.django_db
def test_the_organiser_s_pages_of_a_process_without_budget_lead_to_its_set_up(
    client, department, engagement_officer
):
    from ecitizen.participation.models import Process

    process = Process.objects.create(
        slug="no-budget", title="Plan", summary="A plan", department=department
    )
    sign_in_official(client, engagement_officer)
    setup = reverse("staff:participation_budget", args=[process.slug])
    for name in (
        "staff:participation_budget_heading",
        "staff:participation_project_new",
        "staff:participation_budget_results",
    ):
        answer = client.get(reverse(name, args=[process.slug]))
        assert answer.status_code == 302, name
        assert answer["Location"] == setup
