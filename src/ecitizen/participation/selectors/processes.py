"""Reads about processes: the public list and page, what can be done in a process now, the
organiser's processes (confined by the remit), census lists' counts, who an invitation
reaches, and an official's own paper entries.

**Remit.** A process belongs to its department; its wards are its place. An official's
assignment holding the capability covers a process of its department when the
assignment has no ward limit, or when its ward is one of the process's wards (a process
of the whole authority has no ward, so only assignments without a limit cover it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from ecitizen.accounts.models import Department, Jurisdiction, User
from ecitizen.accounts.selectors import remit_assignments, remit_covers
from ecitizen.core.registry import registry
from ecitizen.participation.models import (
    Action,
    Ballot,
    Budget,
    CensusEntry,
    Channel,
    Consultation,
    Follow,
    Heading,
    Invitation,
    NewsSubscription,
    Phase,
    Process,
    Project,
    Proposal,
    Response,
    Support,
    Target,
)
from ecitizen.participation.services.common import (
    current_phases,
    eligibility_check,
    phase_open,
    rule_for,
    today,
)

#: The least time between two invitations to the same process.
INVITATION_INTERVAL = timedelta(hours=24)
#: Wrong codes after which a census entry's code stops working.
CENSUS_MAX_ATTEMPTS = 5

#: The phases in which proposals can be supported (the proposals' own phase and the debate).
SUPPORT_PHASES = (Phase.Kind.PROPOSALS, Phase.Kind.DEBATE)


# --- the public's processes ---------------------------------------------------------------


def processes_published() -> QuerySet[Process]:
    """The published processes, newest first, with what their list needs read at once."""
    return (
        Process.objects.filter(status=Process.Status.PUBLISHED)
        .select_related("department")
        .prefetch_related("phases", "wards", "rules", "consultations")
    )


def consultations_open(process: Process, *, now: datetime | None = None) -> list[Consultation]:
    """The process's consultations and surveys open for responses now (reads the
    prefetched ``consultations`` when there)."""
    moment = now or timezone.now()
    return [
        consultation
        for consultation in process.consultations.all()
        if consultation.status == Consultation.Status.OPEN
        and consultation.opens_at <= moment < consultation.closes_at
    ]


def open_actions(
    process: Process, *, now: datetime | None = None, on: date | None = None
) -> list[str]:
    """What can be done in ``process`` now, in :class:`Action` order: respond while a
    consultation is open, propose in a proposals phase, support in a proposals or debate
    phase, vote in a vote phase, and comment while any of these is possible. A process
    that is not published offers nothing."""
    if process.status != Process.Status.PUBLISHED:
        return []
    kinds = {phase.kind for phase in current_phases(process, on=on)}
    actions: list[str] = []
    if consultations_open(process, now=now):
        actions.append(Action.RESPOND)
    if Phase.Kind.PROPOSALS in kinds:
        actions.append(Action.PROPOSE)
    if kinds & set(SUPPORT_PHASES):
        actions.append(Action.SUPPORT)
    if Phase.Kind.VOTE in kinds:
        actions.append(Action.VOTE)
    if actions or Phase.Kind.DEBATE in kinds:
        actions.append(Action.COMMENT)
    return [action for action in Action.values if action in actions]


@dataclass(frozen=True)
class TimelinePhase:
    """A phase on the process page's timeline: ``state`` is ``past``, ``current`` or
    ``future``; ``title`` and ``description`` in the reader's language."""

    phase: Phase
    state: str
    title: str
    description: str


def phases_timeline(process: Process, *, on: date | None = None) -> list[TimelinePhase]:
    """The process's phases in date order, each marked past, current or future."""
    day = on or today()
    rows = []
    for phase in process.phases.all():
        if phase.ends_on < day:
            state = "past"
        elif phase.starts_on > day:
            state = "future"
        else:
            state = "current"
        rows.append(TimelinePhase(phase, state, str(phase), phase.tr("description")))
    return rows


@dataclass(frozen=True)
class ProcessContents:
    """What a process page links to: its consultations (not drafts), whether it has
    proposals, and whether it has a budget."""

    consultations: list[Consultation]
    has_proposals: bool
    has_budget: bool


def process_contents(process: Process) -> ProcessContents:
    """The objects of ``process`` that its public page links to."""
    consultations = [
        consultation
        for consultation in process.consultations.all()
        if consultation.status != Consultation.Status.DRAFT
    ]
    has_proposals = (
        any(phase.kind == Phase.Kind.PROPOSALS for phase in process.phases.all())
        or process.proposals.filter(status=Proposal.Status.PUBLISHED).exists()
    )
    has_budget = Budget.objects.filter(process=process).exists()
    return ProcessContents(consultations, has_proposals, has_budget)


def process_followed(*, user: Any, process: Process) -> bool:
    """Whether ``user`` (possibly anonymous) follows ``process``."""
    if not getattr(user, "is_authenticated", False):
        return False
    return Follow.objects.filter(
        user=user, target_kind=Target.PROCESS, target_id=process.pk
    ).exists()


def processes_followed(*, user: Any) -> QuerySet[Process]:
    """The published (or archived) processes ``user`` follows."""
    ids = Follow.objects.filter(user=user, target_kind=Target.PROCESS).values("target_id")
    return (
        Process.objects.filter(pk__in=ids)
        .exclude(status=Process.Status.DRAFT)
        .select_related("department")
        .prefetch_related("phases", "wards", "rules", "consultations")
    )


def news_subscribed(*, user: Any) -> bool:
    """Whether ``user`` opted in to participation news."""
    return NewsSubscription.objects.filter(user=user).exists()


def process_document_public_or_404(*, process: Process, document_id: int) -> Any:
    """A document of a published process (the file is served to anyone then); 404 for a
    draft's or archived process's, or for another process's document."""
    if process.status != Process.Status.PUBLISHED:
        raise Http404
    document = process.documents.select_related("upload").filter(pk=document_id).first()
    if document is None:
        raise Http404
    return document


# --- the organiser's processes (remit) ---------------------------------------------------


def process_in_remit(user: Any, capability: str, process: Process) -> bool:
    """Whether one of ``user``'s assignments holding ``capability`` covers ``process``:
    its department, and one of its wards (or no ward limit). Reads the process's wards
    (prefetched when there)."""
    return process_place_in_remit(
        user,
        capability,
        department_id=process.department_id,
        ward_ids=[ward.pk for ward in process.wards.all()],
    )


def process_place_in_remit(
    user: Any, capability: str, *, department_id: int, ward_ids: list[int]
) -> bool:
    """Whether a process of ``department_id`` about ``ward_ids`` (none: the whole
    authority) would be in ``user``'s remit for ``capability`` (before it exists)."""
    if not ward_ids:
        return remit_covers(user, capability, departments=department_id, ward_id=None)
    return any(
        remit_covers(user, capability, departments=department_id, ward_id=ward_id)
        for ward_id in ward_ids
    )


def _remit_q(user: Any, capability: str) -> Q:
    """A filter of the processes in ``user``'s remit for ``capability`` (one part per
    assignment; a ward-limited one covers the processes having its ward among theirs)."""
    authority_wide = registry.authority_wide_roles()
    condition = Q(pk__in=[])
    for assignment in remit_assignments(user, capability):
        if assignment.role in authority_wide:
            part = Q()
        elif assignment.department_id is None:
            continue
        else:
            part = Q(department_id=assignment.department_id)
        if assignment.jurisdiction_id is not None:
            part &= Q(wards=assignment.jurisdiction_id)
        elif not part:  # covers everything: Q() | x would drop it
            return Q()
        condition |= part
    return condition


def remit_departments(user: Any, capability: str) -> QuerySet[Department]:
    """The departments in which ``user`` holds ``capability`` (every one for an
    authority-wide role), by name."""
    assignments = remit_assignments(user, capability)
    authority_wide = registry.authority_wide_roles()
    if any(assignment.role in authority_wide for assignment in assignments):
        return Department.objects.order_by("name", "pk")
    ids = {assignment.department_id for assignment in assignments if assignment.department_id}
    return Department.objects.filter(pk__in=ids).order_by("name", "pk")


def wards_all() -> QuerySet[Jurisdiction]:
    """Every ward or district, by name."""
    return Jurisdiction.objects.order_by("name", "pk")


def processes_in_remit(user: Any, capability: str) -> QuerySet[Process]:
    """The processes (of every status) within ``user``'s remit for ``capability``."""
    ids = Process.objects.filter(_remit_q(user, capability)).values("pk")
    return (
        Process.objects.filter(pk__in=ids)
        .select_related("department")
        .prefetch_related("phases", "wards")
    )


def process_for_staff(*, user: Any, slug: str, capability: str) -> Process:
    """The process ``slug`` when it is within ``user``'s remit for ``capability``, else
    ``Http404`` (the same as a process that does not exist)."""
    process = (
        Process.objects.filter(slug=slug)
        .select_related("department")
        .prefetch_related("phases", "wards", "rules", "documents")
        .first()
    )
    if process is None or not process_in_remit(user, capability, process):
        raise Http404
    return process


@dataclass(frozen=True)
class CensusCounts:
    total: int
    claimed: int
    locked: int


def census_counts(process: Process) -> CensusCounts:
    """How many people are on the census list, how many used their code, and how many
    codes stopped working after too many wrong tries."""
    counts = CensusEntry.objects.filter(process=process).aggregate(
        total=Count("pk"),
        claimed=Count("pk", filter=Q(claimed_at__isnull=False)),
        locked=Count(
            "pk", filter=Q(claimed_at__isnull=True, failed_attempts__gte=CENSUS_MAX_ATTEMPTS)
        ),
    )
    return CensusCounts(counts["total"], counts["claimed"], counts["locked"])


def invitation_recipients(process: Process) -> QuerySet[User]:
    """Who an invitation to ``process`` reaches: the active residents who opted in to
    participation news and whose profile's ward is one of the process's wards. For a
    process of the whole authority (no wards), every opted-in resident: the news they
    chose is the authority's, and such a process concerns every one of them. Nobody else,
    ever."""
    subscribers = NewsSubscription.objects.values("user_id")
    recipients = User.objects.filter(pk__in=subscribers, is_active=True)
    ward_ids = [ward.pk for ward in process.wards.all()]
    if ward_ids:
        recipients = recipients.filter(profile__ward_id__in=ward_ids)
    return recipients.order_by("pk")


def invitation_last(process: Process) -> Invitation | None:
    """The process's latest invitation, if any."""
    return process.invitations.order_by("-sent_at", "-pk").first()


def invitation_next_allowed(process: Process, *, now: datetime | None = None) -> datetime | None:
    """When ``process``'s residents may be invited again (``None``: now)."""
    last = invitation_last(process)
    moment = now or timezone.now()
    if last is None or last.sent_at + INVITATION_INTERVAL <= moment:
        return None
    return last.sent_at + INVITATION_INTERVAL


@dataclass(frozen=True)
class ParticipationCounts:
    """A process's participation in aggregate (never who): responses, supports and
    ballots, how many came on paper, and how many people took part both online and on
    paper (a later entry replaced an earlier one of the other kind)."""

    responses: int
    supports: int
    ballots: int
    paper: int
    doubles: int


def participation_counts(process: Process) -> ParticipationCounts:
    """Aggregates of ``process``'s responses, supports and ballots."""
    paper = Q(channel=Channel.PAPER)
    double = ~Q(replaced_channel="") & ~Q(replaced_channel=F("channel"))
    responses = Response.objects.filter(consultation__process=process).aggregate(
        total=Count("pk"), paper=Count("pk", filter=paper), doubles=Count("pk", filter=double)
    )
    ballots = Ballot.objects.filter(heading__budget__process=process).aggregate(
        total=Count("pk"), paper=Count("pk", filter=paper), doubles=Count("pk", filter=double)
    )
    supports = Support.objects.filter(proposal__process=process).aggregate(
        total=Count("pk"), paper=Count("pk", filter=paper)
    )
    return ParticipationCounts(
        responses=responses["total"],
        supports=supports["total"],
        ballots=ballots["total"],
        paper=responses["paper"] + ballots["paper"] + supports["paper"],
        doubles=responses["doubles"] + ballots["doubles"],
    )


# --- paper entries -------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperChoices:
    """What an official can enter on paper in a process now: responses to the open
    consultations, supports of its published proposals (while supports are open), and
    ballots in its budget's headings (while the vote is open)."""

    consultations: list[Consultation]
    supports_open: bool
    headings: list[Heading]


def paper_choices(process: Process) -> PaperChoices:
    """What can be entered on paper in ``process`` now."""
    supports_open = any(phase_open(process, kind) for kind in SUPPORT_PHASES)
    headings = (
        list(Heading.objects.filter(budget__process=process).order_by("slug"))
        if phase_open(process, Phase.Kind.VOTE)
        else []
    )
    return PaperChoices(consultations_open(process), supports_open, headings)


def paper_consultation_or_404(process: Process, slug: str) -> Consultation:
    """An open consultation of ``process`` to enter a paper response to."""
    for consultation in consultations_open(process):
        if consultation.slug == slug:
            return consultation
    raise Http404


def proposal_by_reference(process: Process, reference: str) -> Proposal | None:
    """The published proposal of ``process`` with ``reference`` (any case), if any."""
    return (
        process.proposals.filter(
            reference__iexact=reference.strip(), status=Proposal.Status.PUBLISHED
        )
        .select_related("process")
        .first()
    )


@dataclass(frozen=True)
class PaperEntry:
    """One paper entry an official made: what kind, in which process, about what, when,
    and (ballots) which projects."""

    kind: str
    process: Process
    subject: str
    at: datetime
    details: list[str]


def paper_entries_by(*, user: Any, limit: int = 200) -> list[PaperEntry]:
    """The paper entries ``user`` made (responses, supports, ballots still on paper),
    newest first; nobody else's, ever: officials see no individual entry but their own."""
    mine = Q(entered_by=user, channel=Channel.PAPER)
    entries: list[PaperEntry] = []
    for response in Response.objects.filter(mine).select_related(
        "consultation", "consultation__process"
    )[:limit]:
        entries.append(
            PaperEntry(
                "response",
                response.consultation.process,
                response.consultation.tr("title"),
                response.submitted_at,
                [],
            )
        )
    for support in Support.objects.filter(mine).select_related("proposal", "proposal__process")[
        :limit
    ]:
        entries.append(
            PaperEntry(
                "support",
                support.proposal.process,
                f"{support.proposal.tr('title')} ({support.proposal.reference})",
                support.created_at,
                [],
            )
        )
    ballots = list(
        Ballot.objects.filter(mine).select_related("heading", "heading__budget__process")[:limit]
    )
    titles = {
        project.pk: project.tr("title")
        for project in Project.objects.filter(heading__in={ballot.heading_id for ballot in ballots})
    }
    for ballot in ballots:
        entries.append(
            PaperEntry(
                "ballot",
                ballot.heading.budget.process,
                ballot.heading.tr("name"),
                ballot.cast_at,
                [titles.get(pk, "") for pk in ballot.choices if pk in titles],
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def people_eligible(process: Process, action: str) -> list[User]:
    """Every account that may do ``action`` in ``process`` today by its rule: for a
    census-only rule, the people who claimed an entry of its census list; otherwise every
    active account that passes :func:`eligibility_check` (a verified email, a ward, an
    age, as the rule says). Reads every account: for lists made once (a voter list), not
    for pages."""
    process = Process.objects.prefetch_related("rules", "wards").get(pk=process.pk)
    rule = rule_for(process, action)
    if rule is not None and rule.census_only:
        claimed = CensusEntry.objects.filter(process=process, claimed_by__isnull=False)
        return list(
            User.objects.filter(pk__in=claimed.values("claimed_by"), is_active=True).order_by("pk")
        )
    people = User.objects.filter(is_active=True).select_related("profile").order_by("pk")
    return [
        person
        for person in people.iterator(chunk_size=500)
        if eligibility_check(process=process, action=action, user=person).allowed
    ]
