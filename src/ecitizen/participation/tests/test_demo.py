"""The ``participation`` demo loader, run after ``people`` alone: the budget has the shape
the demo claims (three ward headings of £400,000, 24 projects, about 2,000 ballots), its
results are published and greedy and equal shares chose different winners there, the
consultation is closed with its outcome, the survey is open, proposals have supports and
answers; and running it again makes nothing."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from ecitizen.accounts.demo import demo_people_load
from ecitizen.core.models import AuditEvent
from ecitizen.demo.services import riverton_context
from ecitizen.participation import counting
from ecitizen.participation.demo import (
    BUDGET_SLUG,
    HEADINGS,
    PARKS_SLUG,
    REGENERATION_SLUG,
    ballots_draw,
    demo_participation_load,
)
from ecitizen.participation.models import (
    Ballot,
    Budget,
    Channel,
    Comment,
    Consultation,
    Milestone,
    Process,
    Project,
    Proposal,
    Response,
    Result,
    Support,
)
from ecitizen.participation.selectors.budgets import heading_instance
from ecitizen.participation.selectors.consultations import OPEN, consultation_state

# Loading the people and about 2,000 ballots through the services takes a while.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.timeout(900),
    pytest.mark.usefixtures("own_files_folder"),
]

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 11, 20, 10, 30, tzinfo=LONDON)


@pytest.fixture
def riverton():
    with time_machine.travel(NOW, tick=False):
        context = riverton_context(seed=2026)
        demo_people_load(context)
        yield context


def _counts() -> dict[str, int]:
    models = (Process, Proposal, Support, Comment, Project, Ballot, Result, Response, Milestone)
    return {model.__name__: model.objects.count() for model in models}


def test_the_demo_loads_the_budget_the_consultation_and_the_survey_once(riverton, tmp_path):
    with time_machine.travel(NOW, tick=False):
        result = demo_participation_load(riverton)
        made = _counts()
        events = AuditEvent.objects.count()
        again = demo_participation_load(riverton)

    assert _counts() == made
    assert AuditEvent.objects.count() == events
    assert again.processes == []
    assert again.ballots == 0
    assert result.processes == [BUDGET_SLUG, REGENERATION_SLUG, PARKS_SLUG]
    assert any(BUDGET_SLUG in note for note in riverton.notes)

    budget = Budget.objects.get(process__slug=BUDGET_SLUG)
    assert budget.total_amount == Decimal("1200000.00")
    assert budget.ballot_kind == Budget.BallotKind.KNAPSACK
    headings = list(budget.headings.order_by("slug"))
    assert [h.slug for h in headings] == ["eastfield", "northgate", "riverside"]
    assert {h.amount for h in headings} == {Decimal("400000.00")}
    assert {h.ward.code for h in headings} == {"eastfield", "northgate", "riverside"}
    assert set(budget.process.wards.values_list("code", flat=True)) == {
        "eastfield",
        "northgate",
        "riverside",
    }
    projects = Project.objects.filter(heading__budget=budget)
    assert projects.count() == 24
    assert Counter(p.heading.slug for p in projects) == {
        "eastfield": 8,
        "northgate": 8,
        "riverside": 8,
    }
    assert not projects.filter(feasibility=Project.Feasibility.PENDING).exists()
    (refused,) = projects.filter(feasibility=Project.Feasibility.NOT_FEASIBLE)
    assert refused.feasibility_reason
    assert projects.filter(original_cost__isnull=False).count() == 1
    assert projects.filter(proposal__isnull=False).count() == 4

    ballots = Ballot.objects.filter(heading__budget=budget)
    assert 1900 <= ballots.count() <= 2100
    assert ballots.count() == sum(spec.voters for spec in HEADINGS) == result.ballots
    assert ballots.filter(channel=Channel.ONLINE).exists()
    assert ballots.filter(channel=Channel.PAPER, entered_by__isnull=False).count() > 1500
    # Residents who voted at the library and again online are counted once, the later wins.
    assert ballots.filter(channel=Channel.ONLINE, replaced_channel=Channel.PAPER).exists()
    for ballot in ballots.select_related("heading"):
        cost = sum(p.cost for p in projects.filter(pk__in=ballot.choices))
        assert cost <= ballot.heading.amount

    # The vote is over and the results are published, counted by every method.
    with time_machine.travel(NOW, tick=False):
        assert budget.results_published_at is not None
        page = reverse("participation:budget_results", kwargs={"slug": BUDGET_SLUG})
    assert page
    assert projects.filter(selected=True).exists()
    differ = 0
    for heading in headings:
        stored = {r.method: r for r in Result.objects.filter(heading=heading)}
        assert set(stored) == {"greedy", "equal_shares", "equal_shares_add1"}
        assert stored["greedy"].ballots == heading.ballots.count()
        # The stored count is the counting module's on the ballots as they stand.
        instance = heading_instance(heading)
        greedy = counting.count(instance, counting.GREEDY, completion=False)
        shares = counting.count(instance, counting.EQUAL_SHARES, completion=True)
        assert [int(n) for n in greedy.winners] == stored["greedy"].winners
        assert [int(n) for n in shares.winners] == stored["equal_shares_add1"].winners
        differ += set(greedy.winners) != set(shares.winners)
        selected = set(
            projects.filter(heading=heading, selected=True).values_list("number", flat=True)
        )
        assert selected == set(stored["equal_shares_add1"].winners)
    assert differ == len(headings)  # in every ward, the two methods chose differently
    _pabulib_checked(headings, tmp_path)
    assert Milestone.objects.filter(project__heading__budget=budget).exists()
    assert projects.filter(selected=True).exclude(delivery=Project.Delivery.NOT_STARTED).exists()

    # Proposals: supported, answered in each way, one comment hidden with its reason.
    proposals = Proposal.objects.filter(process=budget.process)
    assert {p.answer for p in proposals} >= {
        Proposal.Answer.ACCEPTED,
        Proposal.Answer.NOT_ACCEPTED,
        Proposal.Answer.ALREADY_PLANNED,
    }
    assert all(p.answer_text for p in proposals.exclude(answer=""))
    assert all(p.support_count >= 10 for p in proposals.exclude(answer=""))
    assert all(p.support_count == p.supports.count() for p in proposals)
    (hidden,) = Comment.objects.filter(status=Comment.Status.HIDDEN)
    assert hidden.hidden_reason
    assert Comment.objects.filter(parent__isnull=False).exists()

    # The consultation is closed, with responses and its published outcome.
    consultation = Consultation.objects.get(process__slug=REGENERATION_SLUG)
    assert consultation.status == Consultation.Status.CLOSED
    assert consultation.closes_at < NOW
    assert consultation.outcome_published_at is not None
    total = consultation.responses.count()
    assert total > 100
    assert f"{total} people responded" in consultation.outcome

    # The survey is open now, and the named residents have not answered it.
    survey = Consultation.objects.get(process__slug=PARKS_SLUG)
    assert survey.kind == Consultation.Kind.SURVEY
    with time_machine.travel(NOW, tick=False):
        assert consultation_state(survey) == OPEN
    assert survey.responses.count() >= 10
    assert survey.process.invitations.get().recipients > 0


def _pabulib_checked(headings, tmp_path) -> None:
    """The command's Pabulib files of the demo budget pass ``pabulib-checker``, and
    ``pabutools`` counts each heading's file to the winners stored by every method."""
    from pabulib.checker import Checker
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    whole = tmp_path / "budget-2027.pb"
    call_command("participation", "export-pabulib", BUDGET_SLUG, str(whole), stdout=io.StringIO())
    files = [whole]
    for heading in headings:
        path = tmp_path / f"{heading.slug}.pb"
        call_command(
            "participation",
            "export-pabulib",
            BUDGET_SLUG,
            str(path),
            "--heading",
            heading.slug,
            stdout=io.StringIO(),
        )
        files.append(path)
        instance, profile = parse_pabulib(str(path))
        assert profile.num_ballots() == heading.ballots.count()
        counted = {
            "greedy": greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat),
            "equal_shares": method_of_equal_shares(instance, profile, sat_class=Cost_Sat),
            "equal_shares_add1": completion_by_rule_combination(
                instance,
                profile,
                [method_of_equal_shares, greedy_utilitarian_welfare],
                [{"sat_class": Cost_Sat, "voter_budget_increment": 1}, {"sat_class": Cost_Sat}],
            ),
        }
        for result in Result.objects.filter(heading=heading):
            assert {int(p.name) for p in counted[result.method]} == set(result.winners)
    checked = Checker().process_files([str(path) for path in files])
    assert checked["metadata"]["processed"] == len(files)
    for name, entry in checked.items():
        if name not in {"metadata", "summary"}:
            assert not entry["results"].get("errors"), (name, entry["results"]["errors"])


def test_the_ballots_drawn_fit_the_budget_and_repeat_with_the_seed():
    costs = [165_000, 140_000, 85_000, 28_000, 36_000, 52_000, 24_000]
    big = [True, True, True, False, False, False, False]

    def draw(seed: int) -> list[list[int]]:
        return ballots_draw(
            random.Random(seed), costs=costs, big=big, amount=400_000, voters=500, big_share=0.6
        )

    first = draw(7)
    assert first == draw(7)
    assert first != draw(8)
    assert len(first) == 500
    assert all(ballot and sum(costs[i] for i in ballot) <= 400_000 for ballot in first)
    votes = Counter(i for ballot in first for i in ballot)
    # The big projects are the most voted; the small ones have a large minority.
    assert min(votes[i] for i in range(3)) > max(votes[i] for i in range(3, 7))
    assert min(votes[i] for i in range(3, 7)) > 100
