"""Writes of participatory budgets: the budget's settings and headings, projects (from
staff or from an accepted proposal) and their feasibility review, ballots, the count and
the publication of results, delivery milestones, and the Pabulib export.

**Ballots.** One per person and heading (a unique constraint on (heading, person key)); a
new ballot replaces the earlier one while the vote is open, and the last one counts. A
person votes in the headings of the whole authority and in one ward's heading: their own
ward's online (the pages check the profile), any one ward's with a census code or on
paper (:func:`ballot_cast` refuses a second ward's). Nothing of a ballot's choices reaches
the audit trail: it records that a person voted in a heading, not how.

**Frozen once voting starts.** A heading with ballots keeps its amount and its projects'
costs and feasibility, and the ballot's rules (kind, numbers of projects, minimum share)
stay as they were once any heading has ballots: a ballot is judged by the rules it was
cast under. The counting method may change until the results are published.

**Results.** :func:`results_compute` counts every heading by every method of
:data:`~ecitizen.participation.selectors.budgets.METHODS` once the vote has closed and
keeps each count (:class:`Result`); :func:`results_publish` marks the winners of the
budget's own method as selected and tells the followers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.core.services import audit_record
from ecitizen.core.tasks import enqueue_with_change
from ecitizen.participation import counting
from ecitizen.participation.models import (
    Ballot,
    Budget,
    Heading,
    Milestone,
    Process,
    Project,
    Proposal,
    Result,
    Target,
)
from ecitizen.participation.selectors.budgets import (
    METHODS,
    heading_instance,
    method_key,
    min_spend,
    money,
    pabulib_text,
    vote_closed_message,
    vote_window,
)
from ecitizen.participation.services.common import ParticipationError
from ecitizen.payments.money import currency_precision

logger = logging.getLogger(__name__)

ZERO = Decimal("0")

# --- the budget and its headings ---------------------------------------------------------


@dataclass(frozen=True)
class BudgetSettings:
    """What the organiser sets: the total, the ballot's kind and rules, the counting
    method (``completion``: equal shares completed so that money is not left unspent)."""

    total_amount: Decimal
    ballot_kind: str
    min_projects: int = 1
    max_projects: int | None = None
    min_share_percent: int = 0
    method: str = Budget.Method.EQUAL_SHARES
    completion: bool = True


#: What voters were told before they voted: how they vote, and how their ballots are
#: counted (a method chosen after seeing every method's winners would choose the winners).
_RULE_FIELDS = (
    "ballot_kind",
    "min_projects",
    "max_projects",
    "min_share_percent",
    "method",
    "completion",
)


def _settings_check(settings: BudgetSettings) -> None:
    if settings.ballot_kind not in Budget.BallotKind.values:
        raise ParticipationError(_("Choose the kind of ballot."), code="invalid_settings")
    if settings.method not in Budget.Method.values:
        raise ParticipationError(_("Choose how the votes are counted."), code="invalid_settings")
    if settings.total_amount <= ZERO:
        raise ParticipationError(_("Enter an amount of more than 0."), code="invalid_amount")
    if settings.max_projects is not None and settings.max_projects < max(1, settings.min_projects):
        raise ParticipationError(
            _("The most projects a ballot may choose cannot be fewer than the least."),
            code="invalid_settings",
        )
    if settings.ballot_kind == Budget.BallotKind.APPROVAL and not settings.max_projects:
        raise ParticipationError(
            _("An approval ballot needs the most projects a person may choose."),
            code="invalid_settings",
        )
    if not 0 <= settings.min_share_percent <= 100:
        raise ParticipationError(
            _("The minimum share is a number from 0 to 100."), code="invalid_settings"
        )
    if settings.min_share_percent and settings.ballot_kind != Budget.BallotKind.KNAPSACK:
        raise ParticipationError(
            _("Only a knapsack ballot can ask for a minimum share of the budget."),
            code="invalid_settings",
        )


def _locked_budget(budget: Budget) -> Budget:
    """The budget's row, locked (its process read along, not locked)."""
    return (
        Budget.objects.select_for_update(of=("self",)).select_related("process").get(pk=budget.pk)
    )


def _published_refuse(budget: Budget) -> None:
    if budget.results_published_at is not None:
        raise ParticipationError(
            _("The results are published: the budget can no longer change."),
            code="results_published",
        )


@transaction.atomic
def budget_create(*, process: Process, settings: BudgetSettings, actor: Any) -> Budget:
    """Give ``process`` its budget (one per process). Audited."""
    _settings_check(settings)
    if Budget.objects.filter(process=process).exists():
        raise ParticipationError(_("This process already has a budget."), code="budget_exists")
    budget = Budget.objects.create(
        process=process,
        total_amount=settings.total_amount,
        ballot_kind=settings.ballot_kind,
        min_projects=settings.min_projects,
        max_projects=settings.max_projects,
        min_share_percent=settings.min_share_percent,
        method=settings.method,
        completion=settings.completion,
    )
    audit_record(
        action="participation.budget.create",
        actor=actor,
        obj=budget,
        changes={"process": process.slug, **_settings_audit(settings)},
    )
    return budget


def _settings_audit(settings: BudgetSettings) -> dict[str, Any]:
    return {
        "total_amount": str(settings.total_amount),
        "ballot_kind": settings.ballot_kind,
        "min_projects": settings.min_projects,
        "max_projects": settings.max_projects,
        "min_share_percent": settings.min_share_percent,
        "method": settings.method,
        "completion": settings.completion,
    }


@transaction.atomic
def budget_update(*, budget: Budget, settings: BudgetSettings, actor: Any) -> Budget:
    """Change the budget's settings. Refused once the results are published; the ballot's
    rules and the counting method are refused too once any ballot was cast (code
    ``ballots_exist``), and a total
    below the headings' amounts (code ``headings_over_total``). Audited with what changed."""
    _settings_check(settings)
    budget = _locked_budget(budget)
    _published_refuse(budget)
    before = {
        "total_amount": budget.total_amount,
        "ballot_kind": budget.ballot_kind,
        "min_projects": budget.min_projects,
        "max_projects": budget.max_projects,
        "min_share_percent": budget.min_share_percent,
        "method": budget.method,
        "completion": budget.completion,
    }
    after = {
        "total_amount": settings.total_amount,
        "ballot_kind": settings.ballot_kind,
        "min_projects": settings.min_projects,
        "max_projects": settings.max_projects,
        "min_share_percent": settings.min_share_percent,
        "method": settings.method,
        "completion": settings.completion,
    }
    changed = {name for name in after if after[name] != before[name]}
    if changed & set(_RULE_FIELDS) and Ballot.objects.filter(heading__budget=budget).exists():
        raise ParticipationError(
            _("People have voted: the ballot's rules can no longer change."),
            code="ballots_exist",
        )
    headings_total = budget.headings.aggregate(total=Sum("amount"))["total"] or ZERO
    if settings.total_amount < headings_total:
        raise ParticipationError(
            _("The total cannot be less than the headings' amounts, %(amount)s.")
            % {"amount": money(headings_total)},
            code="headings_over_total",
        )
    for name in changed:
        setattr(budget, name, after[name])
    budget.save(update_fields=sorted(changed) or None)
    audit_record(
        action="participation.budget.update",
        actor=actor,
        obj=budget,
        changes={
            name: {"before": str(before[name]), "after": str(after[name])} for name in changed
        },
    )
    return budget


@dataclass(frozen=True)
class HeadingFields:
    """A heading's name, address name (``slug``), ward (``None``: the whole authority),
    amount and names in other languages (``translations``)."""

    slug: str
    name: str
    amount: Decimal
    ward: Any = None
    translations: dict[str, Any] | None = None


def _heading_amount_check(budget: Budget, amount: Decimal, *, without: Heading | None) -> None:
    if amount <= ZERO:
        raise ParticipationError(_("Enter an amount of more than 0."), code="invalid_amount")
    others = budget.headings.all()
    if without is not None:
        others = others.exclude(pk=without.pk)
    used = others.aggregate(total=Sum("amount"))["total"] or ZERO
    if used + amount > budget.total_amount:
        raise ParticipationError(
            _("The headings would add up to more than the budget's %(total)s: %(left)s is left.")
            % {"total": money(budget.total_amount), "left": money(budget.total_amount - used)},
            code="headings_over_total",
        )


@transaction.atomic
def heading_add(*, budget: Budget, fields: HeadingFields, actor: Any) -> Heading:
    """Add a heading to the budget. The headings' amounts may not exceed the budget's total
    (code ``headings_over_total``); an address name is used once (``heading_exists``).
    Audited."""
    budget = _locked_budget(budget)
    _published_refuse(budget)
    _heading_amount_check(budget, fields.amount, without=None)
    if budget.headings.filter(slug=fields.slug).exists():
        raise ParticipationError(
            _("Another heading of this budget has this address name."), code="heading_exists"
        )
    heading = Heading.objects.create(
        budget=budget,
        slug=fields.slug,
        name=fields.name,
        ward=fields.ward,
        amount=fields.amount,
        translations=fields.translations or {},
    )
    audit_record(
        action="participation.heading.add",
        actor=actor,
        obj=heading,
        changes={
            "slug": heading.slug,
            "name": heading.name,
            "amount": str(heading.amount),
            "ward": heading.ward_id,
        },
    )
    return heading


@transaction.atomic
def heading_update(*, heading: Heading, fields: HeadingFields, actor: Any) -> Heading:
    """Change a heading's name, ward or amount (its address name stays). A heading with
    ballots keeps its amount and ward (code ``ballots_exist``). Audited."""
    budget = _locked_budget(heading.budget)
    _published_refuse(budget)
    heading = Heading.objects.select_for_update().get(pk=heading.pk)
    ward_id = getattr(fields.ward, "pk", None)
    if (fields.amount != heading.amount or ward_id != heading.ward_id) and heading.ballots.exists():
        raise ParticipationError(
            _("People have voted in this heading: its amount and ward can no longer change."),
            code="ballots_exist",
        )
    _heading_amount_check(budget, fields.amount, without=heading)
    dearest = heading.projects.exclude(feasibility=Project.Feasibility.NOT_FEASIBLE).aggregate(
        cost=Max("cost")
    )["cost"]
    if dearest is not None and dearest > fields.amount:
        raise ParticipationError(
            _("A project of this heading costs %(cost)s, more than the amount.")
            % {"cost": money(dearest)},
            code="cost_over_heading",
        )
    before = {"name": heading.name, "amount": str(heading.amount), "ward": heading.ward_id}
    heading.name = fields.name
    heading.amount = fields.amount
    heading.ward = fields.ward
    if fields.translations is not None:
        heading.translations = fields.translations
    heading.save()
    after = {"name": heading.name, "amount": str(heading.amount), "ward": heading.ward_id}
    audit_record(
        action="participation.heading.update",
        actor=actor,
        obj=heading,
        changes={
            k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]
        },
    )
    return heading


# --- projects ----------------------------------------------------------------------------


def _heading_frozen_refuse(heading: Heading) -> None:
    if heading.ballots.exists():
        raise ParticipationError(
            _("People have voted in this heading: its projects can no longer change."),
            code="ballots_exist",
        )


def _cost_check(heading: Heading, cost: Decimal) -> None:
    """A project's cost is more than zero and fits its heading's amount (a project that
    costs more than the heading could never be chosen)."""
    if cost <= ZERO:
        raise ParticipationError(_("Enter a cost of more than 0."), code="invalid_amount")
    if cost > heading.amount:
        raise ParticipationError(
            _("The cost is more than the heading's %(amount)s: the project could never be chosen.")
            % {"amount": money(heading.amount)},
            code="cost_over_heading",
        )


def _next_number(budget: Budget) -> int:
    """The next project number of the budget (numbers run across its headings, so that a
    number names one project of the budget: the Pabulib project id). The caller holds the
    budget's row lock."""
    last = Project.objects.filter(heading__budget=budget).aggregate(last=Max("number"))["last"]
    return (last or 0) + 1


@transaction.atomic
def project_add(
    *,
    heading: Heading,
    title: str,
    description: str,
    department: Any,
    cost: Decimal,
    proposal: Proposal | None = None,
    translations: dict[str, Any] | None = None,
    actor: Any,
) -> Project:
    """Put a project in ``heading``, numbered next in the budget, waiting for its
    feasibility review. Refused once the heading has ballots, or the results are
    published. Audited."""
    budget = _locked_budget(heading.budget)
    _published_refuse(budget)
    _heading_frozen_refuse(heading)
    _cost_check(heading, cost)
    if proposal is not None and Project.objects.filter(proposal=proposal).exists():
        raise ParticipationError(
            _("This proposal is already a project."), code="proposal_already_project"
        )
    project = Project.objects.create(
        heading=heading,
        number=_next_number(budget),
        title=title,
        description=description,
        department=department,
        cost=cost,
        proposal=proposal,
        translations=translations or {},
    )
    audit_record(
        action="participation.project.add",
        actor=actor,
        obj=project,
        changes={
            "heading": heading.slug,
            "number": project.number,
            "title": project.title,
            "cost": str(project.cost),
            "department": project.department_id,
            "proposal": proposal.reference if proposal else None,
        },
    )
    return project


@transaction.atomic
def project_from_proposal(
    *,
    proposal: Proposal,
    heading: Heading,
    department: Any,
    cost: Decimal,
    actor: Any,
) -> Project:
    """Make an accepted proposal of the budget's process a project of ``heading``: its
    title, description and translations are the proposal's (code ``proposal_not_accepted``
    for one not accepted, ``proposal_elsewhere`` for another process's)."""
    if proposal.process_id != heading.budget.process_id:
        raise ParticipationError(
            _("This proposal belongs to another process."), code="proposal_elsewhere"
        )
    if proposal.answer != Proposal.Answer.ACCEPTED or proposal.status != Proposal.Status.PUBLISHED:
        raise ParticipationError(
            _("Only an accepted proposal can become a project."), code="proposal_not_accepted"
        )
    return project_add(
        heading=heading,
        title=proposal.title,
        description=proposal.description,
        department=department,
        cost=cost,
        proposal=proposal,
        translations={
            language: {k: v for k, v in texts.items() if k in {"title", "description"}}
            for language, texts in (proposal.translations or {}).items()
            if isinstance(texts, dict)
        },
        actor=actor,
    )


@transaction.atomic
def project_review(
    *,
    project: Project,
    feasibility: str,
    reason: str = "",
    cost: Decimal | None = None,
    actor: Any,
) -> Project:
    """The department's feasibility review: feasible (at ``cost`` when the review revised
    it: the first cost is kept in ``original_cost``), or not feasible with a ``reason``
    (code ``reason_required``). Refused once the heading has ballots. Audited."""
    budget = _locked_budget(project.heading.budget)
    _published_refuse(budget)
    project = (
        Project.objects.select_for_update(of=("self",)).select_related("heading").get(pk=project.pk)
    )
    _heading_frozen_refuse(project.heading)
    if feasibility not in {Project.Feasibility.FEASIBLE, Project.Feasibility.NOT_FEASIBLE}:
        raise ParticipationError(_("Say whether the project is feasible."), code="invalid_review")
    reason = reason.strip()
    if feasibility == Project.Feasibility.NOT_FEASIBLE and not reason:
        raise ParticipationError(
            _("Say why the project is not feasible: residents read the reason."),
            code="reason_required",
        )
    if cost is not None:
        _cost_check(project.heading, cost)
    elif feasibility == Project.Feasibility.FEASIBLE:
        _cost_check(project.heading, project.cost)
    before = {"feasibility": project.feasibility, "cost": str(project.cost)}
    if cost is not None and cost != project.cost and feasibility == Project.Feasibility.FEASIBLE:
        if project.original_cost is None:
            project.original_cost = project.cost
        project.cost = cost
        if project.cost == project.original_cost:
            project.original_cost = None
    project.feasibility = feasibility
    project.feasibility_reason = reason
    project.reviewed_at = timezone.now()
    project.reviewed_by = actor
    project.save()
    audit_record(
        action="participation.project.review",
        actor=actor,
        obj=project,
        changes={
            "feasibility": {"before": before["feasibility"], "after": project.feasibility},
            "cost": {"before": before["cost"], "after": str(project.cost)},
            "reason": reason,
        },
    )
    return project


@transaction.atomic
def milestone_add(
    *,
    project: Project,
    title: str,
    description: str,
    happened_on: Any,
    actor: Any,
) -> Milestone:
    """Publish a step of a selected project's delivery (code ``not_selected`` for a project
    the results did not select). Audited."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    if not project.selected:
        raise ParticipationError(
            _("Only a project the vote selected has a delivery to report."), code="not_selected"
        )
    milestone = Milestone.objects.create(
        project=project,
        title=title,
        description=description,
        happened_on=happened_on,
        created_by=actor,
    )
    audit_record(
        action="participation.milestone.add",
        actor=actor,
        obj=milestone,
        changes={"project": project.number, "title": title, "happened_on": str(happened_on)},
    )
    return milestone


@transaction.atomic
def delivery_set(*, project: Project, delivery: str, actor: Any) -> Project:
    """Set a selected project's delivery status (code ``not_selected`` otherwise).
    Audited."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    if not project.selected:
        raise ParticipationError(
            _("Only a project the vote selected has a delivery to report."), code="not_selected"
        )
    if delivery not in Project.Delivery.values:
        raise ParticipationError(_("Choose the project's delivery status."), code="invalid_status")
    before = project.delivery
    project.delivery = delivery
    project.save(update_fields=["delivery"])
    audit_record(
        action="participation.project.delivery",
        actor=actor,
        obj=project,
        changes={"delivery": {"before": before, "after": delivery}},
    )
    return project


# --- ballots -----------------------------------------------------------------------------


def ballot_validate(*, heading: Heading, project_ids: list[int]) -> list[Project]:
    """The projects of a ballot choosing ``project_ids`` in ``heading``, when they make a
    valid ballot under the budget's rules; else :class:`ParticipationError` with the first
    rule broken: ``duplicate_project``, ``unknown_project`` (not in this heading),
    ``project_not_feasible``, ``too_few_projects``, ``too_many_projects``, ``over_budget``
    (knapsack: the costs exceed the heading's amount), ``under_min_share`` (knapsack: they
    fall short of its minimum share). Reads only; the vote's dates are not checked here."""
    budget = heading.budget
    if len(set(project_ids)) != len(project_ids):
        raise ParticipationError(
            _("A project was chosen twice. Choose each project once."), code="duplicate_project"
        )
    projects = {p.pk: p for p in Project.objects.filter(heading=heading, pk__in=project_ids)}
    if len(projects) != len(project_ids):
        raise ParticipationError(
            _("A project you chose is not on this ballot. Choose from the projects listed."),
            code="unknown_project",
        )
    chosen = [projects[pk] for pk in project_ids]
    for project in chosen:
        if project.feasibility != Project.Feasibility.FEASIBLE:
            raise ParticipationError(
                _("“%(title)s” is not on the ballot: it was not found feasible.")
                % {"title": project.tr("title")},
                code="project_not_feasible",
            )
    least = max(1, budget.min_projects)
    if len(chosen) < least:
        raise ParticipationError(
            ngettext(
                "Choose at least %(count)s project.", "Choose at least %(count)s projects.", least
            )
            % {"count": least},
            code="too_few_projects",
        )
    if budget.max_projects and len(chosen) > budget.max_projects:
        raise ParticipationError(
            ngettext(
                "Choose no more than %(count)s project: you chose %(chosen)s.",
                "Choose no more than %(count)s projects: you chose %(chosen)s.",
                budget.max_projects,
            )
            % {"count": budget.max_projects, "chosen": len(chosen)},
            code="too_many_projects",
        )
    if budget.ballot_kind == Budget.BallotKind.KNAPSACK:
        total = sum((p.cost for p in chosen), ZERO)
        if total > heading.amount:
            raise ParticipationError(
                _(
                    "The projects you chose cost %(total)s, more than the %(amount)s to spend. "
                    "Take out projects worth at least %(over)s."
                )
                % {
                    "total": money(total),
                    "amount": money(heading.amount),
                    "over": money(total - heading.amount),
                },
                code="over_budget",
            )
        minimum = min_spend(budget, heading)
        if total < minimum:
            raise ParticipationError(
                _(
                    "The projects you chose cost %(total)s: choose projects worth at least "
                    "%(minimum)s of the %(amount)s."
                )
                % {
                    "total": money(total),
                    "minimum": money(minimum),
                    "amount": money(heading.amount),
                },
                code="under_min_share",
            )
    return sorted(chosen, key=lambda p: p.number)


@transaction.atomic
def ballot_cast(
    *,
    heading: Heading,
    project_ids: list[int],
    person_key: str,
    channel: str,
    entered_by: Any = None,
    actor: Any,
) -> Ballot:
    """Cast the ballot of the person ``person_key`` in ``heading`` (online, with a census
    code, or on paper entered by ``entered_by``), replacing their earlier one there:
    ``changes`` counts the replacements and ``replaced_channel`` says what the last one
    replaced.

    Refused (:class:`ParticipationError`, nothing written) when the vote is not open
    (``vote_closed``: no vote phase under way, or the results published), when the
    choices break the rules (:func:`ballot_validate`'s codes), and when the person
    already voted in another ward's heading of the budget (``other_heading``).

    Concurrency: the budget's row is locked for the transaction (two ballots of one person
    in two ward headings at once cannot both pass the check), and the unique constraint
    keeps one ballot per person and heading when two first ballots race: the loser
    replaces the winner's. Audited without the choices or the person's key.
    """
    budget = Budget.objects.select_for_update().get(pk=heading.budget_id)
    process = Process.objects.prefetch_related("phases").get(pk=budget.process_id)
    heading = Heading.objects.get(pk=heading.pk)
    heading.budget = budget
    window = vote_window(process)
    if not window.open or budget.results_published_at is not None:
        raise ParticipationError(vote_closed_message(budget, window), code="vote_closed")
    chosen = ballot_validate(heading=heading, project_ids=list(project_ids))
    if heading.ward_id is not None:
        elsewhere = (
            Ballot.objects.filter(
                heading__budget=budget, heading__ward__isnull=False, person_key=person_key
            )
            .exclude(heading=heading)
            .select_related("heading")
            .first()
        )
        if elsewhere is not None:
            raise ParticipationError(
                _(
                    "You have already voted in %(heading)s: a person votes in one ward's part "
                    "of the budget. You can change that vote instead."
                )
                % {"heading": elsewhere.heading.tr("name")},
                code="other_heading",
            )
    choices = [p.pk for p in chosen]
    ballot = (
        Ballot.objects.select_for_update().filter(heading=heading, person_key=person_key).first()
    )
    created = False
    if ballot is None:
        try:
            with transaction.atomic():
                ballot = Ballot.objects.create(
                    heading=heading,
                    person_key=person_key,
                    channel=channel,
                    choices=choices,
                    entered_by=entered_by,
                )
            created = True
        except IntegrityError:
            # The same person's first ballot, cast at the same moment (a double click, a
            # paper entry as they vote online), won the race: this one replaces it.
            ballot = Ballot.objects.select_for_update().get(heading=heading, person_key=person_key)
    if not created:
        ballot.replaced_channel = ballot.channel
        ballot.changes += 1
        ballot.channel = channel
        ballot.choices = choices
        ballot.entered_by = entered_by
        ballot.cast_at = timezone.now()
        ballot.save(
            update_fields=[
                "replaced_channel",
                "changes",
                "channel",
                "choices",
                "entered_by",
                "cast_at",
            ]
        )
    audit_record(
        action="participation.ballot.cast",
        actor=actor,
        obj=heading,
        changes={"channel": channel, "replaced": not created},
    )
    return ballot


# --- results -----------------------------------------------------------------------------

#: A count asked for this long ago and still not done is taken for lost (its worker
#: died, and the task's retries with it): asking again starts another.
COUNT_STALE_AFTER = timedelta(hours=1)


def _count_refusal_raise(budget: Budget) -> None:
    """Raise when ``budget`` cannot be counted now: published (``results_published``),
    the vote open (``vote_open``) or never held (``vote_not_held``)."""
    _published_refuse(budget)
    process = Process.objects.prefetch_related("phases").get(pk=budget.process_id)
    window = vote_window(process)
    if window.open:
        raise ParticipationError(
            _("The vote is still open: the ballots are counted once it has closed."),
            code="vote_open",
        )
    if window.closes_on is None:
        raise ParticipationError(
            _("No vote has been held yet: there is nothing to count."), code="vote_not_held"
        )


def counting_now(budget: Budget) -> bool:
    """Whether a count of ``budget`` asked for is still running (not stale)."""
    since = budget.counting_since
    return since is not None and timezone.now() - since < COUNT_STALE_AFTER


@transaction.atomic
def results_count_request(*, budget: Budget, actor: Any) -> Budget:
    """Ask a worker to count ``budget`` (:func:`results_compute`, by
    ``tasks.results_count_task``, queued with this change): equal shares' completion can take
    minutes where there are few ballots. Sets ``counting_since``; asking again while a
    count runs changes nothing. Refused as :func:`results_compute` refuses. Audited."""
    budget = _locked_budget(budget)
    _count_refusal_raise(budget)
    if counting_now(budget):
        return budget
    budget.counting_since = timezone.now()
    budget.save(update_fields=["counting_since"])
    audit_record(action="participation.results.count_request", actor=actor, obj=budget)
    from ecitizen.participation import tasks

    enqueue_with_change(tasks.results_count_task, budget.pk, getattr(actor, "pk", None))
    return budget


def results_count_run(*, budget_id: int, actor_id: int | None) -> None:
    """The worker's count (see :func:`results_count_request`): :func:`results_compute`
    with the official who asked as its actor. When the budget can no longer be counted
    (published, or its vote reopened meanwhile), the request is dropped: logged, and
    audited with the refusal's code."""
    from ecitizen.accounts.models import User

    budget = Budget.objects.filter(pk=budget_id).first()
    if budget is None:
        return
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    try:
        results_compute(budget=budget, actor=actor)
    except ParticipationError as refused:
        with transaction.atomic():
            Budget.objects.filter(pk=budget_id).update(counting_since=None)
            audit_record(
                action="participation.results.count_dropped",
                actor=None,
                obj=budget,
                changes={"reason": refused.code},
            )
        logger.warning("count of budget %s dropped: %s", budget_id, refused.code)


@transaction.atomic
def results_compute(*, budget: Budget, actor: Any) -> list[Result]:
    """Count every heading of ``budget`` by every method (greedy, equal shares, equal
    shares completed) and keep each count as a :class:`Result` (the winners' numbers, the
    ballots counted, the count's figures); counting again replaces them with the same
    (idempotent). Refused while the vote is open (``vote_open``: no running results, even
    for officials), before any vote phase ended (``vote_not_held``), and once the results
    are published (``results_published``). Audited."""
    budget = _locked_budget(budget)
    _count_refusal_raise(budget)
    places = currency_precision()
    results: list[Result] = []
    for heading in budget.headings.order_by("slug"):
        instance = heading_instance(heading)
        for key, method, completion in METHODS:
            outcome = counting.count(
                instance,
                counting.GREEDY if method == Budget.Method.GREEDY else counting.EQUAL_SHARES,
                completion=completion,
            )
            result, _created = Result.objects.update_or_create(
                heading=heading,
                method=key,
                defaults={
                    "computed_at": timezone.now(),
                    "ballots": outcome.ballots,
                    "winners": [int(name) for name in outcome.winners],
                    "details": outcome.as_dict(places=places),
                },
            )
            results.append(result)
    if budget.counting_since is not None:
        budget.counting_since = None
        budget.save(update_fields=["counting_since"])
    audit_record(
        action="participation.results.compute",
        actor=actor,
        obj=budget,
        changes={
            "headings": budget.headings.count(),
            "ballots": sum(r.ballots for r in results if r.method == METHODS[0][0]),
        },
    )
    return results


@transaction.atomic
def results_publish(*, budget: Budget, actor: Any) -> Budget:
    """Publish the results: the winners of the budget's own method are marked selected
    (every other project not), ``results_published_at`` is set, and the followers of the
    process are told (``participation_results_published``). Refused while the vote is
    open (``vote_open``), when a heading is not counted or was counted before a ballot
    cast since (``results_missing``: count again), while a count runs (``count_running``),
    and when already published (``results_published``). Audited."""
    budget = _locked_budget(budget)
    _published_refuse(budget)
    if counting_now(budget):
        raise ParticipationError(
            _("The ballots are being counted: publish the results once the count is done."),
            code="count_running",
        )
    process = Process.objects.prefetch_related("phases").get(pk=budget.process_id)
    if vote_window(process).open:
        raise ParticipationError(
            _("The vote is still open: the results are published once it has closed."),
            code="vote_open",
        )
    key = method_key(budget)
    results = {r.heading_id: r for r in Result.objects.filter(heading__budget=budget, method=key)}
    ballots = {
        row["heading_id"]: row
        for row in Ballot.objects.filter(heading__budget=budget)
        .values("heading_id")
        .annotate(n=Count("id"), last=Max("cast_at"))
    }
    headings = list(budget.headings.all())
    for heading in headings:
        result = results.get(heading.pk)
        counted = ballots.get(heading.pk, {"n": 0, "last": None})
        if (
            result is None
            or result.ballots != counted["n"]
            or (counted["last"] is not None and counted["last"] > result.computed_at)
        ):
            raise ParticipationError(
                _("Count the ballots first: %(heading)s is not counted as it stands.")
                % {"heading": heading.tr("name")},
                code="results_missing",
            )
    winners: list[int] = []
    for heading in headings:
        numbers = results[heading.pk].winners
        winners += list(
            Project.objects.filter(heading=heading, number__in=numbers).values_list("pk", flat=True)
        )
    Project.objects.filter(heading__budget=budget).exclude(pk__in=winners).update(selected=False)
    Project.objects.filter(pk__in=winners).update(selected=True)
    budget.results_published_at = timezone.now()
    budget.save(update_fields=["results_published_at"])
    audit_record(
        action="participation.results.publish",
        actor=actor,
        obj=budget,
        changes={"method": key, "selected": len(winners)},
    )
    from ecitizen.participation.services.follows import followers_notify, organiser_text

    followers_notify(
        process=process,
        target_kind=Target.PROCESS,
        target_id=process.pk,
        event="participation_results_published",
        context={
            # In each follower's language when the organiser translated the title.
            "process": organiser_text(process, "title"),
            "url": reverse("participation:budget_results", kwargs={"slug": process.slug}),
        },
    )
    return budget


# --- Pabulib -----------------------------------------------------------------------------


@transaction.atomic
def budget_pabulib_write(*, slug: str, path: Path, heading: str | None = None) -> str:
    """Write the ballots of the budget of process ``slug`` to ``path`` as a Pabulib file
    (:func:`~ecitizen.participation.selectors.budgets.pabulib_text`: the whole budget as
    one instance, each voter's choices across the headings merged; with ``heading`` (its
    address name), that heading's alone) and say what was written. Refused for a process
    without a budget (``no_budget``) or an unknown heading (``unknown_heading``). Audited
    (the export, not its content)."""
    budget = (
        Budget.objects.filter(process__slug=slug)
        .select_related("process")
        .prefetch_related("process__phases", "headings")
        .first()
    )
    if budget is None:
        raise ParticipationError(
            _("There is no budget in the process “%(slug)s”.") % {"slug": slug}, code="no_budget"
        )
    place = None
    if heading is not None:
        place = next((h for h in budget.headings.all() if h.slug == heading), None)
        if place is None:
            raise ParticipationError(
                _("The budget has no heading “%(heading)s”.") % {"heading": heading},
                code="unknown_heading",
            )
    written = pabulib_text(budget=budget, heading=place)
    path.write_text(written.text, encoding="utf-8")
    audit_record(
        action="participation.budget.export",
        actor=None,
        obj=budget,
        changes={"heading": heading or "", "voters": written.voters},
    )
    what = f"heading {heading}" if heading else "the whole budget"
    return f"{what}: {written.projects} projects, {written.voters} voters written to {path}"
