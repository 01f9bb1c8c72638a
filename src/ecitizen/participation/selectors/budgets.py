"""Reads of participatory budgets: a budget, its headings and projects as residents see
them, when the vote is open, which headings a person may vote in, the running total of a
ballot, the results as the pages write them, what an official's remit covers.

Nobody reads an individual ballot here but the person it belongs to
(:func:`ballot_of`, by their own person key): officials get counts only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.accounts.selectors import remit_covers, remit_filter
from ecitizen.participation import counting
from ecitizen.participation.models import (
    Ballot,
    Budget,
    Channel,
    Heading,
    Milestone,
    Phase,
    Process,
    Project,
    Proposal,
    Result,
)
from ecitizen.participation.selectors.processes import process_for_staff
from ecitizen.participation.services.common import today
from ecitizen.payments.money import currency_precision, format_money

ZERO = Decimal("0")

# --- dates -------------------------------------------------------------------------------


def day_text(day: date) -> str:
    """A date as the pages write it (``7 November 2026``)."""
    return date_format(day, "j F Y")


@dataclass(frozen=True)
class VoteWindow:
    """When a budget's vote is open: ``open`` today, ``closes_on`` the last day of the
    current vote phase (open) or of the last one that ended (closed), ``opens_on`` the
    first day of the next one (not open yet)."""

    open: bool
    opens_on: date | None = None
    closes_on: date | None = None

    @property
    def ended(self) -> bool:
        return not self.open and self.closes_on is not None and self.opens_on is None


def vote_window(process: Process, *, on: date | None = None) -> VoteWindow:
    """The vote's dates in ``process`` (a published process only; a draft or archived
    one is never open). Reads the process's phases (prefetched or one query)."""
    day = on or today()
    phases = sorted(
        (phase for phase in process.phases.all() if phase.kind == Phase.Kind.VOTE),
        key=lambda phase: phase.starts_on,
    )
    published = process.status == Process.Status.PUBLISHED
    current = [phase for phase in phases if phase.starts_on <= day <= phase.ends_on]
    if published and current:
        return VoteWindow(True, closes_on=max(phase.ends_on for phase in current))
    upcoming = [phase.starts_on for phase in phases if phase.starts_on > day]
    ended = [phase.ends_on for phase in phases if phase.ends_on < day]
    return VoteWindow(
        False,
        opens_on=min(upcoming) if upcoming and published else None,
        closes_on=max(ended) if ended else None,
    )


def vote_closed_message(budget: Budget, window: VoteWindow) -> str:
    """Why no ballot can be cast or changed now, in the resident's words."""
    if budget.results_published_at is not None or window.ended:
        if window.closes_on is not None:
            return _("The vote closed on %(date)s. Ballots can no longer be cast or changed.") % {
                "date": day_text(window.closes_on)
            }
        return _("The vote has closed. Ballots can no longer be cast or changed.")
    if window.opens_on is not None:
        return _("Voting opens on %(date)s.") % {"date": day_text(window.opens_on)}
    return _("This budget is not open to votes.")


# --- money -------------------------------------------------------------------------------


def money(amount: Decimal | int) -> str:
    """An amount in the reader's language (``£400,000.00``)."""
    return format_money(amount)


def to_minor(amount: Decimal) -> int:
    """An amount in minor units (pence), for the ballot page's script."""
    return int((amount * (10 ** currency_precision())).to_integral_value())


def money_sample() -> str:
    """1,234,567.89 written as the pages write amounts: the ballot page's script reads the
    symbol, the separators and their places from it, so that its running total is written
    exactly as the server writes it."""
    places = currency_precision()
    return format_money(
        Decimal("1234567.89").quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    )


# --- budgets as the public sees them -----------------------------------------------------


def budget_public_or_404(slug: str) -> Budget:
    """The budget of a published (or archived) process, with its process, phases and
    headings (each with its projects and ward)."""
    budget = (
        Budget.objects.filter(process__slug=slug)
        .exclude(process__status=Process.Status.DRAFT)
        .select_related("process", "process__department")
        .prefetch_related(
            "process__phases",
            "process__rules",
            "process__wards",
            Prefetch(
                "headings",
                queryset=Heading.objects.select_related("ward").prefetch_related(
                    Prefetch("projects", queryset=Project.objects.order_by("number"))
                ),
            ),
        )
        .first()
    )
    if budget is None:
        raise Http404
    return budget


def heading_of_or_404(budget: Budget, slug: str) -> Heading:
    """One of the budget's headings (from its prefetched ones)."""
    for heading in budget.headings.all():
        if heading.slug == slug:
            return heading
    raise Http404


def project_of_or_404(budget: Budget, number: int) -> Project:
    """The budget's project ``number``, with its heading and milestones."""
    project = (
        Project.objects.filter(heading__budget=budget, number=number)
        .select_related("heading", "heading__ward", "department", "proposal")
        .prefetch_related(
            Prefetch("milestones", queryset=Milestone.objects.order_by("happened_on", "id"))
        )
        .first()
    )
    if project is None:
        raise Http404
    return project


def on_ballot(heading: Heading) -> list[Project]:
    """The projects a ballot of ``heading`` offers: the feasible ones, by number."""
    return [p for p in heading.projects.all() if p.feasibility == Project.Feasibility.FEASIBLE]


# --- who votes where ---------------------------------------------------------------------


@dataclass(frozen=True)
class HeadingAccess:
    """Whether the person may vote in a heading, and if not why."""

    allowed: bool
    reason: str = ""


def heading_access(heading: Heading, *, user: Any, channel: str) -> HeadingAccess:
    """Whether someone taking part through ``channel`` may vote in ``heading``: a heading
    of the whole authority is everyone's; a ward's is for the residents whose profile
    puts them in that ward. A census voter (whose ward the platform does not know) may
    vote in any one ward's heading: :func:`services.budgets.ballot_cast` refuses a second
    ward's. Eligibility for the vote as a whole is the process's rule, checked apart."""
    if heading.ward_id is None or channel in {Channel.CENSUS, Channel.PAPER}:
        return HeadingAccess(True)
    profile = getattr(user, "profile", None) if getattr(user, "is_authenticated", False) else None
    ward_id = getattr(profile, "ward_id", None)
    if ward_id is None:
        return HeadingAccess(
            False,
            _("Add your home address to your account so we can tell which ward you live in."),
        )
    if ward_id != heading.ward_id:
        return HeadingAccess(
            False,
            _("This part of the budget is for the people who live in %(ward)s.")
            % {"ward": str(heading.ward) if heading.ward else ""},
        )
    return HeadingAccess(True)


def ballot_of(heading: Heading, person_key: str | None) -> Ballot | None:
    """The person's own ballot in ``heading`` (never anyone else's)."""
    if not person_key:
        return None
    return Ballot.objects.filter(heading=heading, person_key=person_key).first()


def ballots_of(budget: Budget, person_key: str | None) -> dict[int, Ballot]:
    """The person's own ballots in the budget, by heading id."""
    if not person_key:
        return {}
    return {
        ballot.heading_id: ballot
        for ballot in Ballot.objects.filter(heading__budget=budget, person_key=person_key)
    }


# --- a ballot's running total ------------------------------------------------------------


@dataclass(frozen=True)
class BallotTotal:
    """What the chosen projects add up to, against the heading's amount (knapsack) or the
    number a ballot may choose (approval), and the sentence that says it."""

    chosen: list[Project]
    cost: Decimal
    amount: Decimal
    text: str
    over: bool

    @property
    def left(self) -> Decimal:
        return self.amount - self.cost


def total_texts(budget: Budget) -> dict[str, str]:
    """The running total's sentences with their placeholders (``%(chosen)s``...), which
    the page's script fills in as the resident ticks projects."""
    if budget.ballot_kind == Budget.BallotKind.KNAPSACK:
        return {
            "within": _("%(chosen)s of %(amount)s chosen, %(left)s left"),
            "over": _("%(chosen)s of %(amount)s chosen, %(over)s over the budget"),
        }
    if budget.max_projects:
        return {"count": _("Projects chosen: %(count)s of %(most)s")}
    return {"count": _("Projects chosen: %(count)s")}


def ballot_total(heading: Heading, project_ids: list[int]) -> BallotTotal:
    """The running total of a ballot choosing ``project_ids`` (those on the ballot only)."""
    budget = heading.budget
    wanted = set(project_ids)
    chosen = [p for p in on_ballot(heading) if p.pk in wanted]
    cost = sum((p.cost for p in chosen), ZERO)
    texts = total_texts(budget)
    if budget.ballot_kind == Budget.BallotKind.KNAPSACK:
        over = cost > heading.amount
        values = {
            "chosen": money(cost),
            "amount": money(heading.amount),
            "left": money(heading.amount - cost),
            "over": money(cost - heading.amount),
        }
        text = (texts["over"] if over else texts["within"]) % values
    else:
        over = bool(budget.max_projects and len(chosen) > budget.max_projects)
        text = texts["count"] % {"count": len(chosen), "most": budget.max_projects or ""}
    return BallotTotal(chosen, cost, heading.amount, text, over)


def ballot_rules(budget: Budget, heading: Heading) -> list[str]:
    """The ballot's rules in plain words, for its hint."""
    rules: list[str] = []
    if budget.ballot_kind == Budget.BallotKind.KNAPSACK:
        rules.append(
            _("Choose projects whose costs add up to no more than %(amount)s.")
            % {"amount": money(heading.amount)}
        )
        if budget.min_share_percent:
            rules.append(
                _("Your choices must add up to at least %(minimum)s.")
                % {"minimum": money(min_spend(budget, heading))}
            )
    least = max(1, budget.min_projects)
    if budget.max_projects and budget.max_projects == least:
        rules.append(
            ngettext("Choose %(count)s project.", "Choose %(count)s projects.", least)
            % {"count": least}
        )
    else:
        if least > 1:
            rules.append(
                ngettext(
                    "Choose at least %(count)s project.",
                    "Choose at least %(count)s projects.",
                    least,
                )
                % {"count": least}
            )
        if budget.max_projects:
            rules.append(
                ngettext(
                    "Choose up to %(count)s project.",
                    "Choose up to %(count)s projects.",
                    budget.max_projects,
                )
                % {"count": budget.max_projects}
            )
    return rules


def min_spend(budget: Budget, heading: Heading) -> Decimal:
    """The least a knapsack ballot of ``heading`` must spend (its minimum share), rounded
    up to the penny: a ballot under the share never passes by rounding."""
    places = Decimal(1).scaleb(-currency_precision())
    share = heading.amount * budget.min_share_percent / 100
    return share.quantize(places, rounding=ROUND_CEILING)


# --- results -----------------------------------------------------------------------------

#: The methods every heading is counted by (Result.method), in the order the results page
#: shows them, with the budget settings each stands for.
METHODS: tuple[tuple[str, str, bool], ...] = (
    ("greedy", Budget.Method.GREEDY, False),
    ("equal_shares", Budget.Method.EQUAL_SHARES, False),
    ("equal_shares_add1", Budget.Method.EQUAL_SHARES, True),
)


def method_key(budget: Budget) -> str:
    """The Result.method of the budget's own counting method."""
    if budget.method == Budget.Method.GREEDY:
        return "greedy"
    return "equal_shares_add1" if budget.completion else "equal_shares"


def method_label(key: str) -> str:
    return {
        "greedy": _("Most votes that still fit (greedy)"),
        "equal_shares": _("Equal shares"),
        "equal_shares_add1": _("Equal shares, completed"),
    }[key]


@dataclass
class ProjectResult:
    project: Project
    votes: int
    chosen: dict[str, bool]
    selected: bool
    #: Whether each method (in the order of the page's columns) chose it.
    marks: list[bool]
    explanation: str


@dataclass
class MethodColumn:
    key: str
    label: str
    own: bool
    money_used: Decimal
    winners: int


@dataclass
class HeadingResults:
    heading: Heading
    ballots: int
    columns: list[MethodColumn]
    rows: list[ProjectResult]
    winners: list[ProjectResult] = field(default_factory=list)


def results_of(budget: Budget) -> list[HeadingResults]:
    """Each heading's results as the results pages show them: every project (feasible ones;
    their votes, which method chose it, and why the budget's method chose it or not) and
    every method's money used, from the stored :class:`Result` rows. A heading not
    counted yet has no rows."""
    own = method_key(budget)
    stored: dict[int, dict[str, Result]] = {}
    for result in Result.objects.filter(heading__budget=budget):
        stored.setdefault(result.heading_id, {})[result.method] = result
    found: list[HeadingResults] = []
    for heading in budget.headings.all():
        results = stored.get(heading.pk, {})
        if own not in results:
            continue
        by_number = {p.number: p for p in on_ballot(heading)}
        columns = [
            MethodColumn(
                key,
                method_label(key),
                key == own,
                Decimal(str(results[key].details.get("money_used", "0"))),
                len(results[key].winners),
            )
            for key, _method, _completion in METHODS
            if key in results
        ]
        details = results[own].details.get("projects", {})
        rows = []
        for number, project in by_number.items():
            data = details.get(str(number), {})
            rows.append(
                ProjectResult(
                    project=project,
                    votes=int(data.get("votes", 0)),
                    chosen={key: number in results[key].winners for key in results},
                    marks=[number in results[column.key].winners for column in columns],
                    selected=number in results[own].winners,
                    explanation=explanation_text(
                        data, method=own, selected=number in results[own].winners
                    ),
                )
            )
        rows.sort(key=lambda row: (-row.votes, row.project.number))
        found.append(
            HeadingResults(
                heading=heading,
                ballots=results[own].ballots,
                columns=columns,
                rows=rows,
                winners=[row for row in rows if row.selected],
            )
        )
    return found


def _amount(value: Any) -> str:
    return money(Decimal(str(value or "0")))


def _votes(votes: int) -> str:
    return ngettext("%(count)s vote", "%(count)s votes", votes) % {"count": votes}


def _supporters(votes: int) -> str:
    return ngettext("%(count)s supporter", "%(count)s supporters", votes) % {"count": votes}


def explanation_text(data: dict[str, Any], *, method: str, selected: bool) -> str:
    """Why a project won or lost under ``method``, in plain words, from its figures in a
    count (``counting.Outcome.as_dict()["projects"][number]``; none for a project nobody
    voted for, which is not a candidate)."""
    votes = int(data.get("votes", 0))
    if votes == 0:
        return _("Not chosen: nobody voted for it.")
    if method == "greedy":
        return _greedy_explanation(data, votes=votes, selected=selected)
    return _shares_explanation(data, votes=votes, selected=selected)


def _greedy_explanation(data: dict[str, Any], *, votes: int, selected: bool) -> str:
    left = _amount((data.get("greedy") or {}).get("money_left"))
    if selected:
        return _("Won: %(votes)s, the most of the projects that still fit the %(money)s left.") % {
            "votes": _votes(votes),
            "money": left,
        }
    return _(
        "Not chosen: %(votes)s. When its turn came, %(money)s was left, less than its cost of "
        "%(cost)s."
    ) % {"votes": _votes(votes), "money": left, "cost": _amount(data.get("cost"))}


def _shares_explanation(data: dict[str, Any], *, votes: int, selected: bool) -> str:
    greedy = data.get("greedy") or {}
    shares = data.get("shares") or {}
    if selected and data.get("stage") == "completion":
        return _(
            "Won in the completion: %(votes)s, the most of the projects that still fit the "
            "%(money)s that equal shares had left unspent."
        ) % {"votes": _votes(votes), "money": _amount(greedy.get("money_left"))}
    if selected:
        return _(
            "Won: its %(supporters)s paid its cost of %(cost)s from their equal shares, at "
            "most %(payment)s each."
        ) % {
            "supporters": _supporters(votes),
            "cost": _amount(data.get("cost")),
            "payment": _amount(shares.get("max_payment")),
        }
    reason = _(
        "Not chosen: the equal shares its %(supporters)s had left came to %(money)s, less "
        "than its cost of %(cost)s."
    ) % {
        "supporters": _supporters(votes),
        "money": _amount(shares.get("supporters_money")),
        "cost": _amount(data.get("cost")),
    }
    if greedy and not greedy.get("fitted"):
        reason += " " + _(
            "The money left over after equal shares, %(money)s, was less than its cost."
        ) % {"money": _amount(greedy.get("money_left"))}
    return reason


# --- counting and Pabulib ----------------------------------------------------------------


def heading_instance(heading: Heading) -> counting.Instance:
    """``heading`` as the counting module counts it: its candidates (named by their
    numbers, costs in the currency's units, as in the Pabulib file), its amount, and its
    ballots (each the set of project numbers it chose), identical ballots counted
    together.

    The candidates are the projects on the ballot that at least one person voted for: a
    project nobody wants is never funded, even when money is left (greedy, and the
    completion of equal shares, would otherwise give the rest of the money to projects in
    the order of their votes, none included)."""
    projects = {
        p.pk: p
        for p in Project.objects.filter(heading=heading, feasibility=Project.Feasibility.FEASIBLE)
    }
    ballots: Counter[frozenset[str]] = Counter(
        frozenset(str(projects[pk].number) for pk in choices if pk in projects)
        for choices in Ballot.objects.filter(heading=heading).values_list("choices", flat=True)
    )
    voted = {number for ballot in ballots for number in ballot}
    return counting.Instance(
        projects={str(p.number): p.cost for p in projects.values() if str(p.number) in voted},
        budget=heading.amount,
        ballots=ballots,
    )


def heading_count(heading: Heading, key: str) -> counting.Outcome:
    """``heading`` counted by the method ``key`` of :data:`METHODS`. Reads only."""
    method, completion = next((m, c) for k, m, c in METHODS if k == key)
    return counting.count(
        heading_instance(heading),
        counting.GREEDY if method == Budget.Method.GREEDY else counting.EQUAL_SHARES,
        completion=completion,
    )


def _pabulib_rule(heading: Heading, key: str, stored: Result | None) -> tuple[str, str]:
    """The Pabulib ``rule`` and ``comment`` of ``heading``'s count by ``key``: read from
    the stored count when there is one (a public download must not count again), else
    counted now."""
    from ecitizen.participation.pabulib import pabulib_rule, pabulib_rule_of

    if stored is None:
        return pabulib_rule(heading_count(heading, key))
    details = stored.details
    amounts = [details["budget"], *(p["cost"] for p in details["projects"].values())]
    return pabulib_rule_of(
        method=details["method"],
        completion=details["completion"],
        whole=all(Decimal(amount) == Decimal(amount).to_integral_value() for amount in amounts),
        tied=any((p.get("shares") or {}).get("tied_with") for p in details["projects"].values()),
    )


@dataclass(frozen=True)
class PabulibFile:
    text: str
    voters: int
    projects: int


def pabulib_text(*, budget: Budget, heading: Heading | None = None) -> PabulibFile:
    """The ballots of ``budget`` as a Pabulib file (https://pabulib.org/format): the
    projects counted (on the ballot and voted for, as in :func:`heading_instance`: id =
    number, cost, votes, name; the heading as ``neighborhood`` in a file of several;
    ``selected`` once the results are counted),
    and every voter's approvals. With ``heading``, that heading's instance (its amount the
    budget); without, the whole budget as one instance (the total the budget), each
    person's choices across the headings merged into one vote.

    The ``rule`` is the one Pabulib names for the budget's counting method when its
    tools count it exactly as we did (``pabulib.pabulib_rule``), else "unknown" with a
    comment that says the rule; a file of several headings says each was counted on its
    own. Anonymised by ``pabulib.pabulib_votes``: voters numbered in the order of what
    they chose, no person key written. Reads only."""
    from ecitizen.participation.pabulib import pabulib_dump, pabulib_votes

    process = budget.process
    everything = list(budget.headings.all())
    headings = [heading] if heading is not None else everything
    on_ballot = [
        p
        for h in headings
        for p in Project.objects.filter(
            heading=h, feasibility=Project.Feasibility.FEASIBLE
        ).order_by("number")
    ]
    number_of = {p.pk: p.number for p in on_ballot}
    merged: dict[str, set[int]] = {}
    channels: dict[str, str] = {}
    for key, choices, channel in Ballot.objects.filter(heading__in=headings).values_list(
        "person_key", "choices", "channel"
    ):
        merged.setdefault(key, set()).update(number_of[pk] for pk in choices if pk in number_of)
        channels[key] = "paper" if channel == Channel.PAPER else "internet"
    people = [key for key, numbers in merged.items() if numbers]
    # The instance counted: the projects someone voted for (see heading_instance).
    voted = {number for numbers in merged.values() for number in numbers}
    projects = [p for p in on_ballot if p.number in voted]
    votes = pabulib_votes(
        [{str(number) for number in merged[key]} for key in people],
        channels=[channels[key] for key in people] if heading is not None else None,
    )

    own = method_key(budget)
    counted = {r.heading_id: r for r in Result.objects.filter(heading__in=headings, method=own)}
    winners = (
        {n for r in counted.values() for n in r.winners} if len(counted) == len(headings) else None
    )
    if len(headings) == 1:
        rule, comment = _pabulib_rule(headings[0], own, counted.get(headings[0].pk))
    else:
        _rule, each = (
            _pabulib_rule(headings[0], own, counted.get(headings[0].pk)) if headings else ("", "")
        )
        rule = "unknown"
        comment = (
            "#1: Each heading (neighborhood) is counted on its own, with its own budget: "
            + each.removeprefix("#1: ")
        )
    phases = [p for p in process.phases.all() if p.kind == Phase.Kind.VOTE]
    wards = [h for h in everything if h.ward_id is not None]
    general = [h for h in everything if h.ward_id is None]
    meta: dict[str, Any] = {
        "description": f"{process.title}: {heading.name}" if heading else process.title,
        "country": _country_name(),
        "unit": settings.AUTHORITY_NAME,
        "instance": str(min(p.starts_on for p in phases).year) if phases else "unknown",
        "budget": heading.amount if heading is not None else budget.total_amount,
        "vote_type": "approval",
        "rule": rule,
        "date_begin": min((p.starts_on for p in phases), default=None),
        "date_end": max((p.ends_on for p in phases), default=None),
        "min_length": max(1, budget.min_projects),
        "language": settings.LANGUAGE_CODE.split("-")[0],
        "currency": settings.CURRENCY,
        "comment": comment,
    }
    if heading is not None:
        meta["subunit"] = heading.name
    elif len(headings) > 1:
        meta["neighborhoods"] = [h.name.replace(",", " ") for h in headings]
    if budget.max_projects:
        # One heading: its most; the whole budget: a person votes in every heading of the
        # whole authority and in one ward's.
        per_person = 1 if heading is not None else len(general) + (1 if wards else 0)
        meta["max_length"] = budget.max_projects * per_person
    if budget.ballot_kind == Budget.BallotKind.KNAPSACK:
        if heading is not None:
            if budget.min_share_percent:
                meta["min_sum_cost"] = min_spend(budget, heading)
            meta["max_sum_cost"] = heading.amount
        else:
            meta["max_sum_cost"] = sum((h.amount for h in general), ZERO) + max(
                (h.amount for h in wards), default=ZERO
            )
    names = {h.pk: h.name for h in headings}
    rows = [
        {
            "project_id": str(p.number),
            "cost": p.cost,
            "name": p.title,
            **({"selected": int(p.number in winners)} if winners is not None else {}),
            **({"neighborhood": names[p.heading_id]} if heading is None else {}),
        }
        for p in projects
    ]
    text = pabulib_dump(
        meta={k: v for k, v in meta.items() if v is not None}, projects=rows, votes=votes
    )
    return PabulibFile(text=text, voters=len(votes), projects=len(projects))


def _country_name() -> str:
    """The authority's country in English, as Pabulib files name it ("United Kingdom"),
    from the country its public holidays are those of."""
    from babel import Locale

    code = str(getattr(settings, "HOLIDAY_COUNTRY", "") or "")
    return str(Locale("en").territories.get(code.upper(), "Worldwide"))


# --- staff: the remit --------------------------------------------------------------------


def budget_for_staff_or_404(
    *, user: Any, slug: str, capability: str
) -> tuple[Process, Budget | None]:
    """The process ``slug`` within the user's remit for ``capability`` (404 outside it, as
    for a process that does not exist) and its budget, if it has one yet, with its
    headings and their projects."""
    process = process_for_staff(user=user, slug=slug, capability=capability)
    budget = (
        Budget.objects.filter(process=process)
        .prefetch_related(
            Prefetch(
                "headings",
                queryset=Heading.objects.select_related("ward").prefetch_related(
                    Prefetch(
                        "projects",
                        queryset=Project.objects.select_related("department").order_by("number"),
                    )
                ),
            ),
        )
        .first()
    )
    if budget is not None:
        budget.process = process
    return process, budget


def project_for_staff_or_404(*, user: Any, slug: str, number: int, capability: str) -> Project:
    """Project ``number`` of the budget of process ``slug`` when the user's remit for
    ``capability`` covers the project's department (and its heading's ward; a heading of
    the whole authority: an assignment without a ward limit); 404 otherwise."""
    project = (
        Project.objects.filter(heading__budget__process__slug=slug, number=number)
        .select_related(
            "heading",
            "heading__ward",
            "heading__budget",
            "heading__budget__process",
            "department",
        )
        .prefetch_related(
            "heading__budget__process__phases",
            Prefetch("milestones", queryset=Milestone.objects.order_by("happened_on", "id")),
        )
        .first()
    )
    if project is None or not remit_covers(
        user, capability, departments=project.department_id, ward_id=project.heading.ward_id
    ):
        raise Http404
    return project


def projects_for_staff(*, user: Any, capability: str) -> QuerySet[Project]:
    """The projects within the user's remit for ``capability`` (their department and their
    heading's ward), waiting for review first, then the selected ones being delivered."""
    return (
        Project.objects.filter(
            remit_filter(
                user, capability, department_field="department", ward_field="heading__ward"
            )
        )
        .exclude(heading__budget__process__status=Process.Status.ARCHIVED)
        .select_related("heading", "heading__budget__process", "department")
        .order_by("heading__budget__process__slug", "number")
    )


def proposals_for_projects(process: Process) -> list[Proposal]:
    """The process's accepted proposals that are not projects yet."""
    return list(
        Proposal.objects.filter(
            process=process,
            answer=Proposal.Answer.ACCEPTED,
            status=Proposal.Status.PUBLISHED,
            project__isnull=True,
        ).order_by("reference")
    )


@dataclass(frozen=True)
class HeadingCounts:
    """A heading's ballots, in aggregate: how many, how many on paper, and how many
    people voted both online and on paper (the later one counts)."""

    heading: Heading
    ballots: int
    paper: int
    doubles: int


def ballot_counts(budget: Budget) -> list[HeadingCounts]:
    """Counts of each heading's ballots (never a ballot itself)."""
    rows = {
        row["heading_id"]: row
        for row in Ballot.objects.filter(heading__budget=budget)
        .values("heading_id")
        .annotate(
            total=Count("id"),
            paper=Count("id", filter=Q(channel=Channel.PAPER)),
            doubles=Count(
                "id",
                filter=~Q(replaced_channel="")
                & (
                    Q(channel=Channel.PAPER, replaced_channel__in=[Channel.ONLINE, Channel.CENSUS])
                    | Q(
                        channel__in=[Channel.ONLINE, Channel.CENSUS],
                        replaced_channel=Channel.PAPER,
                    )
                ),
            ),
        )
    }
    return [
        HeadingCounts(
            heading,
            rows.get(heading.pk, {}).get("total", 0),
            rows.get(heading.pk, {}).get("paper", 0),
            rows.get(heading.pk, {}).get("doubles", 0),
        )
        for heading in budget.headings.all()
    ]


def feasibility_counts(budget: Budget) -> Counter[str]:
    """How many of the budget's projects are in each feasibility state."""
    return Counter(
        project.feasibility
        for heading in budget.headings.all()
        for project in heading.projects.all()
    )
