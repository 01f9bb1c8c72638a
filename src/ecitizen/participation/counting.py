"""Counting a participatory budget: pure computing, no Django, no database.

An :class:`Instance` is one heading of a budget (each heading is counted on its own): its
projects (a name and a cost each), the money to spend, and the ballots. Every ballot is an
approval ballot, a set of project names: a knapsack ballot (projects whose total cost fits
the budget) is counted as the approval of the projects it chose. :func:`count` returns an
:class:`Outcome`: the winners in the order they were chosen, every project's votes, the
money used, and for every project the figures that say in plain words why it won or lost.

**Methods** and the ``pabutools`` (1.2) call each one gives exactly the same winners as,
in the same order (``instance`` and ``profile`` being the same election read by
``pabutools.election.parse_pabulib`` from our Pabulib file, ``Cost_Sat`` from
``pabutools.election``):

- ``count(instance, "greedy", completion=...)``: the usual rule, "most votes that still
  fit". Projects are taken by number of votes, most first; each is chosen when its cost
  fits in the money not yet given, and skipped otherwise (the next one may still fit).
  ``greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)``: with cost
  satisfaction a project's "satisfaction per unit of cost" is its number of votes.
  (``Cardinality_Sat`` would rank by votes per unit of cost instead, which is another
  rule.) A project nobody voted for is chosen too when money is left for it, as
  ``pabutools`` does. Greedy spends until nothing more fits, so ``completion`` changes
  nothing.
- ``count(instance, "equal_shares", completion=False)``: the Method of Equal Shares with
  cost utilities (MES-Cost), as on equalshares.net: the money is shared equally among the
  ballots (empty ballots too); a project is bought by its supporters, each paying the same
  share of its cost, or all they have left when that is less; at each round the project
  bought is the one whose supporters pay the least per unit of its cost (``rho``: a
  supporter who can pays ``rho * cost``); the method stops when no project's supporters
  have its cost left between them. ``method_of_equal_shares(instance, profile,
  sat_class=Cost_Sat)``.
- ``count(instance, "equal_shares", completion=True)``: the completion used in practice
  (equalshares.net's "add1" then its utilitarian completion): equal shares is counted
  again with every voter's share raised by 1 unit of money (``voter_budget_increment``),
  then 2, ... while the outcome still fits in the real budget, keeping the last outcome
  that fits (or the first one that leaves no supported project affordable); then the
  money left is given greedily, most votes first.
  ``completion_by_rule_combination(instance, profile, [method_of_equal_shares,
  greedy_utilitarian_welfare], [{"sat_class": Cost_Sat, "voter_budget_increment": 1},
  {"sat_class": Cost_Sat}])``. The unit is the unit the costs are given in: the heading's
  currency (pounds, not pence), as in the Pabulib file we write.

**Ties** are broken as ``pabutools`` breaks them by default (``lexico_tie_breaking``): the
project whose name comes first, the names compared as strings ("10" before "9"). Our names
are the projects' numbers written as strings, so among projects with the same votes (greedy)
or the same price (equal shares) the one whose number sorts first as text wins.

**Exact arithmetic.** Costs and the budget are ``int``, ``Decimal`` or ``Fraction`` (no
``float``); every comparison that decides an outcome is made on exact rationals, as
``pabutools`` makes them (with ``gmpy2.mpq``), so ties are ties. Speed comes from counting
identical ballots once and from grouping voters by what they have left (voters with the
same money left behave alike): floating point (numpy) only narrows down which projects may
be the cheapest at a round, and the few that may are priced exactly.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import chain
from typing import Any

import numpy as np

GREEDY = "greedy"
EQUAL_SHARES = "equal_shares"
METHODS = (GREEDY, EQUAL_SHARES)

#: What a project's cost and the budget may be given as: exact numbers only.
Money = int | Decimal | Fraction

# Relative margins of the floating-point filters: far above the rounding error of the sums
# they compare (at most a few hundred thousand terms, each correctly rounded), so that a
# project is only ever decided in floating point when exact arithmetic would decide it the
# same way; the rest is decided exactly.
_AFFORD_MARGIN = 1e-9
_PRICE_MARGIN = 1e-4


def _exact(value: object, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | Fraction):
        raise TypeError(f"{what} must be an int, Decimal or Fraction, not {type(value).__name__}")
    return Fraction(value)


@dataclass(frozen=True)
class Instance:
    """One heading to count.

    ``projects`` maps each project's name to its cost (more than zero); ``budget`` is the
    money to spend (zero or more), in the same unit; ``ballots`` is either a sequence of
    ballots (each a collection of project names, possibly empty) or a mapping of distinct
    ballots to how many voters cast them (a ``Counter``). Every name on a ballot must be a
    project's."""

    projects: Mapping[str, Money]
    budget: Money
    ballots: Sequence[Collection[str]] | Mapping[frozenset[str], int]


@dataclass(frozen=True)
class GreedyStep:
    """A project's turn in a greedy pass (the greedy method, or the completion after equal
    shares): ``rank`` is its place in the order projects were considered (1 = first: the
    most votes); ``money_left`` the money not yet given when its turn came; ``fitted``
    whether its cost fitted in it (then it was chosen). ``same_votes`` names the other
    projects of the pass with as many votes (their order is decided by name)."""

    rank: int
    money_left: Fraction
    fitted: bool
    same_votes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SharesStep:
    """A project in the equal shares count kept (with completion: the one run whose voter
    share the outcome comes from).

    Bought: ``round`` (1 = first bought), ``rho`` (each supporter paid ``rho`` times the
    cost at most; those with less left paid all they had), ``max_payment`` (``rho *
    cost``, the most one supporter paid), ``effective_votes`` (``1 / rho``: as many votes
    as a project whose supporters all pay the same share would need; equals the votes
    when every supporter could pay a full share), ``paid_everything`` (supporters left
    with nothing after paying), ``tied_with`` (projects exactly as cheap at that round,
    passed over by name).

    Not bought: ``dropped_after`` (how many projects had been bought when it could no
    longer be paid for: 0 for a project nobody voted for), ``supporters_money`` (what its
    supporters had left between them then) and ``short_by`` (its cost less that money,
    more than zero)."""

    bought: bool
    round: int | None = None
    rho: Fraction | None = None
    max_payment: Fraction | None = None
    effective_votes: Fraction | None = None
    paid_everything: int | None = None
    tied_with: tuple[str, ...] = ()
    dropped_after: int | None = None
    supporters_money: Fraction | None = None
    short_by: Fraction | None = None


@dataclass(frozen=True)
class ProjectResult:
    """One project's result. ``position`` is its place among the winners (1 = chosen
    first), None when not chosen; ``stage`` what chose it: "greedy", "equal_shares" or
    "completion" (empty when not chosen). ``shares`` is set by equal shares, ``greedy`` by
    the greedy method and, after equal shares, by the completion for the projects equal
    shares did not buy."""

    name: str
    cost: Fraction
    votes: int
    selected: bool
    position: int | None
    stage: str
    greedy: GreedyStep | None = None
    shares: SharesStep | None = None


@dataclass(frozen=True)
class Outcome:
    """The count of one heading by one method.

    ``voter_share`` (equal shares) is each voter's share of the money in the run kept:
    ``budget / ballots``, raised by ``increments`` whole units when completed;
    ``shares_winners`` are the projects equal shares bought (before any greedy
    completion)."""

    method: str
    completion: bool
    budget: Fraction
    ballots: int
    winners: tuple[str, ...]
    votes: Mapping[str, int]
    money_used: Fraction
    projects: Mapping[str, ProjectResult]
    voter_share: Fraction | None = None
    increments: int = 0
    shares_winners: tuple[str, ...] = ()

    @property
    def money_left(self) -> Fraction:
        return self.budget - self.money_used

    def as_dict(self, *, places: int = 2) -> dict[str, Any]:
        """The outcome as JSON-ready data: amounts of money as decimal strings rounded to
        ``places`` (the currency's minor unit; for display only, the count itself is
        exact), ``rho`` as an exact ``"p/q"`` string, effective votes as a number with two
        decimals."""

        def money(value: Fraction | None) -> str | None:
            return None if value is None else _decimal(value, places)

        def step(project: ProjectResult) -> dict[str, Any]:
            data: dict[str, Any] = {
                "cost": money(project.cost),
                "votes": project.votes,
                "selected": project.selected,
                "position": project.position,
                "stage": project.stage,
            }
            if project.greedy is not None:
                g = project.greedy
                data["greedy"] = {
                    "rank": g.rank,
                    "money_left": money(g.money_left),
                    "fitted": g.fitted,
                    "same_votes": list(g.same_votes),
                }
            if project.shares is not None:
                s = project.shares
                data["shares"] = {
                    "bought": s.bought,
                    "round": s.round,
                    "rho": None if s.rho is None else f"{s.rho.numerator}/{s.rho.denominator}",
                    "max_payment": money(s.max_payment),
                    "effective_votes": (
                        None if s.effective_votes is None else round(float(s.effective_votes), 2)
                    ),
                    "paid_everything": s.paid_everything,
                    "tied_with": list(s.tied_with),
                    "dropped_after": s.dropped_after,
                    "supporters_money": money(s.supporters_money),
                    "short_by": money(s.short_by),
                }
            return data

        return {
            "method": self.method,
            "completion": self.completion,
            "budget": money(self.budget),
            "ballots": self.ballots,
            "winners": list(self.winners),
            "money_used": money(self.money_used),
            "money_left": money(self.money_left),
            "voter_share": money(self.voter_share),
            "increments": self.increments,
            "shares_winners": list(self.shares_winners),
            "projects": {name: step(project) for name, project in self.projects.items()},
        }


def _decimal(value: Fraction, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    # Decimal division rounds to 28 digits; amounts of a budget are far below that.
    return str(exact.quantize(quantum, rounding=ROUND_HALF_EVEN))


# --- the instance, prepared -------------------------------------------------------------


@dataclass
class _Prepared:
    """The instance in the form the counts work on. Projects are numbered in the order of
    their names (the tie-breaking order); money is scaled by ``scale`` so that every cost
    is an integer; distinct ballots are groups, with the number of voters who cast each."""

    names: list[str]
    costs: list[Fraction]
    budget: Fraction
    ballots: int
    votes: list[int]
    scale: int
    cost_int: list[int]
    cost_float: np.ndarray
    groups: int  # distinct non-empty ballots
    starts: np.ndarray  # group g approves cols[starts[g] : starts[g] + lengths[g]]
    lengths: np.ndarray
    cols: np.ndarray  # every approval's project, group after group
    weights: np.ndarray  # the voters of each group, as floats
    supporters: list[np.ndarray]  # the groups approving each project


def _counted_ballots(instance: Instance) -> Mapping[frozenset[str], int]:
    if isinstance(instance.ballots, Mapping):
        for voters in instance.ballots.values():
            if isinstance(voters, bool) or not isinstance(voters, int) or voters < 0:
                raise ValueError("each ballot's number of voters must be a whole number, 0 or more")
        return instance.ballots
    return Counter(map(frozenset, instance.ballots))


def _prepare(instance: Instance) -> _Prepared:
    names = sorted(instance.projects)
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError("project names must be non-empty strings")
    costs = [_exact(instance.projects[name], f"the cost of project {name!r}") for name in names]
    for name, cost in zip(names, costs, strict=True):
        if cost <= 0:
            raise ValueError(f"the cost of project {name!r} must be more than zero")
    budget = _exact(instance.budget, "the budget")
    if budget < 0:
        raise ValueError("the budget must not be negative")

    counted = _counted_ballots(instance)
    groups = [(ballot, voters) for ballot, voters in counted.items() if ballot and voters]
    index = {name: i for i, name in enumerate(names)}
    lengths = np.fromiter((len(b) for b, _ in groups), dtype=np.int64, count=len(groups))
    try:
        cols = np.fromiter(
            map(index.__getitem__, chain.from_iterable(b for b, _ in groups)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
    except KeyError as error:
        raise ValueError(f"a ballot names an unknown project: {error.args[0]!r}") from None
    weights = np.fromiter((v for _, v in groups), dtype=np.int64, count=len(groups))
    rows = np.repeat(np.arange(len(groups), dtype=np.int64), lengths)
    m = len(names)
    votes_float = np.bincount(cols, weights=weights[rows].astype(np.float64), minlength=m)
    votes = [round(v) for v in votes_float.tolist()]
    order = np.argsort(cols, kind="stable")
    bounds = np.searchsorted(cols[order], np.arange(m + 1))

    scale = 1
    for cost in costs:
        scale = math.lcm(scale, cost.denominator)
    cost_int = [int(cost * scale) for cost in costs]
    return _Prepared(
        names=names,
        costs=costs,
        budget=budget,
        ballots=sum(counted.values()),
        votes=votes,
        scale=scale,
        cost_int=cost_int,
        cost_float=np.asarray([float(c) for c in cost_int], dtype=np.float64),
        groups=len(groups),
        starts=np.cumsum(lengths) - lengths,
        lengths=lengths,
        cols=cols,
        weights=weights.astype(np.float64),
        supporters=[rows[order[bounds[p] : bounds[p + 1]]] for p in range(m)],
    )


# --- greedy -----------------------------------------------------------------------------


def _greedy_pass(
    prep: _Prepared, candidates: list[int], money: Fraction
) -> tuple[list[int], dict[int, GreedyStep]]:
    """Projects ``candidates`` by votes (most first, then by name), each chosen when its
    cost fits in the money left. Returns the chosen and every candidate's step."""
    ordered = sorted(candidates, key=lambda p: (-prep.votes[p], p))
    by_votes: dict[int, list[int]] = {}
    for p in ordered:
        by_votes.setdefault(prep.votes[p], []).append(p)
    chosen: list[int] = []
    steps: dict[int, GreedyStep] = {}
    for rank, p in enumerate(ordered, start=1):
        fitted = prep.costs[p] <= money
        peers = tuple(prep.names[q] for q in by_votes[prep.votes[p]] if q != p)
        steps[p] = GreedyStep(rank=rank, money_left=money, fitted=fitted, same_votes=peers)
        if fitted:
            chosen.append(p)
            money -= prep.costs[p]
    return chosen, steps


# --- equal shares -----------------------------------------------------------------------


@dataclass
class _SharesRun:
    bought: list[int]
    steps: dict[int, SharesStep]
    voter_share: Fraction


def _price(pairs: list[tuple[int, int]], total: int, supporters: int) -> tuple[int, int]:
    """The exact price of a project whose supporters are ``pairs`` (money left, over a
    common denominator; voters), ascending, and whose cost is ``total`` over the same
    denominator: returns ``(C, R)`` such that each supporter who can pays ``C / R`` and
    the others pay all they have (the loop of pabutools' ``mes_inner_algo``).
    Precondition: the supporters have the cost between them."""
    remaining, payers = total, supporters
    for money, voters in pairs:
        if remaining <= money * payers:
            break
        remaining -= money * voters
        payers -= voters
    return remaining, payers


class _Wallets:
    """The voters' money during one count by equal shares.

    Voters with the same money left are one class: class ``k`` has ``nums[k] /
    denominator`` each (money scaled by ``prep.scale``, so that costs are integers;
    ``budgets[k]`` is the same as a float), and ``counts[k, p]`` of its voters support
    project ``p``. Ballot group ``g`` is in class ``voter_class[g]``. Classes that support
    no project still in play are forgotten."""

    def __init__(self, prep: _Prepared, voter_share: Fraction) -> None:
        self.prep = prep
        start = voter_share * prep.scale
        self.denominator = start.denominator
        self.nums = [start.numerator]
        self.budgets = np.asarray([float(start)], dtype=np.float64)
        self.voter_class = np.zeros(prep.groups, dtype=np.int64)
        self.counts = np.asarray(prep.votes, dtype=np.float64).reshape(1, len(prep.names))

    def money(self, p: int) -> int:
        """What the supporters of ``p`` have between them, over the denominator."""
        column = self.counts[:, p].tolist()
        return sum(num * round(n) for num, n in zip(self.nums, column, strict=True) if n)

    def affordable(self, projects: np.ndarray) -> np.ndarray:
        """Which of ``projects`` their supporters can still pay for."""
        cost = self.prep.cost_float[projects]
        available = self.budgets @ self.counts[:, projects]
        sure = available >= cost * (1 + _AFFORD_MARGIN)
        for i in np.flatnonzero(~sure & (available >= cost * (1 - _AFFORD_MARGIN))):
            p = int(projects[i])
            sure[i] = self.money(p) >= self.prep.cost_int[p] * self.denominator
        return sure

    def cheapest(self, projects: np.ndarray) -> tuple[list[int], int, int]:
        """The projects (affordable, at least one) bought at the lowest ``rho``, first by
        name first, with the ``(C, R)`` of their exact price."""
        prep = self.prep
        cost = prep.cost_float[projects]
        order = np.argsort(self.budgets, kind="stable")
        sorted_budgets = self.budgets[order][:, None]
        supporters = self.counts[np.ix_(order, projects)]
        paid = supporters * sorted_budgets
        poor_money = np.cumsum(paid, axis=0) - paid
        payers = supporters.sum(axis=0) - (np.cumsum(supporters, axis=0) - supporters)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = (cost - poor_money) / payers
            fits = (supporters > 0) & (payers > 0) & (share <= sorted_budgets * (1 + 1e-12))
        found = fits.any(axis=0)
        rho = np.where(found, share[fits.argmax(axis=0), np.arange(len(projects))] / cost, np.inf)
        lowest = rho[found].min() if found.any() else np.inf
        floats = self.budgets.tolist()
        priced = []
        for i in np.flatnonzero(~found | (rho <= lowest * (1 + _PRICE_MARGIN))).tolist():
            p = int(projects[i])
            # Sorted by the float first, which is exact between different floats, then
            # by the exact money between equal floats.
            column = self.counts[:, p].tolist()
            pairs = sorted(
                (f, num, round(n)) for f, num, n in zip(floats, self.nums, column, strict=True) if n
            )
            total = prep.cost_int[p] * self.denominator
            c, r = _price([(num, n) for _, num, n in pairs], total, prep.votes[p])
            priced.append((Fraction(c, r * prep.cost_int[p]), p, c, r))
        lowest_price = min(price for price, *_ in priced)
        tied = sorted(p for price, p, *_ in priced if price == lowest_price)
        c, r = next((c, r) for _, p, c, r in priced if p == tied[0])
        return tied, c, r

    def pay(self, p: int, c: int, r: int) -> int:
        """The supporters of ``p`` pay ``c / r`` each (over the denominator), or all they
        have when less, and move to the class of what they have left. Returns how many
        are left with nothing."""
        g = math.gcd(c, r)
        factor, share = r // g, c // g
        if factor != 1:
            self.nums = [num * factor for num in self.nums]
            self.denominator *= factor
        classes = len(self.nums)
        by_money = {num: k for k, num in enumerate(self.nums)}
        new_class = np.arange(classes, dtype=np.int64)
        added: list[float] = []
        emptied = 0
        column = self.counts[:, p].tolist()
        for k, n in enumerate(column):
            if not n:
                continue
            left = self.nums[k] - min(self.nums[k], share)
            if not left:
                emptied += round(n)
            target = by_money.get(left)
            if target is None:
                target = by_money[left] = len(self.nums)
                self.nums.append(left)
                added.append(left / self.denominator)
            new_class[k] = target
        self.budgets = np.concatenate([self.budgets, np.asarray(added, dtype=np.float64)])

        # The moved ballots' approvals leave their old class for the new one.
        prep, m = self.prep, len(self.prep.names)
        group = prep.supporters[p]
        old = self.voter_class[group]
        new = new_class[old]
        self.voter_class[group] = new
        lengths = prep.lengths[group]
        ends = np.cumsum(lengths)
        positions = np.arange(ends[-1]) - np.repeat(ends - lengths - prep.starts[group], lengths)
        cols = prep.cols[positions]
        weights = np.repeat(prep.weights[group], lengths)
        size = len(self.nums) * m
        moved = np.bincount(np.repeat(new, lengths) * m + cols, weights=weights, minlength=size)
        moved -= np.bincount(np.repeat(old, lengths) * m + cols, weights=weights, minlength=size)
        counts = np.zeros((len(self.nums), m), dtype=np.float64)
        counts[:classes] = self.counts
        self.counts = counts + moved.reshape(len(self.nums), m)
        return emptied

    def keep(self, remaining: list[int]) -> None:
        """Forget the classes that support none of ``remaining`` (their voters can no
        longer change anything)."""
        live = np.flatnonzero(self.counts[:, remaining].any(axis=1))
        if len(live) < len(self.nums):
            renumber = np.zeros(len(self.nums), dtype=np.int64)
            renumber[live] = np.arange(len(live), dtype=np.int64)
            self.voter_class = renumber[self.voter_class]
            self.nums = [self.nums[k] for k in live.tolist()]
            self.budgets = self.budgets[live]
            self.counts = self.counts[live]


def _shares_run(prep: _Prepared, voter_share: Fraction) -> _SharesRun:
    """One count by equal shares, every voter starting with ``voter_share``: at each round
    the projects their supporters can no longer pay for drop out, and of the others the
    cheapest (lowest ``rho``; then the first by name) is bought."""
    wallets = _Wallets(prep, voter_share)
    remaining = [p for p in range(len(prep.names)) if prep.votes[p] > 0]
    steps = {
        p: SharesStep(
            bought=False, dropped_after=0, supporters_money=Fraction(0), short_by=prep.costs[p]
        )
        for p in range(len(prep.names))
        if prep.votes[p] == 0
    }
    bought: list[int] = []
    while remaining:
        projects = np.asarray(remaining, dtype=np.int64)
        affordable = wallets.affordable(projects)
        for p in projects[~affordable].tolist():
            money = Fraction(wallets.money(p), wallets.denominator * prep.scale)
            steps[p] = SharesStep(
                bought=False,
                dropped_after=len(bought),
                supporters_money=money,
                short_by=prep.costs[p] - money,
            )
        remaining = projects[affordable].tolist()
        if not remaining:
            break
        tied, c, r = wallets.cheapest(projects[affordable])
        chosen = tied[0]
        rho = Fraction(c, r * prep.cost_int[chosen] * wallets.denominator)
        emptied = wallets.pay(chosen, c, r)
        steps[chosen] = SharesStep(
            bought=True,
            round=len(bought) + 1,
            rho=rho,
            max_payment=rho * prep.costs[chosen],
            effective_votes=1 / rho,
            paid_everything=emptied,
            tied_with=tuple(prep.names[q] for q in tied[1:]),
        )
        bought.append(chosen)
        remaining.remove(chosen)
        if remaining:
            wallets.keep(remaining)
    return _SharesRun(bought=bought, steps=steps, voter_share=voter_share)


# --- count ------------------------------------------------------------------------------


def count(
    instance: Instance,
    method: str,
    *,
    completion: bool,
    voter_budget_increment: Money = 1,
) -> Outcome:
    """Count ``instance`` by ``method`` ("greedy" or "equal_shares"); with ``completion``,
    equal shares is completed (the voters' shares raised by ``voter_budget_increment``
    while the outcome fits, then greedy). Pure: reads nothing but its arguments.

    Raises ValueError for an unknown method, a ballot naming an unknown project, a cost
    not more than zero or a negative budget; TypeError for an amount that is not exact."""
    if method not in METHODS:
        raise ValueError(f"unknown counting method {method!r}: one of {', '.join(METHODS)}")
    prep = _prepare(instance)
    increment = _exact(voter_budget_increment, "the voter budget increment")
    if increment <= 0:
        raise ValueError("the voter budget increment must be more than zero")
    m = len(prep.names)

    greedy_steps: dict[int, GreedyStep] = {}
    shares_steps: dict[int, SharesStep] = {}
    stage: dict[int, str] = {}
    voter_share: Fraction | None = None
    increments = 0
    shares_winners: list[int] = []
    if method == GREEDY:
        winners, greedy_steps = _greedy_pass(prep, list(range(m)), prep.budget)
        stage = dict.fromkeys(winners, "greedy")
        completion = False
    else:
        if prep.ballots == 0:
            # No voter, no share: pabutools returns the empty outcome at once.
            run = _SharesRun(
                bought=[],
                steps={
                    p: SharesStep(
                        bought=False,
                        dropped_after=0,
                        supporters_money=Fraction(0),
                        short_by=prep.costs[p],
                    )
                    for p in range(m)
                },
                voter_share=Fraction(0),
            )
        else:
            run = _shares_run(prep, prep.budget / prep.ballots)
            if completion:
                supported = [p for p in range(m) if prep.votes[p] > 0]
                while True:
                    spent = sum((prep.costs[p] for p in run.bought), Fraction(0))
                    if not any(
                        p not in run.bought and spent + prep.costs[p] <= prep.budget
                        for p in supported
                    ):
                        break
                    attempt = _shares_run(prep, run.voter_share + increment)
                    if sum((prep.costs[p] for p in attempt.bought), Fraction(0)) > prep.budget:
                        break
                    run = attempt
                    increments += 1
        shares_winners = list(run.bought)
        shares_steps = run.steps
        voter_share = run.voter_share
        winners = list(run.bought)
        stage = dict.fromkeys(winners, "equal_shares")
        if completion:
            spent = sum((prep.costs[p] for p in winners), Fraction(0))
            chosen = set(winners)
            if any(p not in chosen and spent + prep.costs[p] <= prep.budget for p in range(m)):
                extra, greedy_steps = _greedy_pass(
                    prep, [p for p in range(m) if p not in chosen], prep.budget - spent
                )
                winners += extra
                stage.update(dict.fromkeys(extra, "completion"))

    position = {p: i for i, p in enumerate(winners, start=1)}
    projects = {
        prep.names[p]: ProjectResult(
            name=prep.names[p],
            cost=prep.costs[p],
            votes=prep.votes[p],
            selected=p in position,
            position=position.get(p),
            stage=stage.get(p, ""),
            greedy=greedy_steps.get(p),
            shares=shares_steps.get(p),
        )
        for p in range(m)
    }
    return Outcome(
        method=method,
        completion=completion,
        budget=prep.budget,
        ballots=prep.ballots,
        winners=tuple(prep.names[p] for p in winners),
        votes={prep.names[p]: prep.votes[p] for p in range(m)},
        money_used=sum((prep.costs[p] for p in winners), Fraction(0)),
        projects=projects,
        voter_share=voter_share,
        increments=increments,
        shares_winners=tuple(prep.names[p] for p in shares_winners),
    )
