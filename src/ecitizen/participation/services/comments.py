"""Writes about comments: residents comment on consultations, proposals and projects and
reply to comments (one level: a reply to a reply joins the thread of the comment it
answers), flag comments that break the code of conduct (once each, never their own), and
moderators hide comments with a reason shown in their place, show them again, or keep
them and close their flags.

A comment is public as soon as it is posted, so its text is screened for personal data
first (:mod:`ecitizen.participation.screening`) and refused, saying what was found,
rather than published. Moderation is done within the moderator's remit (the process's
department and wards), checked here again whatever the page did. Every write is audited.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.core.services import audit_record
from ecitizen.core.text import clean_free_text
from ecitizen.participation.models import Comment, CommentFlag
from ecitizen.participation.screening import personal_data_find, personal_data_message
from ecitizen.participation.selectors.comments import COMMENTABLE, comment_target
from ecitizen.participation.selectors.processes import process_in_remit
from ecitizen.participation.services.common import PARTICIPATION_MODERATE, ParticipationError

COMMENT_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 500


@transaction.atomic
def comment_post(
    *,
    target_kind: str,
    target_id: int,
    body: str,
    parent: Comment | None = None,
    author: User,
    actor: User,
) -> Comment:
    """Publish ``author``'s comment on a consultation, proposal or project, or their
    reply to ``parent`` (a reply to a reply is attached to the top-level comment).

    Precondition: the caller checked that the author may comment in the process
    (eligibility). Raises :class:`ParticipationError`: ``unknown_target`` (nothing
    public of that kind and id), ``comments_closed`` (an archived process, a hidden
    proposal), ``comment_missing``, ``comment_too_long``, ``personal_data`` (the message
    says what was found), ``parent_invalid`` (a comment on something else),
    ``parent_hidden``.

    Side effects: the comment, an audit event (never its text)."""
    target = comment_target(target_kind, target_id) if target_kind in COMMENTABLE else None
    if target is None:
        raise ParticipationError(_("There is nothing to comment on here."), code="unknown_target")
    if not target.open:
        raise ParticipationError(_("Comments are closed here."), code="comments_closed")
    text = clean_free_text(body or "").strip()
    if not text:
        raise ParticipationError(_("Enter your comment"), code="comment_missing")
    if len(text) > COMMENT_MAX_LENGTH:
        raise ParticipationError(
            _("Your comment must be %(limit)s characters or fewer") % {"limit": COMMENT_MAX_LENGTH},
            code="comment_too_long",
        )
    findings = personal_data_find(text)
    if findings:
        raise ParticipationError(personal_data_message(findings), code="personal_data")
    if parent is not None:
        if parent.parent_id is not None:
            parent = Comment.objects.get(pk=parent.parent_id)
        if parent.target_kind != target.kind or parent.target_id != target.target_id:
            raise ParticipationError(
                _("The comment you are replying to is not on this page."), code="parent_invalid"
            )
        if parent.status == Comment.Status.HIDDEN:
            raise ParticipationError(
                _("You cannot reply to a comment a moderator has hidden."), code="parent_hidden"
            )
    comment = Comment.objects.create(
        target_kind=target.kind,
        target_id=target.target_id,
        process=target.process,
        parent=parent,
        author=author,
        body=text,
    )
    audit_record(
        action="participation.comment.post",
        actor=actor,
        obj=comment,
        subject_user_id=author.pk,
        changes={
            "target_kind": target.kind,
            "target_id": target.target_id,
            "reply_to": parent.pk if parent is not None else None,
        },
    )
    return comment


@transaction.atomic
def comment_flag(*, comment: Comment, reason: str, user: User) -> CommentFlag:
    """``user`` reports that ``comment`` breaks the code of conduct, for ``reason`` (one
    of :class:`CommentFlag.Reason`).

    Raises :class:`ParticipationError`: ``reason_invalid``, ``own_comment`` (nobody flags
    their own), ``comment_hidden`` (a moderator has dealt with it), ``already_flagged``
    (one flag per person). Side effects: the flag, ``flag_count`` one higher (the
    comment's row locked), an audit event with the reason."""
    if reason not in CommentFlag.Reason.values:
        raise ParticipationError(
            _("Select why the comment should be removed"), code="reason_invalid"
        )
    locked = Comment.objects.select_for_update().get(pk=comment.pk)
    if locked.author_id == user.pk:
        raise ParticipationError(_("You cannot report your own comment."), code="own_comment")
    if locked.status == Comment.Status.HIDDEN:
        raise ParticipationError(
            _("A moderator has already hidden this comment."), code="comment_hidden"
        )
    already = ParticipationError(
        _("You have already reported this comment. A moderator will look at it."),
        code="already_flagged",
    )
    if CommentFlag.objects.filter(comment=locked, flagged_by=user).exists():
        raise already
    try:
        with transaction.atomic():
            flag = CommentFlag.objects.create(comment=locked, flagged_by=user, reason=reason)
    except IntegrityError:
        raise already from None
    Comment.objects.filter(pk=locked.pk).update(flag_count=F("flag_count") + 1)
    audit_record(
        action="participation.comment.flag",
        actor=user,
        obj=locked,
        changes={"reason": reason},
    )
    return flag


def _moderated(comment: Comment, actor: User) -> Comment:
    """The comment's row, locked, when ``actor`` may moderate it."""
    locked = (
        Comment.objects.select_for_update(of=("self",)).select_related("process").get(pk=comment.pk)
    )
    if not process_in_remit(actor, PARTICIPATION_MODERATE, locked.process):
        raise ParticipationError(_("This comment is not within your remit."), code="outside_remit")
    return locked


def _flags_resolve(comment: Comment) -> int:
    return CommentFlag.objects.filter(comment=comment, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )


@transaction.atomic
def comment_hide(*, comment: Comment, reason: str, actor: User) -> Comment:
    """Hide ``comment``: its page shows "This comment was hidden by a moderator" and
    ``reason`` in its place. Its open flags are resolved.

    Raises :class:`ParticipationError` ``reason_missing``, ``reason_too_long``,
    ``already_hidden``, ``outside_remit``. Side effects: the status, reason, time and
    moderator, the flags resolved, an audit event with the reason."""
    locked = _moderated(comment, actor)
    reason = clean_free_text(reason or "").strip()
    if not reason:
        raise ParticipationError(
            _("Enter why the comment is hidden: it is shown in its place"), code="reason_missing"
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ParticipationError(
            _("The reason must be %(limit)s characters or fewer") % {"limit": REASON_MAX_LENGTH},
            code="reason_too_long",
        )
    if locked.status == Comment.Status.HIDDEN:
        raise ParticipationError(_("This comment is hidden already."), code="already_hidden")
    locked.status = Comment.Status.HIDDEN
    locked.hidden_reason = reason
    locked.hidden_at = timezone.now()
    locked.hidden_by = actor
    locked.save(update_fields=["status", "hidden_reason", "hidden_at", "hidden_by"])
    resolved = _flags_resolve(locked)
    audit_record(
        action="participation.comment.hide",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_MODERATE),
        obj=locked,
        changes={"reason": reason, "flags_resolved": resolved},
    )
    return locked


@transaction.atomic
def comment_unhide(*, comment: Comment, actor: User) -> Comment:
    """Show a hidden comment again (the moderator's decision reversed).

    Raises :class:`ParticipationError` ``not_hidden``, ``outside_remit``. Side effects:
    the status (the reason and moderator cleared), an audit event with the reason it had
    been hidden for."""
    locked = _moderated(comment, actor)
    if locked.status != Comment.Status.HIDDEN:
        raise ParticipationError(_("This comment is not hidden."), code="not_hidden")
    reason = locked.hidden_reason
    locked.status = Comment.Status.VISIBLE
    locked.hidden_reason = ""
    locked.hidden_at = None
    locked.hidden_by = None
    locked.save(update_fields=["status", "hidden_reason", "hidden_at", "hidden_by"])
    audit_record(
        action="participation.comment.unhide",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_MODERATE),
        obj=locked,
        changes={"hidden_for": reason},
    )
    return locked


@transaction.atomic
def comment_flags_dismiss(*, comment: Comment, actor: User) -> int:
    """Keep a flagged comment: a moderator found it within the code of conduct; its open
    flags are resolved (it leaves the queue until flagged again). Returns how many.

    Raises :class:`ParticipationError` ``outside_remit``. Side effects: the flags'
    ``resolved_at``, an audit event with how many."""
    locked = _moderated(comment, actor)
    resolved = _flags_resolve(locked)
    audit_record(
        action="participation.comment.flags_dismiss",
        actor=actor,
        actor_role=user_acting_as(actor, PARTICIPATION_MODERATE),
        obj=locked,
        changes={"flags_resolved": resolved},
    )
    return resolved
