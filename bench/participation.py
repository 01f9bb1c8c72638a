"""How long does counting a participatory budget take: 200,000 knapsack ballots on 60
projects, counted by our engine and by pabutools (the reference) in the same run; and how
fast do ballots go through the service that casts them?

(a) **Counting** (pure, no database). A heading of 60 projects (costs £10,000 to
    £199,000, whole pounds) and a budget of 30 % of their total; N knapsack ballots
    (``--ballots``, default 200,000) generated with numpy: each voter belongs to one of
    four communities that favour their own projects (so that equal shares and greedy
    differ), takes projects in a random order weighted by popularity, and keeps those that
    fit in a random part of the budget, up to 1 to 10 projects. Then, in the same run:

    - the floor: tallying the approvals (every project's votes from the distinct ballots,
      in Python: the least any rule has to read), median of three;
    - ``ecitizen.participation.counting.count`` by greedy, equal shares, and equal shares
      with completion (add1 then greedy), wall-clock and CPU seconds;
    - pabutools 1.2 on the same profile (an ``ApprovalMultiProfile``: distinct ballots
      with how many voters cast each, its fastest form; building it is not timed), by the
      calls :mod:`ecitizen.participation.counting` names as its equivalents, and whether
      its winners are ours, in the same order. ``--pabutools-ballots M`` counts a random
      sample of M ballots instead (both engines count the sample; 0: no pabutools).
      pabutools' completion is one equal shares count per add1 step (then greedy): it is
      estimated from its equal shares time unless ``--pabutools-completion`` runs it.

(b) **Casting** (PostgreSQL only: with ``--cast K``, default 0, and DATABASE_URL a
    PostgreSQL server): a throwaway database with a published process whose vote is open,
    a budget of one heading with the same 60 projects (through the budgets services), and
    K ballots made as in (a) (the same ballots when K is N) cast one by one through
    ``services.budgets.ballot_cast`` (each its own transaction, as a resident's request
    does): ballots per second. Then the heading is read back and counted
    (``selectors.budgets.heading_instance`` then ``count``), and, when K is N, the winners
    compared with (a)'s. Skipped, with a message, on SQLite or when the
    budgets service is not there.

Times are printed with their ratio to the floor (ratios compare between machines, seconds
do not), in wall-clock and CPU seconds, with the load average. Nothing here asserts.

    python bench/participation.py [--ballots 200000] [--seed 13] [--pabutools-ballots M]
    python bench/participation.py --ballots 20000 --pabutools-completion
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python bench/participation.py --ballots 20000 --cast 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.open311 import run_in_throwaway_database
from bench.timing import Clock, load_average, say
from ecitizen.participation.counting import Instance, Outcome, count

PROJECTS = 60
COMMUNITIES = 4
#: (label, method, completion) of every count.
RULES = (
    ("greedy", "greedy", False),
    ("equal shares", "equal_shares", False),
    ("equal shares + completion", "equal_shares", True),
)


# --- the profile --------------------------------------------------------------------------


def knapsack_profile(ballots: int, seed: int) -> tuple[dict[str, int], int, list[frozenset[str]]]:
    """60 projects (name: cost in whole pounds), the budget, and ``ballots`` knapsack
    ballots (each within the budget, 1 to 10 projects), in the order they were cast."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(10, 200, size=PROJECTS) * 1000
    budget = int(round(costs.sum() * 0.3, -3))
    popularity = rng.lognormal(0.0, 0.7, size=PROJECTS)
    home = rng.integers(0, COMMUNITIES, size=PROJECTS)
    names = [str(i + 1) for i in range(PROJECTS)]
    profile: list[frozenset[str]] = []
    for start in range(0, ballots, 50_000):  # in slices: a 200,000 x 60 float array is 96 MB
        size = min(50_000, ballots - start)
        community = rng.integers(0, COMMUNITIES, size=size)
        weights = popularity[None, :] * np.where(home[None, :] == community[:, None], 5.0, 1.0)
        # Weighted random order (Efraimidis and Spirakis): the largest log(u) / weight first.
        order = np.argsort(-np.log(rng.random((size, PROJECTS))) / weights, axis=1)
        spent = np.cumsum(costs[order], axis=1)
        limit = budget * rng.uniform(0.3, 1.0, size=size)
        length = rng.integers(1, 11, size=size)
        take = (spent <= limit[:, None]) & (np.arange(PROJECTS)[None, :] < length[:, None])
        take[:, 0] = True  # every project fits in the budget alone
        chosen = np.zeros((size, PROJECTS), dtype=bool)
        np.put_along_axis(chosen, order, take, axis=1)
        profile += [frozenset(names[j] for j in np.flatnonzero(row)) for row in chosen]
    return {names[i]: int(costs[i]) for i in range(PROJECTS)}, budget, profile


def _tally(ballots: Counter[frozenset[str]]) -> None:
    votes: Counter[str] = Counter()
    for ballot, voters in ballots.items():
        for name in ballot:
            votes[name] += voters


# --- (a) counting -------------------------------------------------------------------------


def _pabutools(projects: dict[str, int], budget: int, ballots: Counter[frozenset[str]]) -> Any:
    """pabutools' instance and multiprofile of the same election, and its call for each
    of :data:`RULES` (the equivalents :mod:`counting` names)."""
    from pabutools.election import (
        ApprovalMultiProfile,
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

    by_name = {name: Project(name, cost) for name, cost in projects.items()}
    election = PabuInstance(by_name.values(), budget_limit=budget)
    profile = ApprovalMultiProfile(instance=election)
    for ballot, voters in ballots.items():
        profile[FrozenApprovalBallot([by_name[name] for name in ballot])] += voters

    def rule(method: str, completion: bool) -> Callable[[], list[str]]:
        def run() -> list[str]:
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
                        {"sat_class": Cost_Sat, "voter_budget_increment": 1},
                        {"sat_class": Cost_Sat},
                    ],
                )
            return [project.name for project in outcome]

        return run

    return rule


def _counting(options: argparse.Namespace) -> dict[str, Outcome]:
    started = time.perf_counter()
    projects, budget, cast = knapsack_profile(options.ballots, options.seed)
    ballots = Counter(cast)
    lengths = [len(b) for b in cast]
    say(
        f"(a) counting: {len(cast):,} knapsack ballots ({len(ballots):,} distinct, "
        f"{statistics.mean(lengths):.1f} projects each on average) on {PROJECTS} projects, "
        f"budget £{budget:,} (30 % of their £{sum(projects.values()):,}); made in "
        f"{time.perf_counter() - started:.1f} s; {load_average()}"
    )

    def floor() -> Clock:
        with Clock() as clock:
            _tally(ballots)
        return clock

    floors = [floor(), floor(), floor()]
    tally = statistics.median(c.wall for c in floors)
    say(f"floor: tallying the approvals of the distinct ballots: {tally:.3f} s (median of 3)")

    instance = Instance(projects=projects, budget=budget, ballots=ballots)
    outcomes: dict[str, Outcome] = {}
    ours: dict[str, Clock] = {}
    for label, method, completion in RULES:
        with Clock() as clock:
            outcome = count(instance, method, completion=completion)
        outcomes[label], ours[label] = outcome, clock
        extra = f", {outcome.increments} add1 steps" if completion else ""
        say(
            f"ours, {label}: {clock.wall:.2f} s (CPU {clock.cpu:.2f} s), "
            f"{clock.wall / tally:,.0f} x the floor; {len(outcome.winners)} winners, "
            f"{float(outcome.money_used / outcome.budget):.1%} of the budget{extra}"
        )
    greedy, shares = outcomes["greedy"].winners, outcomes["equal shares + completion"].winners
    say(f"greedy and equal shares + completion differ by {len(set(greedy) ^ set(shares))} projects")

    sample = options.pabutools_ballots if options.pabutools_ballots is not None else len(cast)
    if sample == 0:
        say("pabutools: not run (--pabutools-ballots 0)")
        return outcomes
    if sample < len(cast):
        picked = np.random.default_rng(options.seed).choice(len(cast), size=sample, replace=False)
        ballots = Counter(cast[i] for i in picked)
        instance = Instance(projects=projects, budget=budget, ballots=ballots)
        say(f"pabutools on a random sample of {sample:,} ballots (ours counts it too):")
    started = time.perf_counter()
    rule = _pabutools(projects, budget, ballots)
    say(f"pabutools' profile built in {time.perf_counter() - started:.1f} s (not timed)")
    times: dict[str, Clock] = {}
    for label, method, completion in RULES:
        if sample < len(cast):
            with Clock() as mine:
                outcome = count(instance, method, completion=completion)
        else:
            outcome, mine = outcomes[label], ours[label]
        if completion and not options.pabutools_completion:
            # pabutools' completion is one equal shares count per add1 step, then greedy.
            runs = outcome.increments + 1
            wall = runs * times["equal shares"].wall + times["greedy"].wall
            cpu = runs * times["equal shares"].cpu + times["greedy"].cpu
            say(
                f"pabutools, {label}: not run (--pabutools-completion runs it): about "
                f"{runs} x its equal shares + its greedy = {wall:,.0f} s (CPU {cpu:,.0f} s); "
                f"ours / pabutools about {mine.wall / wall:.4f} by the clock, "
                f"{mine.cpu / cpu:.4f} by CPU"
            )
            continue
        with Clock() as clock:
            expected = rule(method, completion)()
        times[label] = clock
        same = (
            "the same winners in the same order"
            if list(outcome.winners) == expected
            else f"DIFFERENT winners: ours {list(outcome.winners)}, pabutools {expected}"
        )
        say(
            f"pabutools, {label}: {clock.wall:.1f} s (CPU {clock.cpu:.1f} s), "
            f"{clock.wall / tally:,.0f} x the floor; ours / pabutools = "
            f"{mine.wall / clock.wall:.4f} by the clock, {mine.cpu / clock.cpu:.4f} by CPU "
            f"(pabutools {clock.wall / mine.wall:,.0f} x slower); {same}; {load_average()}"
        )
    return outcomes


# --- (b) casting --------------------------------------------------------------------------


def _casting(options: argparse.Namespace, expected: dict[str, Outcome] | None) -> None:
    """Cast ballots through the service on the throwaway database, then count them."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    if connection.vendor != "postgresql":
        say("(b) casting: skipped: it measures PostgreSQL (DATABASE_URL)")
        return
    try:
        from ecitizen.participation.selectors.budgets import heading_instance
        from ecitizen.participation.services import budgets as services
    except ImportError as error:
        say(f"(b) casting: skipped: the budgets service is not there yet ({error})")
        return
    from ecitizen.accounts.models import Department
    from ecitizen.participation.models import Budget, Channel, Phase, Process, Project

    projects, budget, cast = knapsack_profile(options.cast, options.seed)
    today = timezone.localdate()
    department = Department.objects.create(slug="bench", name="Bench")
    process = Process.objects.create(
        slug="bench-budget",
        title="Bench budget",
        summary="A budget for the bench",
        department=department,
        status=Process.Status.PUBLISHED,
    )
    Phase.objects.create(
        process=process,
        kind=Phase.Kind.VOTE,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30),
    )
    settings = services.BudgetSettings(
        total_amount=Decimal(budget),
        ballot_kind=Budget.BallotKind.KNAPSACK,
        min_projects=1,
        max_projects=None,
        min_share_percent=0,
        method=Budget.Method.EQUAL_SHARES,
        completion=True,
    )
    made = services.budget_create(process=process, settings=settings, actor=None)
    heading = services.heading_add(
        budget=made,
        fields=services.HeadingFields(slug="city", name="City", amount=Decimal(budget), ward=None),
        actor=None,
    )
    pk_of: dict[str, int] = {}
    for name, cost in projects.items():
        project = services.project_add(
            heading=heading,
            title=f"Project {name}",
            description="A project of the bench.",
            department=department,
            cost=Decimal(cost),
            actor=None,
        )
        services.project_review(
            project=project, feasibility=Project.Feasibility.FEASIBLE, actor=None
        )
        pk_of[name] = project.pk
    number_of = {pk_of[name]: str(Project.objects.get(pk=pk_of[name]).number) for name in pk_of}
    say(f"(b) casting {len(cast):,} ballots through ballot_cast on PostgreSQL; {load_average()}")
    with Clock() as clock:
        for i, ballot in enumerate(cast):
            services.ballot_cast(
                heading=heading,
                project_ids=[pk_of[name] for name in ballot],
                person_key=f"bench-{i}",
                channel=Channel.ONLINE,
                actor=None,
            )
    say(
        f"cast: {clock.wall:.1f} s, {len(cast) / clock.wall:,.0f} ballots/s "
        f"(CPU {clock.cpu:.1f} s in this process); {load_average()}"
    )
    with Clock() as read:
        instance = heading_instance(heading)
    say(f"read back: {read.wall:.2f} s")
    for label, method, completion in RULES:
        with Clock() as clock:
            outcome = count(instance, method, completion=completion)
        winners = list(outcome.winners)
        same = ""
        if expected is not None and options.cast == options.ballots:
            theirs = [number_of[pk_of[name]] for name in expected[label].winners]
            same = "; the same winners as (a)" if winners == theirs else "; NOT (a)'s winners"
        say(f"count from the database, {label}: {clock.wall:.2f} s{same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=200_000, help="ballots counted in (a)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--pabutools-ballots",
        type=int,
        default=None,
        help="pabutools counts a random sample of this many ballots (default: all; 0: none)",
    )
    parser.add_argument(
        "--pabutools-completion",
        action="store_true",
        help="run pabutools' completion too (one equal shares count per add1 step: long)",
    )
    parser.add_argument(
        "--cast", type=int, default=0, help="ballots cast through the service in (b) (0: skip)"
    )
    options = parser.parse_args()
    if options.ballots < 1 or options.cast < 0:
        sys.exit("--ballots must be 1 or more, --cast 0 or more")
    if (
        options.pabutools_ballots is not None
        and not 0 <= options.pabutools_ballots <= options.ballots
    ):
        sys.exit("--pabutools-ballots must be between 0 and --ballots")
    outcomes = _counting(options)
    if not options.cast:
        return
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        say("(b) casting: skipped: set DATABASE_URL to a PostgreSQL server")
        return
    run_in_throwaway_database(lambda: _casting(options, outcomes), sqlite=False)


if __name__ == "__main__":
    main()
