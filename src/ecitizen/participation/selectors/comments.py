"""Reads about comments: what a comment is about (a consultation, a proposal or a
project of a public process), the threads a page shows with the form to join them, the
name a resident is shown by, and the moderators' queue (confined by the remit: a
comment belongs to its process's department and wards).

**Names.** A comment is public, and residents did not choose to publish their full legal
name: a comment is signed with the first word of the name they go by and the initial of
their last ("Alex M."), as consultation platforms do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from ecitizen.participation.models import (
    Action,
    Comment,
    CommentFlag,
    Consultation,
    Process,
    Project,
    Proposal,
    Target,
)
from ecitizen.participation.selectors.processes import process_in_remit, processes_in_remit

#: What comments can be about (a process itself has none: its consultations, proposals
#: and projects do).
COMMENTABLE = (Target.CONSULTATION, Target.PROPOSAL, Target.PROJECT)


@dataclass(frozen=True)
class CommentTarget:
    """The object comments are about and its process (published, or archived: then the
    comments are read, not added to)."""

    kind: str
    obj: Consultation | Proposal | Project
    process: Process

    @property
    def target_id(self) -> int:
        return int(self.obj.pk)

    @property
    def hidden(self) -> bool:
        """A proposal a moderator hid: its text is served nowhere, its title included."""
        return isinstance(self.obj, Proposal) and self.obj.status == Proposal.Status.HIDDEN

    @property
    def title(self) -> str:
        """The object's title; a hidden proposal is named by its reference only."""
        if self.hidden and isinstance(self.obj, Proposal):
            return _("Proposal %(reference)s") % {"reference": self.obj.reference}
        return str(self.obj.tr("title"))

    @property
    def url(self) -> str:
        """The public page of the object (where its comments are shown)."""
        slug = self.process.slug
        if isinstance(self.obj, Consultation):
            return reverse("participation:consultation", args=[slug, self.obj.slug])
        if isinstance(self.obj, Proposal):
            return reverse("participation:proposal", args=[slug, self.obj.reference])
        return reverse("participation:project", args=[slug, self.obj.number])

    @property
    def open(self) -> bool:
        """Whether comments may be added: the process is published (not archived) and a
        proposal is not hidden."""
        if self.process.status != Process.Status.PUBLISHED:
            return False
        return not (isinstance(self.obj, Proposal) and self.obj.status != Proposal.Status.PUBLISHED)


def comment_target(kind: str, target_id: int) -> CommentTarget | None:
    """The consultation, proposal or project ``target_id`` of a process the public can
    see, or ``None``: an unknown kind or object, a draft process, a draft consultation,
    a withdrawn proposal. A hidden proposal is a target (its page says why it is
    hidden) that takes no new comments (:attr:`CommentTarget.open`)."""
    public_process = ~Q(process__status=Process.Status.DRAFT)
    obj: Consultation | Proposal | Project | None
    if kind == Target.CONSULTATION:
        obj = (
            Consultation.objects.filter(public_process, pk=target_id)
            .exclude(status=Consultation.Status.DRAFT)
            .select_related("process")
            .first()
        )
        process = obj.process if obj is not None else None
    elif kind == Target.PROPOSAL:
        obj = (
            Proposal.objects.filter(public_process, pk=target_id)
            .exclude(status=Proposal.Status.WITHDRAWN)
            .select_related("process")
            .first()
        )
        process = obj.process if obj is not None else None
    elif kind == Target.PROJECT:
        obj = (
            Project.objects.filter(pk=target_id)
            .exclude(heading__budget__process__status=Process.Status.DRAFT)
            .select_related("heading__budget__process")
            .first()
        )
        process = obj.heading.budget.process if obj is not None else None
    else:
        return None
    if obj is None or process is None:
        return None
    return CommentTarget(kind=str(kind), obj=obj, process=process)


def comment_target_or_404(kind: str, target_id: int) -> CommentTarget:
    target = comment_target(kind, target_id)
    if target is None:
        raise Http404
    return target


def comment_public_or_404(comment_id: int) -> tuple[Comment, CommentTarget]:
    """A comment on something the public can see, with what it is about; 404 otherwise
    (also for a comment on a hidden proposal: its page shows no comments)."""
    comment = _with_authors(Comment.objects.filter(pk=comment_id)).first()
    target = comment_target(comment.target_kind, comment.target_id) if comment else None
    if comment is None or target is None or target.hidden:
        raise Http404
    return comment, target


def reply_parent(target: CommentTarget, comment_id: int | None) -> Comment | None:
    """The comment of ``target`` a reply answers: the top-level comment of its thread
    (one level of replies); ``None`` for no id, or an id of no comment of ``target``."""
    if not comment_id:
        return None
    comment = (
        _with_authors(
            Comment.objects.filter(
                pk=comment_id, target_kind=target.kind, target_id=target.target_id
            )
        )
        .select_related("parent", "parent__author", "parent__author__profile")
        .first()
    )
    if comment is None:
        return None
    return comment.parent if comment.parent_id is not None else comment


def public_name(user: Any) -> str:
    """How a resident is named on public pages: "Alex M." (the first word of the name
    they go by and the initial of the last); "A former resident" once the account is
    gone."""
    if user is None:
        return _("A former resident")
    profile = getattr(user, "profile", None)
    name = getattr(profile, "display_name", "") or str(user.full_name or "")
    words = name.split()
    if not words:
        return _("A resident")
    if len(words) == 1:
        return words[0]
    return f"{words[0]} {words[-1][0]}."


def _with_authors(queryset: QuerySet[Comment]) -> QuerySet[Comment]:
    return queryset.select_related("author", "author__profile")


@dataclass
class CommentRow:
    """A comment as a page shows it: the author's public name, whether the reader wrote
    it or flagged it, and its replies (top-level comments only)."""

    comment: Comment
    author_name: str
    mine: bool
    flagged: bool
    by_target_author: bool
    replies: list[CommentRow] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return self.comment.status == Comment.Status.HIDDEN


def comment_threads(
    *, target_kind: str, target_id: int, user: Any, target_author_id: int | None = None
) -> list[CommentRow]:
    """The comments on a target, oldest first, each with its replies (oldest first);
    hidden ones are kept in their place (their page shows the moderator's reason
    instead of the text). Four queries whatever the number of comments."""
    replies = _with_authors(Comment.objects.order_by("created_at", "id"))
    top = list(
        _with_authors(
            Comment.objects.filter(
                target_kind=target_kind, target_id=target_id, parent__isnull=True
            )
        )
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("replies", queryset=replies))
    )
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    flagged: set[int] = set()
    if user_id is not None:
        flagged = set(
            CommentFlag.objects.filter(
                flagged_by_id=user_id,
                comment__target_kind=target_kind,
                comment__target_id=target_id,
            ).values_list("comment_id", flat=True)
        )

    def row(comment: Comment) -> CommentRow:
        return CommentRow(
            comment=comment,
            author_name=public_name(comment.author),
            mine=user_id is not None and comment.author_id == user_id,
            flagged=comment.pk in flagged,
            by_target_author=target_author_id is not None and comment.author_id == target_author_id,
        )

    rows = []
    for comment in top:
        thread = row(comment)
        thread.replies = [row(reply) for reply in comment.replies.all()]
        rows.append(thread)
    return rows


def comments_context(
    request: HttpRequest, process: Process, target_kind: str, target_id: int
) -> dict[str, Any]:
    """What ``participation/_comments.html`` needs on the page of a consultation,
    proposal or project of ``process``: the threads, their count, whether the reader may
    comment (and if not, why), and the form's address. The page puts it in its context
    as ``comments``.

    Raises ``ValueError`` for a kind that takes no comments (a programming error)."""
    from ecitizen.participation.forms_proposals import CommentForm
    from ecitizen.participation.views.common import participant

    if target_kind not in COMMENTABLE:
        raise ValueError(f"{target_kind!r} takes no comments")
    target = comment_target(target_kind, target_id)
    target_author_id = (
        target.obj.author_id if target is not None and isinstance(target.obj, Proposal) else None
    )
    threads = comment_threads(
        target_kind=target_kind,
        target_id=target_id,
        user=request.user,
        target_author_id=target_author_id,
    )
    count = sum(1 + len(thread.replies) for thread in threads)
    who = participant(request, process, Action.COMMENT)
    signed_in = bool(request.user.is_authenticated)
    return {
        "target_kind": target_kind,
        "target_id": target_id,
        "process": process,
        "threads": threads,
        "count": count,
        "open": target is not None and target.open,
        "signed_in": signed_in,
        "allowed": signed_in and who.eligibility.allowed,
        "reasons": [] if not signed_in else who.eligibility.reasons,
        "needs_census_code": who.eligibility.needs_census_code,
        "post_url": reverse("participation:comment_new", args=[target_kind, target_id]),
        "form": CommentForm(),
    }


def comment_for_moderation(*, user: Any, capability: str, comment_id: int) -> Comment:
    """A comment of a process within ``user``'s remit for ``capability``, else 404 (the
    same answer as for a comment that does not exist)."""
    comment = (
        _with_authors(Comment.objects.filter(pk=comment_id))
        .select_related("process", "process__department", "hidden_by")
        .prefetch_related("process__wards")
        .first()
    )
    if comment is None or not process_in_remit(user, capability, comment.process):
        raise Http404
    return comment


def comments_flagged(*, user: Any, capability: str) -> QuerySet[Comment]:
    """Comments with flags no moderator has dealt with yet, in processes within
    ``user``'s remit: the most flagged first, then the oldest flag first.
    ``open_flags`` is annotated."""
    processes = processes_in_remit(user, capability).values("pk")
    return (
        _with_authors(Comment.objects.filter(process__in=processes))
        .annotate(open_flags=Count("flags", filter=Q(flags__resolved_at__isnull=True)))
        .filter(open_flags__gt=0, status=Comment.Status.VISIBLE)
        .select_related("process")
        .order_by("-open_flags", "created_at", "id")
    )


def comments_hidden(*, user: Any, capability: str) -> QuerySet[Comment]:
    """Hidden comments in processes within ``user``'s remit, the latest hidden first."""
    processes = processes_in_remit(user, capability).values("pk")
    return (
        _with_authors(Comment.objects.filter(process__in=processes, status=Comment.Status.HIDDEN))
        .select_related("process", "hidden_by")
        .order_by("-hidden_at", "-id")
    )


def flag_reasons_count(comment: Comment) -> list[tuple[str, int]]:
    """How many open flags of each reason a comment has, the most frequent first: (the
    reason in words, how many)."""
    rows = (
        comment.flags.filter(resolved_at__isnull=True)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )
    return [(str(CommentFlag.Reason(reason).label), int(n)) for reason, n in rows]
