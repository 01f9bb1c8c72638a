"""Reads about proposals: the public list (by ward and answer, by supports or newest), a
proposal's page and photo, how far it is from its official answer, and the officials'
queues (confined by the remit: a proposal belongs to its process's department, and to
its own ward when it has one, else to the process's wards).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.http import Http404

from ecitizen.accounts.selectors import remit_covers, remit_filter
from ecitizen.participation.models import Follow, Process, Proposal, Support, Target
from ecitizen.participation.selectors.processes import (
    process_for_staff,
    process_in_remit,
    processes_in_remit,
)

if TYPE_CHECKING:
    from ecitizen.documents.models import Upload

#: The public list's orders.
SORT_SUPPORTS = "supports"
SORT_NEWEST = "newest"
#: The public list's answer filter for proposals not answered yet.
WAITING = "waiting"


def proposals_public(
    process: Process, *, ward_id: int | None = None, answer: str = "", sort: str = SORT_SUPPORTS
) -> QuerySet[Proposal]:
    """The published proposals of ``process`` (hidden ones are not listed), in ward
    ``ward_id`` when given, with ``answer`` (one of :class:`Proposal.Answer`, or
    :data:`WAITING` for none yet) when given; the most supported first, or the newest."""
    found = Proposal.objects.filter(process=process, status=Proposal.Status.PUBLISHED)
    if ward_id is not None:
        found = found.filter(ward_id=ward_id)
    if answer == WAITING:
        found = found.filter(answer="")
    elif answer:
        found = found.filter(answer=answer)
    order = (
        ("-created_at", "-pk") if sort == SORT_NEWEST else ("-support_count", "-created_at", "-pk")
    )
    return found.select_related("ward").order_by(*order)


def proposal_public_or_404(*, process: Process, reference: str) -> Proposal:
    """Proposal ``reference`` of ``process`` (a public process: the caller's), published
    or hidden by a moderator (its page then says why); 404 otherwise."""
    proposal = (
        Proposal.objects.filter(process=process, reference=reference)
        .exclude(status=Proposal.Status.WITHDRAWN)
        .select_related("ward", "photo", "author", "author__profile")
        .first()
    )
    if proposal is None:
        raise Http404
    proposal.process = process  # the caller's, with its phases and rules prefetched
    return proposal


def proposal_photo_or_404(*, process: Process, reference: str) -> Upload:
    """The photo of a published proposal of a published or archived process (anyone may
    see it then); 404 for a hidden proposal's, or a proposal without one."""
    proposal = (
        Proposal.objects.filter(
            process=process, reference=reference, status=Proposal.Status.PUBLISHED
        )
        .select_related("photo")
        .first()
    )
    if proposal is None or proposal.photo is None:
        raise Http404
    return proposal.photo


@dataclass(frozen=True)
class ThresholdProgress:
    """How far a proposal is from its official answer."""

    threshold: int
    supports: int

    @property
    def reached(self) -> bool:
        return self.supports >= self.threshold

    @property
    def remaining(self) -> int:
        return max(0, self.threshold - self.supports)

    @property
    def percent(self) -> int:
        """0 to 100 (a proposal over the threshold is at 100)."""
        return min(100, self.supports * 100 // self.threshold)


def threshold_progress(proposal: Proposal, process: Process) -> ThresholdProgress | None:
    """``None`` when the process sets no threshold."""
    if not process.support_threshold:
        return None
    return ThresholdProgress(process.support_threshold, proposal.support_count)


def proposal_supported(proposal: Proposal, person_key: str | None) -> bool:
    """Whether the person of ``person_key`` supports ``proposal`` (``None``: nobody
    identified)."""
    if person_key is None:
        return False
    return Support.objects.filter(proposal=proposal, person_key=person_key).exists()


def proposal_followed(*, user: Any, proposal: Proposal) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return Follow.objects.filter(
        user=user, target_kind=Target.PROPOSAL, target_id=proposal.pk
    ).exists()


# --- officials ---------------------------------------------------------------------------


def _in_remit_q(user: Any, capability: str) -> Q:
    """Of the proposals of processes within the remit, those within it: every one
    without a ward (its process's remit is its own), those with a ward for an
    assignment of that ward or without a ward limit."""
    return Q(ward__isnull=True) | remit_filter(
        user, capability, department_field="process__department", ward_field="ward"
    )


def proposal_in_remit(user: Any, capability: str, proposal: Proposal) -> bool:
    """Whether ``proposal`` is within ``user``'s remit for ``capability``."""
    process = proposal.process
    if proposal.ward_id is None:
        return process_in_remit(user, capability, process)
    return remit_covers(
        user, capability, departments=process.department_id, ward_id=proposal.ward_id
    )


def process_for_answers(*, user: Any, slug: str, capability: str) -> Process:
    """A process (not a draft) within ``user``'s remit, else 404."""
    process = process_for_staff(user=user, slug=slug, capability=capability)
    if process.status == Process.Status.DRAFT:
        raise Http404
    return process


def proposal_for_staff_or_404(*, user: Any, capability: str, slug: str, reference: str) -> Proposal:
    """Proposal ``reference`` of process ``slug`` within ``user``'s remit for
    ``capability``, else 404 (the same answer as for one that does not exist)."""
    process = process_for_answers(user=user, slug=slug, capability=capability)
    proposal = (
        Proposal.objects.filter(process=process, reference=reference)
        .select_related("ward", "answered_by", "author", "author__profile")
        .first()
    )
    if proposal is None:
        raise Http404
    proposal.process = process
    if not proposal_in_remit(user, capability, proposal):
        raise Http404
    return proposal


def proposals_for_answer(*, user: Any, capability: str, process: Process) -> QuerySet[Proposal]:
    """The published proposals of ``process`` (within the remit) waiting for an official
    answer: those at or over the support threshold first (``due`` annotated 1), then by
    supports, then the oldest first."""
    threshold = process.support_threshold
    due = (
        Case(
            When(support_count__gte=threshold, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        if threshold
        else Value(0, output_field=IntegerField())
    )
    return (
        Proposal.objects.filter(process=process, status=Proposal.Status.PUBLISHED, answer="")
        .filter(_in_remit_q(user, capability))
        .annotate(due=due)
        .select_related("ward")
        .order_by("-due", "-support_count", "created_at", "pk")
    )


def proposals_answered(*, user: Any, capability: str, process: Process) -> QuerySet[Proposal]:
    """The answered proposals of ``process`` within the remit, the latest answer first."""
    return (
        Proposal.objects.filter(process=process)
        .exclude(answer="")
        .filter(_in_remit_q(user, capability))
        .select_related("ward", "answered_by")
        .order_by("-answered_at", "-pk")
    )


def proposals_for_moderation(*, user: Any, capability: str) -> QuerySet[Proposal]:
    """Proposals of the processes within ``user``'s remit that a moderator may review:
    every published or hidden one, the hidden first, then the newest."""
    processes = processes_in_remit(user, capability).values("pk")
    return (
        Proposal.objects.filter(process__in=processes)
        .exclude(status=Proposal.Status.WITHDRAWN)
        .filter(_in_remit_q(user, capability))
        .select_related("process", "ward")
        .annotate(
            hidden_first=Case(
                When(status=Proposal.Status.HIDDEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("hidden_first", "-created_at", "-pk")
    )


@dataclass(frozen=True)
class AnswerQueue:
    """A process with proposals waiting for an official answer: how many, and how many
    of them are at or over the support threshold (owed an answer)."""

    process: Process
    waiting: int
    due: int


def answer_queues(*, user: Any, capability: str) -> list[AnswerQueue]:
    """The processes (not drafts) within ``user``'s remit that have proposals waiting for
    an answer, those owing the most answers first."""
    queues = []
    processes = processes_in_remit(user, capability).exclude(status=Process.Status.DRAFT)
    for process in processes:
        waiting = proposals_for_answer(user=user, capability=capability, process=process)
        # Named apart from the queryset's own ``due`` annotation: PostgreSQL refuses an
        # aggregate that shadows it ("column due does not exist").
        counts = waiting.aggregate(waiting_total=Count("pk"), due_total=Sum("due"))
        if counts["waiting_total"]:
            queues.append(AnswerQueue(process, counts["waiting_total"], counts["due_total"] or 0))
    return sorted(queues, key=lambda queue: (-queue.due, -queue.waiting, queue.process.slug))
