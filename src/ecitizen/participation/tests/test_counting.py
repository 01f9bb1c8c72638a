"""The counting engine against pabutools, the reference implementation, on many generated
instances (approval up to k, knapsack, ties, duplicate ballots, amounts in pence), and on
small instances counted by hand."""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pabutools.election import (
    ApprovalBallot,
    ApprovalMultiProfile,
    ApprovalProfile,
    Cost_Sat,
    FrozenApprovalBallot,
    Project,
)
from pabutools.election import Instance as PabuInstance
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from ecitizen.participation.counting import Instance, count

RULES = [("greedy", False), ("equal_shares", False), ("equal_shares", True)]


def pabutools_winners(
    instance: Instance, method: str, *, completion: bool, increment: int | Fraction = 1
) -> list[str]:
    """The winners of pabutools' call that ``counting``'s docstring names for ``method``,
    in its selection order. A Counter of ballots becomes a multiprofile, a list a
    profile."""
    projects = {
        name: Project(name, Fraction(cost)) for name, cost in sorted(instance.projects.items())
    }
    election = PabuInstance(projects.values(), budget_limit=Fraction(instance.budget))
    if isinstance(instance.ballots, Counter):
        profile = ApprovalMultiProfile(instance=election)
        for ballot, voters in instance.ballots.items():
            profile[FrozenApprovalBallot([projects[name] for name in ballot])] += voters
    else:
        profile = ApprovalProfile(
            [ApprovalBallot([projects[name] for name in ballot]) for ballot in instance.ballots],
            instance=election,
        )
    if method == "greedy":
        outcome = greedy_utilitarian_welfare(election, profile, sat_class=Cost_Sat)
    elif not completion:
        outcome = method_of_equal_shares(election, profile, sat_class=Cost_Sat)
    else:
        outcome = completion_by_rule_combination(
            election,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [
                {"sat_class": Cost_Sat, "voter_budget_increment": increment},
                {"sat_class": Cost_Sat},
            ],
        )
    return [project.name for project in outcome]


def assert_like_pabutools(instance: Instance, *, increment: int | Fraction = 1) -> None:
    for method, completion in RULES:
        ours = count(instance, method, completion=completion, voter_budget_increment=increment)
        expected = pabutools_winners(instance, method, completion=completion, increment=increment)
        assert list(ours.winners) == expected, (method, completion, instance)
        assert ours.money_used == sum(Fraction(instance.projects[p]) for p in expected)
        assert ours.money_used <= Fraction(instance.budget)


# --- generated instances ------------------------------------------------------------------


def _names(rng: random.Random, m: int) -> list[str]:
    # Numbers written as strings, past 9 so that "10" sorts before "9" in the tie-breaks.
    if rng.random() < 0.5:
        return [str(i) for i in range(1, m + 1)]
    return [str(i) for i in rng.sample(range(1, 130), m)]


def _costs(rng: random.Random, names: list[str]) -> dict[str, int | Decimal | Fraction]:
    kind = rng.choice(["small", "equal", "two", "pence", "fraction"])
    if kind == "small":
        return {n: rng.randint(1, 20) for n in names}
    if kind == "equal":
        return dict.fromkeys(names, rng.choice([1, 3, 10]))
    if kind == "two":
        return {n: rng.choice([2, 4]) for n in names}
    if kind == "pence":
        return {n: Decimal(rng.randint(100, 2000)) / 100 for n in names}
    return {n: Fraction(rng.randint(1, 40), rng.choice([1, 2, 3])) for n in names}


def _ballots(
    rng: random.Random, names: list[str], costs: dict, budget: Fraction
) -> list[frozenset[str]]:
    voters = rng.choice([0, 1, 2, rng.randint(3, 12), rng.randint(13, 40)])
    weights = [rng.choice([1, 1, 2, 5]) for _ in names]
    style = rng.choice(["approval", "knapsack", "few"])
    limit = rng.randint(1, len(names))
    pool: list[frozenset[str]] = [
        frozenset(rng.sample(names, rng.randint(0, len(names)))) for _ in range(3)
    ]
    ballots: list[frozenset[str]] = []
    for _ in range(voters):
        if style == "few" or (ballots and rng.random() < 0.25):
            ballots.append(rng.choice(pool + ballots))
            continue
        order = sorted(names, key=lambda n: rng.random() ** (1 / weights[names.index(n)]))
        order.reverse()
        if style == "approval":
            ballots.append(frozenset(order[: rng.randint(0, limit)]))
        else:
            chosen, spent = [], Fraction(0)
            for name in order:
                if spent + Fraction(costs[name]) <= budget:
                    chosen.append(name)
                    spent += Fraction(costs[name])
            ballots.append(frozenset(chosen[: rng.randint(1, len(names))]))
    return ballots


def generated_instance(rng: random.Random) -> Instance:
    names = _names(rng, rng.randint(1, 12))
    costs = _costs(rng, names)
    total = sum(Fraction(c) for c in costs.values())
    budget = rng.choice(
        [
            Fraction(0),
            total,
            total + 1,
            Fraction(rng.randint(0, int(total) + 1)),
            Fraction(rng.randint(1, 4 * int(total) + 4), 4),
        ]
    )
    if budget.denominator in (1, 2, 4) and rng.random() < 0.5:
        budget = Decimal(budget.numerator) / Decimal(budget.denominator)
    ballots = _ballots(rng, names, costs, Fraction(budget))
    shape = Counter(ballots) if rng.random() < 0.3 else ballots
    return Instance(projects=costs, budget=budget, ballots=shape)


@pytest.mark.parametrize("chunk", range(8))
def test_generated_instances_count_like_pabutools(chunk):
    rng = random.Random(20_270 + chunk)
    for _ in range(150):
        assert_like_pabutools(generated_instance(rng))


@pytest.mark.parametrize("increment", [2, Fraction(1, 2), Decimal("0.25")])
def test_other_completion_steps_count_like_pabutools(increment):
    rng = random.Random(str(increment))
    for _ in range(60):
        instance = generated_instance(rng)
        ours = count(instance, "equal_shares", completion=True, voter_budget_increment=increment)
        expected = pabutools_winners(
            instance, "equal_shares", completion=True, increment=Fraction(increment)
        )
        assert list(ours.winners) == expected


@st.composite
def instances(draw):
    m = draw(st.integers(1, 8))
    names = [
        str(i) for i in draw(st.lists(st.integers(1, 40), min_size=m, max_size=m, unique=True))
    ]
    costs = {n: draw(st.sampled_from([1, 2, 2, 3, 5, 8, 13])) for n in names}
    budget = draw(st.integers(0, sum(costs.values()) + 2))
    ballots = draw(
        st.lists(st.frozensets(st.sampled_from(names), max_size=m), min_size=0, max_size=25)
    )
    return Instance(projects=costs, budget=budget, ballots=ballots)


@given(instances())
def test_any_small_instance_counts_like_pabutools(instance):
    assert_like_pabutools(instance)


def test_a_larger_knapsack_profile_counts_like_pabutools():
    """3,000 knapsack ballots (2,650 distinct) on 30 projects: the voter classes, the
    floating-point filters and the exact prices at a scale where they matter. The shares
    are raised by a quarter at a time so that the completion takes a few steps (by 1 it
    would overshoot at once) without pabutools taking long."""
    rng = random.Random(7)
    names = [str(i) for i in range(1, 31)]
    costs = {n: rng.randint(1, 9) * 100 for n in names}
    budget = 4_000
    popularity = {n: rng.random() ** 2 for n in names}
    ballots = []
    for _ in range(3_000):
        order = sorted(names, key=lambda n: -(rng.random() ** (1 / (popularity[n] + 0.05))))
        chosen, spent = [], 0
        for name in order[: rng.randint(1, 12)]:
            if spent + costs[name] <= budget:
                chosen.append(name)
                spent += costs[name]
        ballots.append(frozenset(chosen))
    instance = Instance(projects=costs, budget=budget, ballots=Counter(ballots))
    assert_like_pabutools(instance, increment=Fraction(1, 4))
    outcome = count(
        instance, "equal_shares", completion=True, voter_budget_increment=Fraction(1, 4)
    )
    assert outcome.increments == 2


# --- small instances counted by hand ------------------------------------------------------


def proportional_instance() -> Instance:
    """100 voters, 100 to spend: 60 want A, B and C (30 each), 40 want D (30)."""
    return Instance(
        projects={"A": 30, "B": 30, "C": 30, "D": 30},
        budget=100,
        ballots=Counter({frozenset("ABC"): 60, frozenset("D"): 40}),
    )


def test_greedy_gives_everything_to_the_majority():
    outcome = count(proportional_instance(), "greedy", completion=False)
    assert outcome.winners == ("A", "B", "C")
    assert outcome.votes == {"A": 60, "B": 60, "C": 60, "D": 40}
    assert outcome.money_used == 90
    assert outcome.money_left == 10
    d = outcome.projects["D"]
    assert not d.selected
    assert d.stage == ""
    assert (d.greedy.rank, d.greedy.money_left, d.greedy.fitted) == (4, 10, False)
    a = outcome.projects["A"]
    assert (a.position, a.stage, a.greedy.rank, a.greedy.money_left) == (1, "greedy", 1, 100)
    assert a.greedy.same_votes == ("B", "C")
    assert outcome.projects["C"].greedy.money_left == 40


def test_equal_shares_gives_the_minority_its_share():
    """Each voter has 1. A: 60 supporters pay 1/2 each (rho 1/60; A before B and C by
    name). B: the same 1/2 each, which empties them. C: nothing left. D: 40 supporters
    pay 3/4 each."""
    outcome = count(proportional_instance(), "equal_shares", completion=False)
    assert outcome.winners == ("A", "B", "D")
    assert outcome.voter_share == 1
    assert outcome.money_used == 90
    a, b, c, d = (outcome.projects[n].shares for n in "ABCD")
    assert (a.round, a.rho, a.max_payment, a.effective_votes) == (1, Fraction(1, 60), 0.5, 60)
    assert a.tied_with == ("B", "C")
    assert a.paid_everything == 0
    assert (b.round, b.rho, b.paid_everything, b.tied_with) == (2, Fraction(1, 60), 60, ("C",))
    assert (d.round, d.rho, d.max_payment, d.effective_votes) == (3, Fraction(1, 40), 0.75, 40)
    assert not c.bought
    assert (c.dropped_after, c.supporters_money, c.short_by) == (2, 0, 30)
    assert outcome.projects["C"].stage == ""
    # Nothing else fits in the 10 left: completion changes nothing.
    completed = count(proportional_instance(), "equal_shares", completion=True)
    assert completed.winners == ("A", "B", "D")
    assert completed.increments == 0


def completion_instance() -> Instance:
    """10 voters, 10 to spend: 6 want P (7); 4 want Q (3) and R (2)."""
    return Instance(
        projects={"P": 7, "Q": 3, "R": 2},
        budget=10,
        ballots=[frozenset("P")] * 6 + [frozenset("QR")] * 4,
    )


def test_equal_shares_alone_leaves_money_unspent():
    """With 1 each, P's 6 supporters have 6 of its 7. Q and R cost their 4 supporters 1/4
    of their price each (a tie, Q first by name); after Q (3/4 each) they have 1 between
    them, short of R's 2 by 1."""
    outcome = count(completion_instance(), "equal_shares", completion=False)
    assert outcome.winners == ("Q",)
    p, q, r = (outcome.projects[n].shares for n in "PQR")
    assert (p.dropped_after, p.supporters_money, p.short_by) == (0, 6, 1)
    assert (q.rho, q.max_payment, q.tied_with) == (Fraction(1, 4), Fraction(3, 4), ("R",))
    assert (r.dropped_after, r.supporters_money, r.short_by) == (1, 1, 1)


def test_completion_keeps_the_last_share_that_fits_then_fills_greedily():
    """With 2 each: P (rho 1/6), Q, R: 12 > 10, too much, so the shares of 1 are kept
    ([Q]) and the 7 left go greedily to P (6 votes); R no longer fits."""
    outcome = count(completion_instance(), "equal_shares", completion=True)
    assert outcome.winners == ("Q", "P")
    assert outcome.shares_winners == ("Q",)
    assert (outcome.increments, outcome.voter_share) == (0, 1)
    assert outcome.projects["P"].stage == "completion"
    assert outcome.projects["Q"].stage == "equal_shares"
    p, r = outcome.projects["P"].greedy, outcome.projects["R"].greedy
    assert (p.rank, p.money_left, p.fitted) == (1, 7, True)
    assert (r.rank, r.money_left, r.fitted) == (2, 0, False)
    assert outcome.projects["Q"].greedy is None


def test_completion_raises_the_shares_while_the_outcome_fits():
    """Without R: with 2 each P (7/6 each) and Q (3/4 each) are bought, 10 of 10, nothing
    else left: that outcome is kept, one step up."""
    instance = Instance(
        projects={"P": 7, "Q": 3},
        budget=10,
        ballots=[frozenset("P")] * 6 + [frozenset("Q")] * 4,
    )
    assert count(instance, "equal_shares", completion=False).winners == ("Q",)
    outcome = count(instance, "equal_shares", completion=True)
    assert outcome.winners == ("P", "Q")
    assert (outcome.increments, outcome.voter_share) == (1, 2)
    assert outcome.projects["P"].shares.max_payment == Fraction(7, 6)
    assert outcome.projects["P"].stage == "equal_shares"


def test_ties_go_to_the_name_that_sorts_first_as_text():
    """Projects 9 and 10 cost the same and have the same votes; only one fits: "10"
    sorts before "9", as in pabutools."""
    instance = Instance(projects={"9": 5, "10": 5}, budget=5, ballots=[frozenset({"9", "10"})] * 3)
    for method, completion in RULES:
        assert count(instance, method, completion=completion).winners == ("10",)
    assert_like_pabutools(instance)


def test_greedy_chooses_a_project_nobody_voted_for_when_money_is_left():
    instance = Instance(projects={"1": 5, "2": 3}, budget=10, ballots=[frozenset({"1"})])
    assert count(instance, "greedy", completion=False).winners == ("1", "2")
    assert count(instance, "equal_shares", completion=False).winners == ("1",)
    assert count(instance, "equal_shares", completion=True).winners == ("1", "2")
    assert_like_pabutools(instance)


def test_empty_ballots_count_as_voters_who_share_the_money():
    """Two of four ballots are empty: each voter has 1/2 and A's two supporters 1 of its
    2."""
    instance = Instance(
        projects={"A": 2}, budget=2, ballots=[frozenset("A")] * 2 + [frozenset()] * 2
    )
    outcome = count(instance, "equal_shares", completion=False)
    assert outcome.ballots == 4
    assert outcome.voter_share == Fraction(1, 2)
    assert outcome.winners == ()
    assert outcome.projects["A"].shares.short_by == 1
    assert_like_pabutools(instance)


def test_no_ballot_at_all():
    instance = Instance(projects={"1": 4, "2": 4}, budget=5, ballots=[])
    assert count(instance, "equal_shares", completion=False).winners == ()
    assert count(instance, "equal_shares", completion=True).winners == ("1",)
    assert count(instance, "greedy", completion=False).winners == ("1",)
    assert_like_pabutools(instance)


def test_a_counter_and_a_list_of_the_same_ballots_count_alike():
    rng = random.Random(3)
    for _ in range(40):
        instance = generated_instance(rng)
        ballots = (
            list(instance.ballots.elements())
            if isinstance(instance.ballots, Counter)
            else instance.ballots
        )
        as_list = Instance(projects=instance.projects, budget=instance.budget, ballots=ballots)
        as_counter = Instance(
            projects=instance.projects, budget=instance.budget, ballots=Counter(ballots)
        )
        for method, completion in RULES:
            assert (
                count(as_list, method, completion=completion).as_dict()
                == count(as_counter, method, completion=completion).as_dict()
            )


def test_pence_are_counted_exactly():
    """0.1 + 0.2 is 0.3 exactly: both fit in 0.30."""
    instance = Instance(
        projects={"1": Decimal("0.10"), "2": Decimal("0.20"), "3": Decimal("0.05")},
        budget=Decimal("0.30"),
        ballots=[frozenset({"1", "2", "3"})] * 3 + [frozenset({"1", "2"})],
    )
    assert count(instance, "greedy", completion=False).winners == ("1", "2")
    assert_like_pabutools(instance)


def test_the_outcome_as_json_ready_data():
    outcome = count(proportional_instance(), "equal_shares", completion=True)
    data = json.loads(json.dumps(outcome.as_dict()))
    assert data["winners"] == ["A", "B", "D"]
    assert data["money_used"] == "90.00"
    assert data["money_left"] == "10.00"
    assert data["voter_share"] == "1.00"
    assert data["projects"]["D"]["shares"]["rho"] == "1/40"
    assert data["projects"]["D"]["shares"]["max_payment"] == "0.75"
    assert data["projects"]["D"]["shares"]["effective_votes"] == 40.0
    assert data["projects"]["C"]["shares"]["short_by"] == "30.00"
    assert data["projects"]["C"]["selected"] is False
    two_thirds = Instance(projects={"A": 2}, budget=2, ballots=[frozenset("A")] * 3)
    shares = count(two_thirds, "equal_shares", completion=False).as_dict()["projects"]["A"]
    assert shares["shares"]["max_payment"] == "0.67"


@pytest.mark.parametrize(
    ("instance", "error"),
    [
        (Instance(projects={"1": 5}, budget=5, ballots=[frozenset({"2"})]), ValueError),
        (Instance(projects={"1": 0}, budget=5, ballots=[]), ValueError),
        (Instance(projects={"1": 5}, budget=-1, ballots=[]), ValueError),
        (Instance(projects={"1": 5.0}, budget=5, ballots=[]), TypeError),
        (Instance(projects={"1": 5}, budget=5.5, ballots=[]), TypeError),
        (Instance(projects={"": 5}, budget=5, ballots=[]), ValueError),
        (Instance(projects={"1": 5}, budget=5, ballots=Counter({frozenset("1"): -1})), ValueError),
    ],
)
def test_bad_instances_are_refused(instance, error):
    with pytest.raises(error):
        count(instance, "greedy", completion=False)


def test_an_unknown_method_or_step_is_refused():
    instance = Instance(projects={"1": 5}, budget=5, ballots=[])
    with pytest.raises(ValueError, match="unknown counting method"):
        count(instance, "borda", completion=False)
    with pytest.raises(ValueError, match="increment"):
        count(instance, "equal_shares", completion=True, voter_budget_increment=0)
