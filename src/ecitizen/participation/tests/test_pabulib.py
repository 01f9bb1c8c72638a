"""Pabulib files: what we write passes pabulib-checker without an error, pabutools reads
it back as the same election and counts the same winners, and our reader reads it back."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from pabulib.checker import Checker
from pabutools.election.pabulib import parse_pabulib_from_string

from ecitizen.participation.counting import Instance, Outcome, count
from ecitizen.participation.pabulib import (
    PabulibError,
    pabulib_dump,
    pabulib_instance,
    pabulib_load,
    pabulib_rule,
    pabulib_votes,
)
from ecitizen.participation.tests.test_counting import RULES, pabutools_winners

META = {
    "description": "Riverton Budget 2027, Northgate ward",
    "country": "United Kingdom",
    "unit": "Riverton",
    "subunit": "Northgate",
    "instance": "2027",
    "vote_type": "approval",
    "date_begin": date(2027, 3, 1),
    "date_end": date(2027, 3, 31),
    "language": "en",
    "currency": "GBP",
}


def exact(value) -> Fraction:
    """A gmpy2 ``mpq`` of pabutools as a Fraction of Python ints."""
    return Fraction(int(value.numerator), int(value.denominator))


def checked(text: str, capsys) -> dict:
    """The checker's findings for ``text``: its errors and warnings by kind."""
    results = Checker().process_files([text])
    capsys.readouterr()  # the checker prints a line per file
    assert results["metadata"]["processed"] == 1
    return results[1]["results"]


def election_file(instance: Instance, outcome: Outcome, **meta) -> str:
    rule, comment = pabulib_rule(outcome)
    ballots = (
        list(instance.ballots.elements())
        if isinstance(instance.ballots, Counter)
        else list(instance.ballots)
    )
    return pabulib_dump(
        meta={**META, "budget": instance.budget, "rule": rule, "comment": comment, **meta},
        projects=[
            {
                "project_id": name,
                "cost": cost,
                "name": f"Project {name}",
                "selected": int(outcome.projects[name].selected),
            }
            for name, cost in instance.projects.items()
        ],
        votes=pabulib_votes(
            ballots, channels=["paper" if i % 5 == 0 else "internet" for i in range(len(ballots))]
        ),
    )


def exportable_instance(rng: random.Random) -> tuple[Instance, dict]:
    """An instance the checker accepts: no project costs more than the budget, and every
    ballot chooses a project (approval up to k, or knapsack within the budget)."""
    m = rng.randint(2, 14)
    names = [str(i) for i in range(1, m + 1)]
    pence = rng.random() < 0.2
    costs = {
        n: (
            Decimal(rng.randint(500, 4000)) / 100
            if pence
            else rng.choice([5, 10, rng.randint(1, 40)])
        )
        for n in names
    }
    budget = max(Fraction(c) for c in costs.values()) + rng.randint(0, 60)
    if rng.random() < 0.1:
        budget = sum(Fraction(c) for c in costs.values())
    budget = Decimal(budget.numerator) / Decimal(budget.denominator)
    voters = rng.randint(1, 60)
    knapsack = rng.random() < 0.5
    k = rng.randint(1, m)
    ballots = []
    for _ in range(voters):
        order = rng.sample(names, m)
        if knapsack:
            chosen, spent = [], Decimal(0)
            for name in order:
                if spent + Decimal(costs[name]) <= budget:
                    chosen.append(name)
                    spent += Decimal(costs[name])
            ballots.append(frozenset(chosen[: rng.randint(1, len(chosen))]))
        else:
            ballots.append(frozenset(order[: rng.randint(1, k)]))
    meta = {"max_sum_cost": budget} if knapsack else {"min_length": 1, "max_length": k}
    return Instance(projects=costs, budget=budget, ballots=ballots), meta


@pytest.mark.parametrize("chunk", range(4))
def test_generated_files_pass_the_checker_and_count_alike_in_pabutools(chunk, capsys):
    rng = random.Random(f"pabulib-{chunk}")
    for _ in range(40):
        instance, meta = exportable_instance(rng)
        for method, completion in RULES:
            outcome = count(instance, method, completion=completion)
            text = election_file(instance, outcome, **meta)
            findings = checked(text, capsys)
            assert findings["errors"] == {}, (findings, text)

            election, profile = parse_pabulib_from_string(text)
            assert exact(election.budget_limit) == Fraction(instance.budget)
            assert {p.name: exact(p.cost) for p in election} == {
                n: Fraction(c) for n, c in instance.projects.items()
            }
            assert Counter(frozenset(p.name for p in b) for b in profile) == Counter(
                instance.ballots
            )
            read = Instance(
                projects={p.name: exact(p.cost) for p in election},
                budget=exact(election.budget_limit),
                ballots=[frozenset(p.name for p in b) for b in profile],
            )
            assert pabutools_winners(read, method, completion=completion) == list(outcome.winners)
            assert count(pabulib_instance(text), method, completion=completion).winners == (
                outcome.winners
            )


def small_election() -> tuple[Instance, Outcome]:
    instance = Instance(
        projects={"1": Decimal("50000"), "2": Decimal("1234.50"), "10": Decimal("30000")},
        budget=Decimal("60000.00"),
        ballots=[frozenset({"1", "2"}), frozenset({"10"}), frozenset({"10", "2"})],
    )
    return instance, count(instance, "greedy", completion=False)


def test_the_file_written(capsys):
    instance, _ = small_election()
    text = pabulib_dump(
        meta={**META, "budget": instance.budget, "rule": "greedy", "max_length": 5},
        projects=[
            {"project_id": "1", "cost": Decimal("50000.00"), "name": 'New; "green"\nsquare'},
            {"project_id": "2", "cost": Decimal("1234.50"), "name": "Benches"},
            {"project_id": "10", "cost": Decimal("30000"), "name": "Play area"},
        ],
        votes=pabulib_votes(
            [["2", "1"], ["10"], {"2", "10"}], channels=["internet", "paper", "internet"]
        ),
    )
    assert text.splitlines() == [
        "META",
        "key;value",
        "description;Riverton Budget 2027, Northgate ward",
        "country;United Kingdom",
        "unit;Riverton",
        "subunit;Northgate",
        "instance;2027",
        "num_projects;3",
        "num_votes;3",
        "budget;60000",
        "vote_type;approval",
        "rule;greedy",
        "date_begin;01.03.2027",
        "date_end;31.03.2027",
        "language;en",
        "currency;GBP",
        "PROJECTS",
        "project_id;cost;votes;name",
        # Most votes first; "10" before "2" (equal votes) as text.
        "10;30000;2;Play area",
        "2;1234.5;2;Benches",
        '1;50000;1;"New; ""green"" square"',
        "VOTES",
        "voter_id;vote;voting_method",
        # Sorted by what was chosen, then numbered: the order says nothing of who or when.
        "1;1,2;internet",
        "2;2,10;internet",
        "3;10;paper",
    ]
    assert checked(text, capsys)["errors"] == {}
    election, _ = parse_pabulib_from_string(text)
    names = {p.name: election.project_meta[p]["name"] for p in election}
    assert names["1"] == 'New; "green" square'
    meta, projects, votes = pabulib_load(text)
    assert meta["budget"] == "60000"
    assert projects[2] == {
        "project_id": "1",
        "cost": "50000",
        "votes": "1",
        "name": 'New; "green" square',
    }
    assert votes[1] == {"voter_id": "2", "vote": ["2", "10"], "voting_method": "internet"}


def test_a_budget_that_covers_every_project_is_said_to_be_fully_funded(capsys):
    instance = Instance(projects={"1": 5, "2": 5}, budget=10, ballots=[{"1"}, {"2"}])
    outcome = count(instance, "greedy", completion=False)
    text = election_file(instance, outcome)
    assert "fully_funded;1" in text.splitlines()
    assert checked(text, capsys)["errors"] == {}


def test_the_rule_named_only_where_pabulib_counts_it_the_same():
    _, greedy = small_election()
    rule, comment = pabulib_rule(greedy)
    assert rule == "unknown"  # 1234.50: not whole pounds
    assert comment.startswith("#1: Greedy")
    whole = Instance(
        projects={"A": 30, "B": 30, "C": 30, "D": 30},
        budget=100,
        ballots=Counter({frozenset("ABC"): 60, frozenset("D"): 41}),
    )
    assert pabulib_rule(count(whole, "greedy", completion=False))[0] == "greedy"
    # A, B and C tie in equal shares: the checker would break the tie otherwise.
    assert pabulib_rule(count(whole, "equal_shares", completion=False))[0] == "unknown"
    # With cost utilities projects with as many supporters, all able to pay, tie.
    untied = Instance(
        projects={"A": 30, "B": 31, "D": 30},
        budget=100,
        ballots=Counter({frozenset("AB"): 50, frozenset("A"): 10, frozenset("D"): 40}),
    )
    assert pabulib_rule(count(untied, "equal_shares", completion=False))[0] == "equalshares"
    rule, comment = pabulib_rule(count(untied, "equal_shares", completion=True))
    assert rule == "unknown"
    assert "add1" in comment


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"meta": {"colour": "red"}}, "keys the format does not know"),
        ({"meta": {"rule": None}}, "required keys missing"),
        ({"meta": {"vote_type": "plurality"}}, "vote_type"),
        ({"votes": [{"voter_id": 1, "vote": []}]}, "chose no project"),
        ({"votes": [{"voter_id": 1, "vote": ["9"]}]}, "unknown project"),
        ({"votes": [{"voter_id": 1, "vote": ["1", "1"]}]}, "a project twice"),
        (
            {"votes": [{"voter_id": 1, "vote": ["1"]}, {"voter_id": 1, "vote": ["2"]}]},
            "appears twice",
        ),
        ({"projects": [{"project_id": "1", "cost": Fraction(1, 3)}]}, "finite decimal"),
        ({"projects": [{"project_id": "1", "cost": 0}]}, "more than zero"),
        ({"projects": [{"project_id": "1", "cost": 5, "votes": 7}]}, "votes"),
        ({"projects": [{"project_id": "1,2", "cost": 5}]}, "comma"),
        ({"projects": [{"project_id": "1", "cost": 5, "colour": "red"}]}, "does not know"),
    ],
)
def test_what_the_format_cannot_hold_is_refused(change, message):
    arguments = {
        "meta": {**META, "budget": 10, "rule": "greedy"},
        "projects": [{"project_id": "1", "cost": 5}, {"project_id": "2", "cost": 5}],
        "votes": [{"voter_id": 1, "vote": ["1"]}],
    }
    for key, value in change.items():
        arguments[key] = {**arguments[key], **value} if key == "meta" else value
    arguments["meta"] = {k: v for k, v in arguments["meta"].items() if v is not None}
    with pytest.raises(PabulibError, match=message):
        pabulib_dump(**arguments)


@pytest.mark.parametrize(
    "text",
    [
        "PROJECTS\nproject_id;cost\n1;5\nVOTES\nvoter_id;vote\n1;1\n",
        "META\nkey;value\nbudget;5\nVOTES\nvoter_id;vote\n1;1\nPROJECTS\nproject_id;cost\n1;5\n",
        "META\nkey;value\nPROJECTS\nid;cost\n1;5\nVOTES\nvoter_id;vote\n1;1\n",
        "META\nkey;value\nPROJECTS\nproject_id;cost\n1;5;7\nVOTES\nvoter_id;vote\n1;1\n",
    ],
)
def test_a_malformed_file_is_refused(text):
    with pytest.raises(PabulibError):
        pabulib_load(text)


def test_voters_are_numbered_whatever_order_they_came_in():
    ballots = [{"3"}, {"1", "12"}, {"2"}, {"1", "2"}]
    rows = pabulib_votes(ballots)
    assert rows == pabulib_votes(list(reversed(ballots)))
    assert [(row["voter_id"], row["vote"]) for row in rows] == [
        (1, ["1", "2"]),
        (2, ["1", "12"]),
        (3, ["2"]),
        (4, ["3"]),
    ]


@pytest.mark.parametrize("method", ["greedy", "equal_shares"])
def test_the_checker_counts_a_named_rule_again(method, capsys):
    """Where the rule is named, the checker counts it again: a winner marked as not
    selected is an error (so a file that passes says the same as our count)."""
    instance = Instance(
        projects={"A": 30, "B": 31, "C": 29, "D": 30},
        budget=100,
        ballots=Counter({frozenset("ABC"): 50, frozenset("A"): 10, frozenset("D"): 40}),
    )
    outcome = count(instance, method, completion=False)
    assert pabulib_rule(outcome)[0] in ("greedy", "equalshares")
    text = election_file(instance, outcome)
    assert checked(text, capsys)["errors"] == {}
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(f"{outcome.winners[0]};"))
    assert lines[row].endswith(";1")  # selected, the last column
    lines[row] = lines[row].removesuffix(";1") + ";0"
    assert checked("\n".join(lines) + "\n", capsys)["errors"]
